"""``watchdog outages [--since DATE] [--link NAME]``: every recorded outage, oldest first (with
several uplinks, each says whose it is; ``--link`` keeps one uplink's)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, tzinfo
from typing import Any

from watchdog import clock
from watchdog.cli.common import (
    bracket_text,
    chosen_link,
    config_from,
    duration,
    iso,
    local_time,
    print_json,
)
from watchdog.config.zone import site_zone
from watchdog.errors import EX_USAGE, UserError
from watchdog.report.words import bracket_json
from watchdog.store.reader import OutageRow, read_outages


def parse_since(text: str, zone: tzinfo) -> datetime:
    """``YYYY-MM-DD`` (midnight, site time) or an ISO time; naive times are site time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text!r} is not a date; write it as YYYY-MM-DD "
                        "or 2026-11-26T14:00", EX_USAGE) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    since = parse_since(args.since, zone) if args.since else None
    now = clock.utcnow()
    link = None if args.link is None else chosen_link(config, args.link).name
    rows = [row for row in read_outages(config.storage.database, since)
            if link is None or row.link == link]
    if args.json:
        print_json([as_json(row, zone, now) for row in rows])
        return 0
    if not rows:
        scope = (f" since {args.since}" if args.since else "") + (f" on {link}" if link else "")
        print(f"No outage recorded{scope}.")
        return 0
    for row in rows:
        print(render(row, zone, now, show_link=bool(config.uplink)))
    return 0


def _duration_s(row: OutageRow, now: datetime) -> float:
    if row.duration_s is not None:
        return row.duration_s
    return (now - row.started_at).total_seconds()


def as_json(row: OutageRow, zone: tzinfo, now: datetime) -> dict[str, Any]:
    """The JSON contract of ``outages --json``.

    ``start_bracket`` and ``end_bracket`` (None while the outage goes on) are
    ``{"after": ISO, "by": ISO}`` with milliseconds: the outage started (ended) after the
    probes of ``after`` and by those of ``by``; a side is None when no probe tells.
    """
    return {
        "id": row.id,
        "link": row.link,
        "kind": row.kind,
        "started_at": iso(row.started_at, zone),
        "ended_at": iso(row.ended_at, zone),
        "duration_s": round(_duration_s(row, now)),
        "cause": row.cause,
        "unobserved_s": round(row.unobserved_seconds),
        "end_observed": row.end_observed,
        "start_bracket": bracket_json(row.start_after, row.start_by, zone),
        "end_bracket": None if row.ended_at is None
        else bracket_json(row.end_after, row.end_by, zone),
    }


def render(row: OutageRow, zone: tzinfo, now: datetime, *, show_link: bool = False) -> str:
    """An outage's lines; ``show_link`` names its link (a site with uplinks)."""
    start = local_time(row.started_at, zone)
    if row.ended_at is None:
        end = "still going on"
    else:
        end = local_time(row.ended_at, zone)
        if row.end_observed is False:
            end += " (last seen down; the watchdog was not running when it ended)"
    lasted = duration(_duration_s(row, now))
    extra = ""
    if row.unobserved_seconds >= 1:
        extra = f", of which {duration(row.unobserved_seconds)} not watched"
    link = f"{row.link} " if show_link else ""
    lines = [f"#{row.id:<4} {link}{row.kind:<4} {start} → {end}  {lasted}{extra}"]
    # The precision of the record, where the probes tell it (not for outages recorded before).
    started = bracket_text(row.start_after, row.start_by, zone)
    if started is not None:
        lines.append(f"      started {started}")
    ended = None if row.ended_at is None else bracket_text(row.end_after, row.end_by, zone)
    if ended is not None:
        lines.append(f"      ended {ended}")
    lines.append(f"      {row.cause}")
    return "\n".join(lines)
