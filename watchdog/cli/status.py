"""``watchdog status``: in five seconds, is the internet up, since when, and what is going on.

Reads the database with the stdlib reader only (no sqlmodel, sqlalchemy or apscheduler), so
it is fast, works while the daemon runs and after it stopped, and never writes.

Its exit code is the primary link's state's, as monitoring plugins read it
(``common.STATE_EXIT_CODES``): 0 up, 1 degraded or maintenance, 2 down or a LAN fault, 3
unknown (the daemon is not running, or never ran); 1 too while the site is on backup. A
config or database that cannot be read is a user error (64, 66, 78...).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from watchdog import clock
from watchdog.cli.common import (
    ON_BACKUP_EXIT_CODE,
    STATE_EXIT_CODES,
    config_from,
    duration,
    iso,
    link_title,
    local_time,
    print_json,
)
from watchdog.cli.maintenance_views import (
    UPCOMING,
    known_windows,
    occurrence_json,
    occurrence_text,
)
from watchdog.config.schema import Config, LinkConfig
from watchdog.config.zone import site_zone
from watchdog.link.maintenance_windows import (
    MaintenanceWindow,
    Occurrence,
    window_at,
    windows_between,
)
from watchdog.link.site import LinkView, carrier, site_state
from watchdog.store.files import writer_pid
from watchdog.store.heartbeat_reader import HeartbeatRecord, read_heartbeats
from watchdog.store.reader import Heartbeat, StatusData, read_status
from watchdog.store.ticket_reader import TicketRow, read_current_incident
from watchdog.vocabulary import CAUSE_OTHER_PATH, SITE_STATE_LABELS, state_label

# A daemon that holds the writer lock although its heartbeat is old has not written its
# database since: most likely its file system is full or read-only, and it goes on watching
# with the database in memory (store.memory_copy), which it writes back later.
UNWRITTEN_HINT = ("is its file system full or read-only? Its log says; "
                  "systemctl status connectivity-watchdog shows the live state")
CAUSE_UNWRITTEN = ("the watchdog runs but has not written its database since then; "
                   "systemctl status connectivity-watchdog shows the live state")


@dataclass(frozen=True, slots=True)
class LinkLook:
    """What ``status`` shows of one link: its config entry, its recorded state, its ongoing
    incident and the maintenance windows holding now or beginning within a day."""

    link: LinkConfig
    status: StatusData
    incident: TicketRow | None
    maintenance: tuple[Occurrence, ...]


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    now = clock.utcnow()
    windows = known_windows(config, now)
    looks = [look(config, link, now, windows) for link in config.links]
    several = bool(config.uplink)
    heartbeats = configured_heartbeats(config, read_heartbeats(config.storage.database)) if (
        config.heartbeat) else []
    if args.json:
        print_json({**site_json(looks, zone),
                    "heartbeats": [_heartbeat_json(shown, zone) for shown in heartbeats]})
    elif not several:
        only = looks[0]
        print(render(only.status, zone, only.incident, only.maintenance, heartbeats))
    else:
        print(render_site(looks, zone, heartbeats))
    return exit_code(looks)


def exit_code(looks: Sequence[LinkLook]) -> int:
    """The exit code of ``status`` for the site whose links are ``looks`` (the primary
    first): its primary's state's (``STATE_EXIT_CODES``), but 1 (WARNING) while the site is on
    backup, its traffic leaving through another uplink or another path."""
    if site_state(site_views(looks)) == "on_backup":
        return ON_BACKUP_EXIT_CODE
    return STATE_EXIT_CODES[looks[0].status.state]


class HeartbeatShown(NamedTuple):
    """A configured heartbeat and its last send (None: not sent yet)."""

    name: str
    style: str
    last: HeartbeatRecord | None


def configured_heartbeats(config: Config, records: Sequence[HeartbeatRecord]
                          ) -> list[HeartbeatShown]:
    """The config's heartbeats, in its order, each with its record (a removed one's record is
    left out)."""
    by_name = {record.name: record for record in records}
    return [HeartbeatShown(entry.name, entry.style, by_name.get(entry.name))
            for entry in config.heartbeat]


def look(config: Config, link: LinkConfig, now: datetime,
         windows: Sequence[MaintenanceWindow]) -> LinkLook:
    """Read what ``status`` shows of ``link`` at ``now``; raises ``DatabaseError``."""
    status = read_status(config.storage.database, now, link=link.name)
    if not (status.heartbeat and status.heartbeat.running) and writer_pid(status.path) is not None:
        status = dataclasses.replace(status, cause=CAUSE_UNWRITTEN)
    incident = read_current_incident(config.storage.database, link=link.name)
    active = window_at(windows, now, link=link.name)
    upcoming = [occurrence for occurrence in windows_between(
        windows, now, now + UPCOMING, link=link.name) if occurrence.start > now]
    return LinkLook(link, status, incident, tuple(([active] if active else []) + upcoming))


def site_views(looks: Sequence[LinkLook]) -> list[LinkView]:
    """Each link as the site's state sees it (``watchdog.link.site``)."""
    return [LinkView(item.link.name, item.status.state, item.link.primary,
                     other_path=item.status.cause_code == CAUSE_OTHER_PATH) for item in looks]


