"""Which state a heartbeat reports: one link's, or the site's (the worst of its links). Pure.

A link is seen through a ``LinkView`` (its monitor's tracker, or ``maintenance`` during a
declared window). The site's state is its worst link's, by the tracker's own order (a LAN
fault, then the provider's outage, a DNS-wide failure, degraded, then up); a link in a
maintenance window counts as well (its works are declared, nobody is to be called), and on a
tie the first link named wins: the primary. A link whose state is ``unknown`` (its monitor
has not decided yet) is left out; while every link is, there is nothing to report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from watchdog.link.states import rank
from watchdog.vocabulary import LinkState, OutageKind

#: The states a heartbeat reports as a failure (healthchecks' ``/fail``, Kuma's ``down``).
FAILING_STATES: Final[frozenset[LinkState]] = frozenset({"degraded", "down", "lan_down"})


@dataclass(frozen=True, slots=True)
class LinkView:
    """A link as a heartbeat sees it now: its state since when and why; ``rtt_ms`` the median
    round trip of its recent pings (None when nothing answered); in a maintenance window,
    ``until`` its end and ``cause`` its reason."""

    link: str
    state: LinkState
    since: datetime
    cause: str
    outage_kind: OutageKind | None = None
    rtt_ms: float | None = None
    until: datetime | None = None

    @property
    def failing(self) -> bool:
        return self.state in FAILING_STATES


def severity(view: LinkView) -> int:
    """How bad a link's state is for the site: ``link.states.rank``, maintenance as up."""
    return 0 if view.state == "maintenance" else rank(view.state, view.outage_kind)


def site_view(views: Sequence[LinkView], link: str = "") -> LinkView | None:
    """The view a heartbeat reports: the link called ``link``, or (empty) the worst of
    ``views`` (the first, the primary, on a tie); None while none of them is known."""
    known = [view for view in views
             if view.state != "unknown" and (not link or view.link == link)]
    if not known:
        return None
    return max(known, key=severity)  # max keeps the first of equals: the primary
