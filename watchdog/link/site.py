"""The site's state from its links' states: ``up``, ``on_backup`` or ``down``. Pure.

A site has one or more links (uplinks), one of them primary. The site is ``up`` while the
primary carries the traffic (``up`` or ``degraded``), ``on_backup`` while it does not and the
traffic leaves another way, ``down`` while nothing leaves. "Another way" is another link that
is ``up`` or ``degraded``, or the primary itself when it is ``down`` only because its path
check saw the traffic take another path (a router that failed over to its 4G by itself: the
fibre is dead, the office still has internet). ``unknown`` while the primary was not observed
(the daemon just started, or is not running), ``maintenance`` during its planned works when
nothing else carries the traffic.

The daemon asks it for the route of its messages (``carrier``), ``watchdog status`` for the
site's headline; both describe each link with a ``LinkView``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watchdog.vocabulary import AVAILABLE_STATES, LinkState, SiteState


@dataclass(frozen=True, slots=True)
class LinkView:
    """What the site's state needs of one link: its ``state``, whether it is the primary,
    and ``other_path``: it is ``down`` because its traffic takes another path (so the
    traffic still flows)."""

    name: str
    state: LinkState
    primary: bool
    other_path: bool = False


def carries_traffic(link: LinkView) -> bool:
    """Whether the site's traffic leaves through ``link`` (its own line, or the other path
    its router switched to)."""
    return link.state in AVAILABLE_STATES or (link.state == "down" and link.other_path)


def carrier(links: Sequence[LinkView]) -> LinkView | None:
    """The link the traffic should leave through now: the primary while it carries it, else
    the first other link that does (in the given order), else the primary when its router
    carries the traffic on another path; None when nothing carries it."""
    primary = _primary(links)
    if primary is not None and primary.state in AVAILABLE_STATES:
        return primary
    others = [link for link in links if link is not primary]
    return next((link for link in others if carries_traffic(link)), None) or (
        primary if primary is not None and carries_traffic(primary) else None)


def site_state(links: Sequence[LinkView]) -> SiteState:
    """The site's state from its links' (see the module); ``unknown`` without links."""
    primary = _primary(links)
    if primary is None:
        return "unknown"
    if primary.state in AVAILABLE_STATES:
        return "up"
    if primary.state == "unknown":
        return "unknown"
    if carrier(links) is not None:
        return "on_backup"
    return "maintenance" if primary.state == "maintenance" else "down"


def _primary(links: Sequence[LinkView]) -> LinkView | None:
    """The primary link: the one marked so, else the first."""
    return next((link for link in links if link.primary), links[0] if links else None)