def site_json(looks: Sequence[LinkLook], zone: tzinfo) -> dict[str, Any]:
    """The JSON of ``status --json``: the primary link's keys at the top (as before uplinks),
    ``site`` (its state and the uplink carrying the traffic) and ``links`` (each link's keys
    with its ``name``, ``kind`` and ``primary``, the primary first)."""
    views = site_views(looks)
    chosen = carrier(views)
    parts = [{"name": item.link.name, "kind": item.link.kind, "primary": item.link.primary,
              **as_json(item.status, zone, item.incident, item.maintenance)} for item in looks]
    top = dict(parts[0])
    for key in ("name", "kind", "primary"):
        top.pop(key)
    return {**top, "site": {"state": site_state(views),
                            "carrier": None if chosen is None else chosen.name},
            "links": parts}


def as_json(
    status: StatusData, zone: tzinfo, incident: TicketRow | None = None,
    maintenance: Sequence[Occurrence] = (),
) -> dict[str, Any]:
    """The JSON contract of ``status --json`` (other tools read it: keep the keys).

    ``maintenance`` holds the window holding now (if any) and those beginning within a day."""
    outage = status.open_outage
    heartbeat = status.heartbeat
    return {
        "state": status.state,
        "since": iso(status.since, zone),
        "cause": status.cause,
        "daemon": {
            "running": bool(heartbeat and heartbeat.running),
            "last_cycle_at": iso(heartbeat.last_cycle_at, zone) if heartbeat else None,
        },
        "uptime": {w.label: None if w.uptime_percent is None else round(w.uptime_percent, 3)
                   for w in status.windows},
        "unknown_seconds": {w.label: round(w.unknown_seconds) for w in status.windows},
        "maintenance_seconds": {w.label: round(w.maintenance_seconds) for w in status.windows},
        "maintenance": {
            "active": next((occurrence_json(o, zone) for o in maintenance
                            if o.start <= status.now < o.end), None),
            "upcoming": [occurrence_json(o, zone) for o in maintenance
                         if o.start > status.now],
        },
        "outage": None if outage is None else {
            "id": outage.id,
            "kind": outage.kind,
            "started_at": iso(outage.started_at, zone),
            "duration_s": round((status.now - outage.started_at).total_seconds()),
        },
        "targets": [
            {"name": t.name, "kind": t.kind, "ok": t.last_ok,
             "rtt_ms": None if t.last_rtt_ms is None else round(t.last_rtt_ms, 2),
             "at": iso(t.last_at, zone), "error": t.last_error}
            for t in status.targets
        ],
        "ticket": None if incident is None else {
            "reference": incident.reference,
            "opened_at": iso(incident.ticket_opened_at, zone),
            "reminders_sent": incident.reminders_sent,
            "gtr_breached": incident.gtr_breached,
            "cuts": incident.cuts,
            "messages_waiting": incident.pending_messages,
        },
        "clock": {
            "synchronised": heartbeat.clock_synced if heartbeat else None,
            "checked_at": iso(heartbeat.clock_checked_at, zone) if heartbeat else None,
            "since": iso(heartbeat.clock_status_since, zone) if heartbeat else None,
        },
        "database": str(status.path),
    }


