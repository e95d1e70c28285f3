"""How a window's time was spent, from the link's recorded states: pure arithmetic, no I/O.

The readers (``store.reader`` for ``status``, ``store.report_reader`` for ``report``) fetch
the state intervals that touch a window and decide where an open interval stops; this module
does the rest: seconds per state inside the window, the time nobody watched, availability and
the provider's availability.

The rules, the same for every caller:

* ``up`` and ``degraded`` count as available, ``down`` and ``lan_down`` as unavailable
  (``watchdog.vocabulary``).
* Time in ``unknown`` (the daemon was not running) and time with no record at all are never
  counted as up: they are left out of availability and reported as not watched.
* Time in ``maintenance`` (a declared window of planned works) is watched but neither
  available nor unavailable: it is left out of availability and reported apart.
* The provider's availability also leaves out ``lan_down``: a fault inside the office is not
  the provider's.

Standard library only: the read commands import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from watchdog.vocabulary import AVAILABLE_STATES, LINK_STATES, OUTAGE_STATES, WATCHED_STATES


class StateSpan(NamedTuple):
    """The link held ``state`` from ``started_at`` to ``ended_at`` (aware datetimes)."""

    state: str
    started_at: datetime
    ended_at: datetime


def overlap_seconds(start: datetime, end: datetime, began: datetime, ended: datetime) -> float:
    """Seconds of [``began``, ``ended``) inside [``start``, ``end``); 0.0 when they do not meet."""
    return max(0.0, (min(end, ended) - max(start, began)).total_seconds())


@dataclass(frozen=True, slots=True)
class TimeByState:
    """How [``start``, ``end``) was spent.

    ``seconds`` holds every state of the vocabulary (0.0 when absent), plus any other word a
    newer database wrote (counted as not watched). The figures are in seconds; percentages
    are None when there is no time to judge, never a made-up 100 %.
    """

    start: datetime
    end: datetime
    seconds: Mapping[str, float]

    @property
    def window_seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def unrecorded_seconds(self) -> float:
        """Time with no interval at all: before the first record, or a gap in the history."""
        return max(0.0, self.window_seconds - sum(self.seconds.values()))

    @property
    def watched_seconds(self) -> float:
        """Time in a state somebody saw: every state but ``unknown``."""
        return sum(self.seconds[state] for state in WATCHED_STATES)

    @property
    def available_seconds(self) -> float:
        return sum(self.seconds[state] for state in LINK_STATES if state in AVAILABLE_STATES)

    @property
    def unavailable_seconds(self) -> float:
        return sum(self.seconds[state] for state in LINK_STATES if state in OUTAGE_STATES)

    @property
    def maintenance_seconds(self) -> float:
        """Time in declared maintenance windows: watched, but left out of availability."""
        return self.seconds["maintenance"]

    @property
    def unwatched_seconds(self) -> float:
        """The window less the watched and maintenance time: ``unknown`` and unrecorded time
        together."""
        return max(0.0, self.window_seconds - self.watched_seconds - self.maintenance_seconds)

    @property
    def availability(self) -> float | None:
        """Percent of the watched time that was available; None when nothing was watched."""
        watched = self.watched_seconds
        if not watched:
            return None
        return 100.0 * self.available_seconds / watched

    @property
    def provider_availability(self) -> float | None:
        """As ``availability``, with LAN faults (the office's own) left out as well."""
        judged = self.watched_seconds - self.seconds["lan_down"]
        if not judged:
            return None
        return 100.0 * self.available_seconds / judged


def time_by_state(spans: Iterable[StateSpan], start: datetime, end: datetime) -> TimeByState:
    """Sum ``spans`` (contiguous, not overlapping, as the store keeps them) inside
    [``start``, ``end``). Spans partly outside are cut at the window's edges."""
    seconds: dict[str, float] = dict.fromkeys(LINK_STATES, 0.0)
    for state, began, ended in spans:
        inside = overlap_seconds(start, end, began, ended)
        if inside > 0:
            seconds[state] = seconds.get(state, 0.0) + inside
    return TimeByState(start, end, seconds)
