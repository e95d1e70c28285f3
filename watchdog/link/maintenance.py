"""What a link's timeline records around maintenance windows. Pure: no I/O, no clock.

The tracker (``link.tracker``) follows the link's real state whatever the windows say, so its
hysteresis and back-dating stay honest across the works; ``overlay`` decides what of it is
recorded, cycle by cycle:

- A window holds at the cycle's time: the timeline enters ``maintenance`` at the window's
  start, or, when the window was learnt late (added while it had begun, or the daemon came
  back during it), at the end of what was already recorded: a window never rewrites recorded
  time. The tracker's transitions dated before that moment are recorded first.
- While the window holds, the tracker's transitions and blips are not recorded: the link is
  still probed and its samples kept, but nothing in the works is a state change, an outage or
  a blip (and so no ticket, no reminder: see ``incidents.service``).
- A cycle finds the window over (or removed): the timeline leaves ``maintenance`` at the
  window's end (at the cycle, for a removed one) for the state the tracker held then: a line
  still down at the end of the works is down from there, not earlier. The tracker's
  transitions dated after the end follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from watchdog.link.maintenance_windows import MaintenanceSpan
from watchdog.link.states import Blip, Transition
from watchdog.link.tracker import TrackerState


@dataclass(frozen=True, slots=True)
class Works:
    """The timeline shows ``maintenance`` since ``since``, for a window that holds until
    ``until`` (as last seen), for ``reason``."""

    since: datetime
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """What to record of a cycle: its ``transitions`` and ``blips``, and the ``works`` the
    timeline shows after it (None: the tracker's own state)."""

    works: Works | None
    transitions: list[Transition]
    blips: list[Blip]


def cause_of(reason: str) -> str:
    """The cause a ``maintenance`` interval shows: ``maintenance window: fibre works``."""
    return f"maintenance window: {reason}"


def overlay(
    works: Works | None,
    before: TrackerState,
    transitions: Sequence[Transition],
    blips: Sequence[Blip],
    window: MaintenanceSpan | None,
    at: datetime,
    recorded_until: datetime | None,
) -> Recorded:
    """What to record of a cycle that started at ``at``.

    ``works`` is what the timeline showed before the cycle; ``before`` the tracker before
    it, ``transitions`` and ``blips`` what the tracker made of it; ``window`` the merged
    window holding at ``at`` (``maintenance_windows.span_at``), None outside every window;
    ``recorded_until`` the end of the time already recorded (the previous cycle's), None
    right after a start whose open interval is ``unknown`` (the works then begin at the first
    probe).
    """
    if window is not None and not window.start <= at < window.end:
        window = None  # a span that does not hold at the cycle's time is no window for it
    recorded: list[Transition] = []
    pending, kept = list(transitions), list(blips)
    if works is not None and (window is None or window.start > works.until):
        end = max(works.since, min(works.until, at))
        recorded.append(_state_at(end, before, pending))
        pending = [transition for transition in pending if transition.at > end]
        kept = [blip for blip in kept if blip.started_at >= end or blip.started_at < works.since]
        works, recorded_until = None, end
    if window is None:
        return Recorded(None, recorded + pending, kept)
    if works is not None:  # the works go on (the window may have grown)
        return Recorded(replace(works, until=window.end), recorded,
                        [blip for blip in kept if blip.started_at < works.since])
    since = max(window.start, at if recorded_until is None else recorded_until)
    recorded += [transition for transition in pending if transition.at < since]
    evidence: dict[str, Any] = {"window": {"start": window.start.isoformat(),
                                           "end": window.end.isoformat(),
                                           "reasons": list(window.reasons)}}
    recorded.append(Transition("maintenance", since, cause_of(window.reason), None, evidence))
    return Recorded(Works(since, window.end, window.reason), recorded,
                    [blip for blip in kept if blip.started_at < since])


def _state_at(end: datetime, before: TrackerState, transitions: Sequence[Transition]) -> Transition:
    """The tracker's state at ``end`` (its state before the cycle, then the cycle's
    transitions dated up to ``end``), as a transition at ``end``."""
    last = before.last
    evidence = dict(last.evidence) if last is not None and last.state == before.state else {}
    latest = Transition(before.state, end, before.cause, before.outage_kind, evidence)
    for transition in transitions:
        if transition.at <= end:
            latest = replace(transition, at=end)
    return latest
