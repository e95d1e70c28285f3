"""How maintenance windows are gathered and printed, for people and as JSON.

Shared by ``maintenance list|add|remove`` and ``status``. A window is the config's
(``config:N``, removed only by editing the file) or the database's (its id, from
``maintenance add``). Standard library only: ``status`` and ``maintenance list`` stay light.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from watchdog.cli.common import duration, iso
from watchdog.config import Config
from watchdog.link.maintenance_windows import (
    DAY_NAMES,
    MaintenanceWindow,
    Occurrence,
    OneOffWindow,
    WeeklyWindow,
    config_windows,
    window_at,
    windows_between,
)
from watchdog.store.maintenance_reader import StoredWindow, declared_windows

#: ``status`` shows a window that begins within this time.
UPCOMING = timedelta(hours=24)
#: ``maintenance list`` shows the database's windows over since this long (``--all``: all).
RECENT = timedelta(days=7)
# How far ahead a weekly window's next occurrence is looked for.
A_WEEK = timedelta(days=8)


def known_windows(config: Config, now: datetime) -> list[MaintenanceWindow]:
    """The config's windows and the database's not over at ``now`` (removals applied).

    Raises ``DatabaseError``."""
    return [*config_windows(config),
            *declared_windows(config.storage.database, ending_after=now)]


def link_text(link: str | None) -> str:
    return "every link" if link is None else f"link {link}"


def when_text(window: MaintenanceWindow, zone: tzinfo) -> str:
    """``every Sun 02:00 → 04:00``, or ``2026-12-06 02:00 → 05:00`` in ``zone``."""
    if isinstance(window, WeeklyWindow):
        days = ", ".join(DAY_NAMES[day] for day in sorted(window.days))
        return f"every {days} {window.start:%H:%M} → {window.end:%H:%M}"
    start, end = window.starts_at.astimezone(zone), window.ends_at.astimezone(zone)
    shown_end = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M} → {shown_end}"


def _minute(moment: datetime, zone: tzinfo, now: datetime) -> str:
    """``14:00`` today, ``Sun 06 Dec 02:00`` this year, else ``2027-01-03 02:00``."""
    shown, today = moment.astimezone(zone), now.astimezone(zone).date()
    if shown.date() == today:
        return f"{shown:%H:%M}"
    return f"{shown:%a %d %b %H:%M}" if shown.year == today.year else f"{shown:%Y-%m-%d %H:%M}"


def occurrence_text(occurrence: Occurrence, zone: tzinfo, now: datetime) -> str:
    """``active now, until 05:00 (2 h 10 min left)``, ``in 3 h: Sun 06 Dec 02:00 → 04:00``,
    or ``ended Sat 05 Dec 03:00``."""
    start, end = occurrence.start, occurrence.end
    if start <= now < end:
        return (f"active now, until {_minute(end, zone, now)} "
                f"({duration((end - now).total_seconds())} left)")
    if end <= now:
        return f"ended {_minute(end, zone, now)}"
    return (f"in {duration((start - now).total_seconds())}: {_minute(start, zone, now)} → "
            f"{_minute(end, zone, start)}")


def next_occurrence(window: MaintenanceWindow, now: datetime) -> Occurrence | None:
    """The occurrence holding at ``now``, else the next one (within a week), else the last
    one of a one-off window (over)."""
    holding = window_at([window], now, link=None)
    if holding is not None:
        return holding
    ahead = windows_between([window], now, now + A_WEEK, link=None)
    if ahead:
        return ahead[0]
    if isinstance(window, OneOffWindow):
        return Occurrence(window.starts_at, window.ends_at, window)
    return None


def occurrence_json(occurrence: Occurrence, zone: tzinfo) -> dict[str, Any]:
    """The JSON of one window's occurrence (``status --json``: ``maintenance``)."""
    window = occurrence.window
    return {"id": window.key, "source": window.source, "link": window.link,
            "starts_at": iso(occurrence.start, zone), "ends_at": iso(occurrence.end, zone),
            "reason": window.reason}


def window_json(window: MaintenanceWindow, stored: StoredWindow | None, zone: tzinfo,
                now: datetime) -> dict[str, Any]:
    """The JSON of a window (``maintenance list --json``): the contract for programs."""
    shape: dict[str, Any] = {"id": window.key, "source": window.source, "link": window.link,
                             "reason": window.reason}
    if isinstance(window, WeeklyWindow):
        shape.update(kind="weekly", days=[DAY_NAMES[day] for day in sorted(window.days)],
                     start=f"{window.start:%H:%M}", end=f"{window.end:%H:%M}")
    else:
        shape.update(kind="one-off", starts_at=iso(window.starts_at, zone),
                     ends_at=iso(window.ends_at, zone))
    occurrence = next_occurrence(window, now)
    shape["active"] = occurrence is not None and occurrence.start <= now < occurrence.end
    shape["next"] = None if occurrence is None or occurrence.end <= now else {
        "starts_at": iso(occurrence.start, zone), "ends_at": iso(occurrence.end, zone)}
    if stored is not None:
        shape.update(created_at=iso(stored.created_at, zone), created_by=stored.created_by,
                     removed_at=iso(stored.removed_at, zone))
    return shape


def window_lines(window: MaintenanceWindow, stored: StoredWindow | None, zone: tzinfo,
                 now: datetime) -> list[str]:
    """Two lines for people: the key, when, which link and whether it holds; then why and who
    declared it."""
    occurrence = next_occurrence(window, now)
    state = "" if occurrence is None else occurrence_text(occurrence, zone, now)
    if stored is not None and stored.removed_at is not None:
        state = f"removed {_minute(stored.removed_at, zone, now)}" + (
            ", it never held" if stored.removed_at <= stored.starts_at else "")
    source = "config file" if stored is None else (
        f"added by {stored.created_by} {_minute(stored.created_at, zone, now)}")
    return [f"{window.key:<9} {when_text(window, zone)}  {link_text(window.link)}  {state}",
            f"{'':<9} {window.reason} ({source})"]