def _heartbeat_json(shown: HeartbeatShown, zone: tzinfo) -> dict[str, Any]:
    last = shown.last
    return {
        "name": shown.name,
        "style": shown.style,
        "host": last.host if last else None,
        "signal": last.signal if last else None,
        "state": last.state if last else None,
        "sent_at": iso(last.sent_at, zone) if last else None,
        "ok": last.ok if last else None,
        "answer": last.answer if last else None,
        "error": last.error if last else None,
        "last_ok_at": iso(last.last_ok_at, zone) if last else None,
    }


def _heartbeat_line(shown: HeartbeatShown, width: int, zone: tzinfo, now: datetime) -> str:
    """"  hc  up sent 14:02:05 (12 s ago) to https://hc-ping.com: taken, HTTP 200 OK"."""
    last = shown.last
    if last is None:
        return f"  {shown.name:<{width}}  not sent yet ({shown.style})"
    ago = duration((now - last.sent_at).total_seconds())
    line = (f"  {shown.name:<{width}}  {last.signal} sent {local_time(last.sent_at, zone, now)}"
            f" ({ago} ago) to {last.host}: ")
    if last.ok:
        return line + f"taken, {last.answer}"
    line += f"NOT TAKEN: {last.error}"
    if last.last_ok_at is not None:
        line += f" (last taken {local_time(last.last_ok_at, zone, now)})"
    return line


def _done_about_it(incident: TicketRow, zone: tzinfo, now: datetime) -> str:
    """One line: the ticket, the reminders, what is still waiting to be sent."""
    if incident.reference is None:
        said = "no ticket yet (opened if it lasts)"
    else:
        opened = local_time(incident.ticket_opened_at, zone, now) if incident.ticket_opened_at \
            else "?"
        said = f"ticket {incident.reference} opened {opened}"
        said += f", {incident.reminders_sent} reminder(s) sent"
        if incident.gtr_breached:
            said += ", repair-time guarantee breached"
    if incident.cuts > 1:
        said += f", {incident.cuts} cuts"
    if incident.pending_messages:
        said += f"; {incident.pending_messages} message(s) waiting to be sent"
    return f"  {said}"


def clock_line(heartbeat: Heartbeat, zone: tzinfo, now: datetime) -> str | None:
    """One line when the server's clock was not synchronised (or nobody could tell) at the
    daemon's last check; None when it was."""
    if heartbeat.clock_synced is True:
        return None
    if heartbeat.clock_checked_at is None:
        return "Clock: whether it is synchronised was not recorded"
    checked = local_time(heartbeat.clock_checked_at, zone, now)
    if heartbeat.clock_synced is None:
        return f"Clock: the kernel could not tell whether it is synchronised (checked {checked})"
    since = local_time(heartbeat.clock_status_since or heartbeat.clock_checked_at, zone, now)
    return (f"Clock: NOT synchronised since {since} (checked {checked}); recorded times may "
            "drift: enable NTP (timedatectl set-ntp true)")


def render(status: StatusData, zone: tzinfo, incident: TicketRow | None = None,
           maintenance: Sequence[Occurrence] = (),
           heartbeats: Sequence[HeartbeatShown] = ()) -> str:
    """The person's view: state and since first, then maintenance windows holding now or
    within a day, uptime, last results, the daemon and its heartbeats."""
    lines = link_lines(status, zone, incident, maintenance, "Internet link")
    lines.append("")
    lines.extend(daemon_lines(status, zone, heartbeats))
    return "\n".join(lines)


def render_site(looks: Sequence[LinkLook], zone: tzinfo,
                heartbeats: Sequence[HeartbeatShown] = ()) -> str:
    """The person's view of a site with uplinks: the site's state first, then each uplink
    (the primary first) as ``render`` shows a link, then the daemon and its heartbeats."""
    views = site_views(looks)
    state, chosen = site_state(views), carrier(views)
    headline = f"Site: {SITE_STATE_LABELS.get(state, state.upper())}"
    if state == "on_backup" and chosen is not None:
        headline += (f": the traffic leaves through {chosen.name}" if not chosen.primary
                     else f": {chosen.name}'s router sends the traffic another way")
    elif state == "down":
        headline += ": no uplink carries the traffic"
    lines = [headline]
    for item in looks:
        lines.append("")
        lines.extend(link_lines(item.status, zone, item.incident, item.maintenance,
                                f"Uplink {link_title(item.link)}"))
    lines.append("")
    lines.extend(daemon_lines(looks[0].status, zone, heartbeats))
    return "\n".join(lines)


