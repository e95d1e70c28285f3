"""What the commands share: loading the config, the site's time zone, formatting for people."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, tzinfo
from typing import Any

from watchdog.config import Config, humanize, load_config
from watchdog.config.schema import LinkConfig
from watchdog.errors import EX_USAGE, UserError
from watchdog.report.words import to_millisecond
from watchdog.vocabulary import LinkState

# The exit code of ``status`` and ``check`` for each state: the Nagios plugins' convention
# (monitoring plugins, scripts): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. ``unknown`` is the
# daemon not running (stopped, or silent), or never run on this database.
STATE_EXIT_CODES: dict[LinkState, int] = {
    "up": 0, "degraded": 1, "maintenance": 1, "down": 2, "lan_down": 2, "unknown": 3,
}
# ``status``'s while the site is on backup (its primary down, its traffic leaving another
# way): still served, a WARNING.
ON_BACKUP_EXIT_CODE = 1


def config_from(
    args: argparse.Namespace, *, secrets: bool = False, check_holidays: bool = False
) -> Config:
    """The validated config for ``args`` (``--config``, ``--database``).

    Secrets are read only by the commands that send (``run``, ``notify-test``) and by
    ``config check``: a group member's ``status`` never needs the root-only secret files.
    The holidays' country is looked up (``check_holidays``) by the commands that count
    business time (``run``, ``config check``), so ``status`` never imports `holidays`.
    """
    return load_config(args.config, database=args.database, secrets=secrets,
                       check_holidays=check_holidays)


def parse_local_time(text: str, zone: tzinfo, option: str) -> datetime:
    """An instant a person typed for ``option``: ``2026-11-26 09:40`` in the site's ``zone``,
    or ISO-8601 with an offset (``2026-11-26T09:40+01:00``); aware UTC.

    Raises ``UserError`` (exit 64) for anything else, and for a local time the clocks skip or
    pass twice when they change (say which with an offset).
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r} is not a time; write it as \"YYYY-MM-DD HH:MM\" "
                        "in the site's time zone, or with an offset such as "
                        "2026-11-26T09:40+01:00", EX_USAGE) from None
    if moment.tzinfo is None:
        first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
        if first.utcoffset() != second.utcoffset():
            raise UserError(f"{option} {text!r} falls in the hour the clocks change in {zone}; "
                            "add the offset, for example 2026-10-25T02:30+01:00", EX_USAGE)
        moment = first
    return moment.astimezone(UTC)


def local_time(moment: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """``14:02:05`` today, ``Thu 26 Nov 14:02`` this year, else ``2025-11-26 14:02``."""
    shown = moment.astimezone(zone)
    if now is not None:
        today = now.astimezone(zone).date()
        if shown.date() == today:
            return shown.strftime("%H:%M:%S")
        if shown.year == today.year:
            return shown.strftime("%a %d %b %H:%M")
    return shown.strftime("%Y-%m-%d %H:%M")


def iso(moment: datetime | None, zone: tzinfo) -> str | None:
    """ISO-8601 with the site's offset (the JSON contract), or None."""
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def time_ms(moment: datetime, zone: tzinfo, *, up: bool = False,
            same_day_as: datetime | None = None) -> str:
    """``2026-11-26 14:02:03.412`` in the site's zone (milliseconds cut, or rounded ``up``);
    only ``14:02:03.412`` when it falls on the same local day as ``same_day_as``."""
    shown = to_millisecond(moment, up=up).astimezone(zone)
    if same_day_as is not None and shown.date() == same_day_as.astimezone(zone).date():
        return shown.strftime("%H:%M:%S.") + f"{shown.microsecond // 1000:03d}"
    return shown.strftime("%Y-%m-%d %H:%M:%S.") + f"{shown.microsecond // 1000:03d}"


def bracket_text(after: datetime | None, by: datetime | None, zone: tzinfo) -> str | None:
    """A change's bracket for people: "between 2026-11-26 14:02:03.412 and 14:02:05.418" (the
    second date only when the day differs); "by …" when no earlier probe is on record; None
    when neither side was recorded."""
    if by is None:
        return None if after is None else f"after {time_ms(after, zone)}"
    if after is None:
        return f"by {time_ms(by, zone, up=True)} (no earlier probe on record)"
    return (f"between {time_ms(after, zone)} and "
            f"{time_ms(by, zone, up=True, same_day_as=after)}")


def duration(seconds: float) -> str:
    return humanize(seconds)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def link_title(link: LinkConfig) -> str:
    """``fibre (fibre, primary)``: an uplink's name with its kind and role."""
    about = [word for word in (link.kind, "primary" if link.primary else "") if word]
    return f"{link.name} ({', '.join(about)})" if about else link.name


def chosen_link(config: Config, name: str | None) -> LinkConfig:
    """The link ``--link NAME`` names (None: the primary one); raises ``UserError`` (exit 64)
    naming the config's links when it has none of that name."""
    if name is None:
        return config.primary_link
    try:
        return config.link(name)
    except KeyError:
        names = ", ".join(repr(link.name) for link in config.links)
        raise UserError(f"--link {name!r} is not a link of this config; use one of {names}",
                        EX_USAGE) from None
