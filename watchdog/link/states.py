"""What classification and tracking say about the link: observations, transitions, blips.

The words themselves (``LinkState``, ``OutageKind``) are in ``watchdog.vocabulary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchdog.vocabulary import OUTAGE_STATES, LinkState, OutageKind


def rank(state: LinkState, kind: OutageKind | None = None, *, other_path: bool = False) -> int:
    """How bad a state is. A move to a worse rank needs ``confirm_down`` observations, to a
    better one ``confirm_up``. DNS-only failure ranks below a line whose traffic takes
    another path (``other_path``: dead, but the site's traffic still flows), which ranks
    below an ISP outage, which ranks below a LAN fault (which hides everything beyond the
    gateway)."""
    if state == "down":
        return 2 if kind == "dns" else 3 if other_path else 4
    return {"unknown": -1, "up": 0, "degraded": 1, "lan_down": 5}[state]


def is_outage(state: LinkState) -> bool:
    """Whether a state is an outage (opens an outage record, may open a ticket)."""
    return state in OUTAGE_STATES


@dataclass(frozen=True, slots=True)
class Observation:
    """What one cycle says about the link, before any hysteresis.

    ``outage_kind`` is set for ``down`` (``isp`` or ``dns``) and ``lan_down`` (``lan``).
    ``evidence`` is a small JSON-ready summary (failing targets, gateway result) kept with outages.
    ``other_path``: the link is ``down`` only because its path check saw the traffic leave
    through another path (a router that failed over to its backup by itself).
    ``basis`` names the probe kinds the verdict rests on: an observation only counts when those
    kinds were probed in its own cycle, so a check that did not run never confirms anything.

    The tracker stamps a counted observation with the send times of the probes it was counted
    on (``sent_from``: the earliest, ``sent_until``: the latest) and with ``previous_sent``:
    the earliest send, in the last earlier cycle that ran them, of probes of the same kinds
    (None when no cycle since start-up did). These are the two sides of a change's bracket.
    """

    state: LinkState
    cause: str
    at: datetime
    outage_kind: OutageKind | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    basis: frozenset[str] = frozenset({"ping"})
    sent_from: datetime | None = None
    sent_until: datetime | None = None
    previous_sent: datetime | None = None
    # ``down`` only because the path check saw the traffic take another path.
    other_path: bool = False

    @property
    def rank(self) -> int:
        """How bad it is (see ``rank``)."""
        return rank(self.state, self.outage_kind, other_path=self.other_path)


@dataclass(frozen=True, slots=True)
class Transition:
    """The link entered ``state`` at ``at``: back-dated to the first cycle that showed it.

    ``after`` and ``by`` bracket the change as precisely as the probes tell: the probes of the
    kinds the verdict rests on were last sent before the change at ``after`` (None: no such
    probe since start-up or since a gap, so the change may be older), and the first cycle that
    saw the new state had sent them all by ``by``. ``at`` (the cycle's start) lies between.
    """

    state: LinkState
    at: datetime
    cause: str
    outage_kind: OutageKind | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    after: datetime | None = None
    by: datetime | None = None


@dataclass(frozen=True, slots=True)
class Blip:
    """A failure shorter than the confirmation: recorded, but not an outage.

    ``start_after``/``start_by`` bracket its start as ``Transition.after``/``by`` do;
    ``end_after`` is when the last failing cycle sent its probes, ``end_by`` when the cycle that
    ended it had sent its own. None where no probe tells.
    """

    state: LinkState
    started_at: datetime
    ended_at: datetime
    cycles: int
    cause: str
    start_after: datetime | None = None
    start_by: datetime | None = None
    end_after: datetime | None = None
    end_by: datetime | None = None


def outage_kind_of(state: LinkState, kind: OutageKind | None) -> OutageKind | None:
    """The outage a state stands for: ``lan_down`` is ``lan``; ``down`` is ``isp`` or ``dns``."""
    if state == "lan_down":
        return "lan"
    if state == "down":
        return kind or "isp"
    return None
