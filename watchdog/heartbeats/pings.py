"""What a heartbeat says: its signal and its words, for people reading the outside service.

Pure. ``state_ping`` reports a link's (or the site's) state: ``up`` while it is up (or in a
declared maintenance window), ``fail`` while it is down or degraded, with the cause; an
``up`` ping also carries the summary of every outage that ended since the last summary
delivered (the recovery). ``start_ping`` and ``stop_ping`` say the watchdog starts and stops.
Times are shown in the site's zone, with their offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from watchdog import __version__
from watchdog.config.durations import humanize
from watchdog.heartbeats.site import LinkView
from watchdog.vocabulary import (
    DEFAULT_LINK,
    OUTAGE_KIND_LABELS,
    HeartbeatSignal,
    LinkState,
    state_label,
)

if TYPE_CHECKING:
    from watchdog.store.heartbeat_reader import EndedOutage


@dataclass(frozen=True, slots=True)
class Ping:
    """One heartbeat: its ``signal``, its ``message`` (lines: healthchecks' body, Kuma's
    message on one line), the ``state`` it reports (None for start and log), the median round
    trip for Kuma's ``ping``, and the newest outage whose summary it carries (None: none)."""

    signal: HeartbeatSignal
    message: str
    state: LinkState | None = None
    rtt_ms: float | None = None
    reported_outage: int | None = None


def state_ping(site: str, view: LinkView, ended: Sequence[EndedOutage], zone: tzinfo,
               now: datetime) -> Ping:
    """The heartbeat for ``view`` at ``now``: ``fail`` with the cause while it fails, else
    ``up``, led by the summary of each outage in ``ended`` (oldest first), if any. A failing
    ping carries no summary: it waits for the recovery."""
    head = (f"{site}: {state_label(view.state, view.outage_kind)} since "
            f"{_time(view.since, zone)} ({humanize((now - view.since).total_seconds())})")
    if view.link != DEFAULT_LINK:
        head += f" on link {view.link}"
    lines = [head, view.cause if view.until is None else (
        f"maintenance until {_time(view.until, zone)}: {view.cause}")]
    if view.rtt_ms is not None:
        lines.append(f"median round trip {view.rtt_ms:.0f} ms")
    if view.failing:
        return Ping("fail", "\n".join(lines), view.state, view.rtt_ms)
    summaries = [outage_summary(outage, zone) for outage in ended]
    return Ping("up", "\n".join(summaries + lines), view.state, view.rtt_ms,
                max((outage.id for outage in ended), default=None))


def outage_summary(outage: EndedOutage, zone: tzinfo) -> str:
    """One line: "Recovered from outage #7 (provider): 2026-12-06 14:02:05+01:00 to
    14:47:10+01:00 (45 min 5 s): <cause>"."""
    kind = OUTAGE_KIND_LABELS.get(outage.kind, outage.kind)
    on_link = "" if outage.link == DEFAULT_LINK else f" on link {outage.link}"
    lasted = humanize((outage.ended_at - outage.started_at).total_seconds())
    start, end = _time(outage.started_at, zone), _time(outage.ended_at, zone)
    if start[:10] == end[:10]:
        end = end[11:]  # the same day: the time alone
    return (f"Recovered from outage #{outage.id} ({kind}){on_link}: {start} to {end} "
            f"({lasted}): {outage.cause}")


def start_ping(site: str, links: Sequence[str], interval: timedelta) -> Ping:
    """The watchdog starts: healthchecks' ``/start``."""
    return Ping("start", f"{site}: connectivity-watchdog {__version__} started, watching "
                f"{', '.join(links)}; a heartbeat every {humanize(interval.total_seconds())}")


def stop_ping(site: str) -> Ping:
    """The watchdog stops cleanly: a note (healthchecks' ``/log``) that explains the silence."""
    return Ping("log", f"{site}: connectivity-watchdog is stopping; no heartbeat comes until "
                "it runs again, so this check goes down after its grace period")


def _time(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).isoformat(sep=" ", timespec="seconds")
