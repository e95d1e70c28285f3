"""``watchdog maintenance add|remove``: declare a window of planned works, or end one early.

The rules, and what is written, are ``store.maintenance_actions``'. This opens the database
for writing (``BEGIN IMMEDIATE``, as the daemon does), so nothing races it; the daemon
notices the change within a cycle or two and honours the window from then.

``--from`` and ``--to`` are read in the site's time zone (``"2026-12-06 02:00"``) unless they
carry an offset; ``--from`` may be ``now`` (the default) and ``--to`` a duration after it
(``+3h``).
"""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import datetime, timedelta, tzinfo

from watchdog import clock
from watchdog.cli.common import config_from, duration
from watchdog.cli.maintenance_views import link_text, when_text
from watchdog.config import Config, parse_duration
from watchdog.config.zone import site_zone
from watchdog.errors import EX_USAGE, UserError
from watchdog.link.maintenance_windows import OneOffWindow, parse_moment
from watchdog.store import maintenance_actions
from watchdog.store.writer import Store

# A window masks outages: one longer than this is much more likely a typo (a wrong year)
# than planned works, and is refused with the way to declare it anyway.
LONGEST_WINDOW = timedelta(days=31)


def add(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    now = clock.utcnow()
    starts_at = now if args.start.strip().lower() == "now" else _moment("--from", args.start,
                                                                        zone)
    ends_at = _end(args.end, starts_at, zone)
    if ends_at - starts_at > LONGEST_WINDOW:
        raise UserError(f"the window would last {duration((ends_at - starts_at).total_seconds())}"
                        f", longer than {LONGEST_WINDOW.days} days; check --to, or declare the "
                        "works in several windows", EX_USAGE)
    link = _link(config, args.link)
    with Store.open(config.storage.database, migrate=False) as store, store.write() as session:
        row = maintenance_actions.add_window(
            session, starts_at=starts_at, ends_at=ends_at, reason=args.reason, link=link,
            now=now, by=_who())
        window = OneOffWindow(row.starts_at, row.ends_at, reason=row.reason, link=row.link,
                              source="cli", key=str(row.id))
    print(f"Maintenance window {window.key} added: {when_text(window, zone)} ({zone}), "
          f"{link_text(window.link)}: {window.reason}.")
    if starts_at < now:
        print("It began before now: the daemon honours it from its next cycles, and the time "
              "it has already recorded keeps its state.")
    print(f"'watchdog maintenance remove {window.key}' ends it early.")
    return 0


def remove(args: argparse.Namespace) -> int:
    config = config_from(args)
    key = args.id.strip()
    if key.lower().startswith("config:"):
        where = config.source or "the config file"
        raise UserError(f"window {key} is declared in {where} ([[maintenance]] number "
                        f"{key.split(':', 1)[1]}); remove it there and reload the daemon "
                        "(systemctl reload connectivity-watchdog)", EX_USAGE)
    if not key.isdigit():
        raise UserError(f"{key!r} is not a window id; 'watchdog maintenance list' shows them",
                        EX_USAGE)
    now = clock.utcnow()
    with Store.open(config.storage.database, migrate=False) as store, store.write() as session:
        row = maintenance_actions.remove_window(session, int(key), now)
        begun = row.starts_at <= now
    print(f"Maintenance window {key} removed: "
          + ("it had begun, and ends now." if begun else "it will not hold."))
    return 0


def _moment(option: str, text: str, zone: tzinfo) -> datetime:
    try:
        return parse_moment(text, zone)
    except ValueError as error:
        raise UserError(f"{option} {error}", EX_USAGE) from None


def _end(text: str, starts_at: datetime, zone: tzinfo) -> datetime:
    """``--to``: a date and time, or a duration after the start (``+3h``, ``90m``)."""
    try:
        return parse_moment(text, zone)
    except ValueError:
        pass
    try:
        return starts_at + parse_duration(text.strip().removeprefix("+"))
    except ValueError:
        raise UserError(f"--to {text!r} is neither a date and time nor a duration; write "
                        "\"2026-12-06 05:00\" (the site's time) or a duration after --from "
                        "such as \"+3h\"", EX_USAGE) from None


def _link(config: Config, name: str | None) -> str | None:
    names = [link.name for link in config.links]
    if name is not None and name not in names:
        raise UserError(f"--link {name!r} is not a link of the config; use one of "
                        f"{', '.join(map(repr, names))}, or leave it out for every link",
                        EX_USAGE)
    return name


def _who() -> str:
    """Who declares the window: the user behind sudo, else this process's user."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
