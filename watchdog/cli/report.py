"""``watchdog report [--month YYYY-MM] [--json]``: a month's record, for a claim.

Availability over the watched time, the provider's availability (LAN faults left out), time
per state, every outage with its ticket, whether the guaranteed repair time was breached and
how many reminders were sent. Times in the site's zone.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, tzinfo
from typing import Any

from watchdog import clock
from watchdog.cli.common import config_from, duration, iso, local_time, print_json
from watchdog.config import Config
from watchdog.config.zone import site_zone
from watchdog.errors import EX_USAGE, UserError
from watchdog.store.report_reader import PeriodReport, read_period
from watchdog.vocabulary import OUTAGE_KIND_LABELS


def month_bounds(text: str | None, zone: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of ``YYYY-MM`` (default: this month),
    midnight in the site's zone, as UTC."""
    if text:
        try:
            first = datetime.strptime(text + "-01", "%Y-%m-%d").replace(tzinfo=zone)
        except ValueError:
            raise UserError(f"--month {text!r} is not a month; write it as YYYY-MM, for "
                            "example 2026-11", EX_USAGE) from None
    else:
        local = now.astimezone(zone)
        first = datetime(local.year, local.month, 1, tzinfo=zone)
    following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=zone)
    return first.astimezone(UTC), following.astimezone(UTC)


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    now = clock.utcnow()
    start, end = month_bounds(args.month, zone, now)
    if start > now:
        raise UserError(f"--month {args.month} has not begun yet", EX_USAGE)
    report = read_period(config.storage.database, start, end, now)
    if args.json:
        print_json(as_json(report, zone))
    else:
        print(render(report, config, zone))
    return 0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} %"


def as_json(report: PeriodReport, zone: tzinfo) -> dict[str, Any]:
    return {
        "start": iso(report.start, zone),
        "end": iso(report.end, zone),
        "availability_percent": report.availability,
        "provider_availability_percent": report.provider_availability,
        "seconds": {state: round(value) for state, value in report.seconds.items()},
        "blips": report.blips,
        "outages": [
            {"id": o.id, "kind": o.kind, "started_at": iso(o.started_at, zone),
             "ended_at": iso(o.ended_at, zone), "seconds_in_period": round(o.seconds_in_period),
             "cause": o.cause, "unobserved_s": round(o.unobserved_seconds),
             "reference": o.reference, "gtr_breached": o.gtr_breached,
             "reminders_sent": o.reminders_sent}
            for o in report.outages
        ],
    }


def render(report: PeriodReport, config: Config, zone: tzinfo) -> str:
    seconds = report.seconds
    start_local = report.start.astimezone(zone)
    lines = [
        f"Connectivity report — {config.site.name} — {start_local.strftime('%Y-%m')} "
        f"({local_time(report.start, zone)} → {local_time(report.end, zone)}, {zone})",
    ]
    isp = config.isp
    if isp.name or isp.line_id:
        lines.append(f"Line {isp.line_id or '?'}, {isp.name or 'provider'}, "
                     f"guaranteed repair time {duration(isp.gtr.total_seconds())}")
    unwatched = seconds["unknown"] + seconds["unwatched"]
    total = report.watched_seconds + seconds["maintenance"] + unwatched
    apart = [f"{what}: {duration(spent)}" for what, spent in (
        ("not watched", unwatched), ("maintenance windows", seconds["maintenance"])) if spent >= 1]
    lines += [
        "",
        f"Availability           {_percent(report.availability):>10}   (of the time watched)",
        f"Provider availability  {_percent(report.provider_availability):>10}   "
        "(LAN faults and unwatched time left out)",
        f"Watched                {duration(report.watched_seconds)} of {duration(total)}"
        + (f" ({'; '.join(apart)})" if apart else ""),
        "",
        "Time by state: " + " · ".join(
            f"{label} {duration(seconds[state])}"
            for state, label in (("up", "up"), ("degraded", "degraded"),
                                 ("down", "down"), ("lan_down", "LAN fault"))),
    ]
    by_kind: dict[str, tuple[int, float]] = {}
    for outage in report.outages:
        count, spent = by_kind.get(outage.kind, (0, 0.0))
        by_kind[outage.kind] = (count + 1, spent + outage.seconds_in_period)
    summary = ", ".join(f"{OUTAGE_KIND_LABELS[kind]} {count} ({duration(spent)})"
                        for kind, (count, spent) in sorted(by_kind.items()))
    lines += ["", f"Outages ({len(report.outages)}){': ' + summary if summary else ''}; "
                  f"blips: {report.blips}"]
    for outage in report.outages:
        end = local_time(outage.ended_at, zone, report.end) if outage.ended_at else (
            "still going on")
        facts = []
        if outage.reference:
            facts.append(outage.reference)
        if outage.gtr_breached:
            facts.append("GTR breached")
        if outage.reminders_sent:
            facts.append(f"{outage.reminders_sent} reminder(s)")
        if outage.unobserved_seconds >= 1:
            facts.append(f"{duration(outage.unobserved_seconds)} not watched")
        began = local_time(outage.started_at, zone, report.end)
        lines.append(f"  #{outage.id:<4} {outage.kind:<3} {began}"
                     f" → {end}  {duration(outage.seconds_in_period)}"
                     + (f"  ({', '.join(facts)})" if facts else ""))
        lines.append(f"        {outage.cause}")
    return "\n".join(lines)