def link_lines(status: StatusData, zone: tzinfo, incident: TicketRow | None,
               maintenance: Sequence[Occurrence], title: str) -> list[str]:
    """One link's lines: ``title`` with its state and since when, the cause, the outage and
    what was done about it, maintenance windows, uptime and the last results."""
    now = status.now
    outage = status.open_outage
    label = state_label(status.state, outage.kind if outage else None)
    lines = []
    if status.since is not None:
        since = local_time(status.since, zone, now)
        elapsed = duration((now - status.since).total_seconds())
        lines.append(f"{title}: {label} since {since} ({elapsed})")
    else:
        lines.append(f"{title}: {label}")
    lines.append(f"  {status.cause}")
    if outage is not None:
        lasted = duration((now - outage.started_at).total_seconds())
        lines.append(f"  outage #{outage.id} ({outage.kind}) since "
                     f"{local_time(outage.started_at, zone, now)}, {lasted} so far")
    if incident is not None:
        lines.append(_done_about_it(incident, zone, now))
    for occurrence in maintenance:
        lines.append(f"  maintenance window {occurrence.window.key} "
                     f"{occurrence_text(occurrence, zone, now)}: {occurrence.window.reason}")
    lines.append("")
    uptime = "".join(
        f"{w.label:>4} "
        + (f"{'n/a':<13}" if w.uptime_percent is None else f"{w.uptime_percent:6.2f} %      ")
        for w in status.windows
    )
    unknown = "".join(f"{w.label:>4} {duration(w.unknown_seconds):<14}" for w in status.windows)
    lines.append(f"Uptime       {uptime}".rstrip())
    lines.append(f"Not watched  {unknown}".rstrip())
    if any(w.maintenance_seconds >= 1 for w in status.windows):
        works = "".join(f"{w.label:>4} {duration(w.maintenance_seconds):<14}"
                        for w in status.windows)
        lines.append(f"Maintenance  {works}".rstrip())
    if status.targets:
        lines.append("")
        lines.append("Last results")
        width = max(len(t.name) for t in status.targets)
        for t in status.targets:
            outcome = "ok  " if t.last_ok else ("FAIL" if t.last_ok is False else "-   ")
            rtt = f"{t.last_rtt_ms:8.1f} ms" if t.last_rtt_ms is not None else " " * 11
            when = local_time(t.last_at, zone, now) if t.last_at else "never"
            error = f" ({t.last_error})" if t.last_error else ""
            lines.append(f"  {t.kind:<8} {t.name:<{width}}  {outcome} {rtt}  {when}  "
                         f"{t.address}{error}")
    return lines


def daemon_lines(status: StatusData, zone: tzinfo,
                 heartbeats: Sequence[HeartbeatShown] = ()) -> list[str]:
    """Whether the daemon runs (from ``status``'s link's heartbeat), the clock, the
    dead-man's switch's heartbeats, the file."""
    now = status.now
    lines = []
    heartbeat = status.heartbeat
    writer = None if heartbeat is not None and heartbeat.running else writer_pid(status.path)
    if writer is not None:
        since = "" if heartbeat is None else (
            f" since {local_time(heartbeat.last_cycle_at, zone, now)}")
        lines.append(f"Daemon: running (pid {writer or '?'}) but not writing its database"
                     f"{since}: {UNWRITTEN_HINT}")
        if heartbeat is not None:
            clock = clock_line(heartbeat, zone, now)
            if clock is not None:
                lines.append(clock)
    elif heartbeat is None:
        lines.append("Daemon: has never run on this database")
    else:
        ago = duration((now - heartbeat.last_cycle_at).total_seconds())
        if heartbeat.running:
            lines.append(f"Daemon: running, last cycle {ago} ago")
        else:
            how = "stopped cleanly" if heartbeat.clean_shutdown else "not running"
            last = local_time(heartbeat.last_cycle_at, zone, now)
            lines.append(f"Daemon: {how}, last cycle {last} ({ago} ago)")
        clock = clock_line(heartbeat, zone, now)
        if clock is not None:
            lines.append(clock)
    if heartbeats:
        lines.append("Heartbeats (dead-man's switch)")
        width = max(len(shown.name) for shown in heartbeats)
        lines.extend(_heartbeat_line(shown, width, zone, now) for shown in heartbeats)
    lines.append(f"Database: {status.path}")
    return lines
