"""Which instants a report covers: a month, or days from ``--from`` to ``--to``, in the site's
zone. Pure: "now" and the zone come in as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from watchdog.errors import EX_USAGE, UserError


@dataclass(frozen=True, slots=True)
class Period:
    """[``start``, ``end``) in UTC; ``label`` names it for people ("2026-11", "2026-11-03 –
    2026-11-12"); ``first_day``/``last_day`` are the site's calendar days it covers."""

    start: datetime
    end: datetime
    label: str
    first_day: date
    last_day: date


def _midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of ``day`` in ``zone``, as UTC (DST-correct: zoneinfo folds)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def month(text: str | None, zone: tzinfo, now: datetime) -> Period:
    """The month ``YYYY-MM`` (default: the current one in the site's zone).

    Raises ``UserError`` (exit 64) for a text that is not a month, or a month not begun yet.
    """
    if text:
        try:
            first = date.fromisoformat(text + "-01")
            if len(text) != 7:
                raise ValueError(text)
        except ValueError:
            raise UserError(f"--month {text!r} is not a month; write it as YYYY-MM, for "
                            "example 2026-11", EX_USAGE) from None
    else:
        local = now.astimezone(zone)
        first = date(local.year, local.month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    period = Period(_midnight(first, zone), _midnight(following, zone),
                    first.strftime("%Y-%m"), first, following - timedelta(days=1))
    if period.start > now:
        raise UserError(f"--month {first:%Y-%m} has not begun yet; choose a past or the "
                        "current month", EX_USAGE)
    return period


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, for "
                        "example 2026-11-03", EX_USAGE) from None


def days(first: str, last: str, zone: tzinfo, now: datetime) -> Period:
    """The days ``first`` to ``last`` (both ``YYYY-MM-DD``, both included) in the site's zone.

    Raises ``UserError`` (exit 64) for a date that is not one, ``last`` before ``first``, or a
    period that has not begun yet.
    """
    first_day, last_day = _day("--from", first), _day("--to", last)
    if last_day < first_day:
        raise UserError(f"--to {last} is before --from {first}; give the first day, then the "
                        "last (both included)", EX_USAGE)
    period = Period(_midnight(first_day, zone), _midnight(last_day + timedelta(days=1), zone),
                    f"{first_day.isoformat()} – {last_day.isoformat()}", first_day, last_day)
    if period.start > now:
        raise UserError(f"--from {first} has not begun yet; choose a past day", EX_USAGE)
    return period


def site_days(period: Period, zone: tzinfo) -> list[tuple[date, datetime, datetime]]:
    """Each calendar day of ``period`` with its [start, end) in UTC (23 or 25 hours on the
    days the clocks change)."""
    found = []
    day = period.first_day
    while day <= period.last_day:
        found.append((day, _midnight(day, zone), _midnight(day + timedelta(days=1), zone)))
        day += timedelta(days=1)
    return found
