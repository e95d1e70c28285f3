"""Counted time: the stretches of time a contract counts, and their arithmetic. Pure.

A contract counts either every hour ("24/7") or the site's business hours: open days
(Monday to Friday by default), the same opening hours each open day, less the public holidays
of the site's country and region (from the `holidays` library) and the extra closed days.
Business hours are wall-clock times in the site's zone: "08:00" is 08:00 in winter and in
summer, so a business day is the same length either side of a DST change, while a day
counted 24/7 lasts 23 or 25 hours when the clocks change.

Times come in and go out as aware datetimes (UTC by convention); the zone is only used to
find where each local day and its opening hours fall. ``excluded`` intervals (declared
maintenance windows) are never counted.

Public holidays come from ``public_holidays`` (the `holidays` library, on first use).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from watchdog.contract.public_holidays import public_holidays

#: An interval [start, end) of aware datetimes.
Interval = tuple[datetime, datetime]

MINUTES_PER_DAY = 1440
# A calendar with no open time this far ahead is refused rather than searched forever.
SEARCH_LIMIT = timedelta(days=3660)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the business is open, in ``zone``.

    ``days`` holds weekday numbers (Monday 0 … Sunday 6); ``opens`` and ``closes`` are
    minutes after local midnight, ``closes`` up to 1440 (the end of the day) and after
    ``opens``. ``holidays_country`` ("FR") and ``holidays_subdivision`` ("57") name the public
    holidays of the `holidays` library (none when the country is empty); ``closed_days`` are
    further days off.
    """

    zone: tzinfo
    days: frozenset[int] = frozenset(range(5))
    opens: int = 8 * 60
    closes: int = 18 * 60
    holidays_country: str = ""
    holidays_subdivision: str = ""
    closed_days: frozenset[date] = frozenset()

    def closed_because(self, day: date) -> str | None:
        """Why the local ``day`` is not a business day ("weekend", a holiday's name,
        "closed day"), or None when it is one."""
        if day.weekday() not in self.days:
            return "weekend"
        if day in self.closed_days:
            return "closed day"
        if self.holidays_country:
            return public_holidays(self.holidays_country, self.holidays_subdivision,
                                   day.year).get(day)
        return None

    def is_business_day(self, day: date) -> bool:
        """Whether the local ``day`` has business hours."""
        return self.closed_because(day) is None

    def hours_of(self, day: date) -> Interval | None:
        """The local ``day``'s business hours as aware UTC datetimes; None on a day off."""
        if not self.is_business_day(day):
            return None
        return self._instant(day, self.opens), self._instant(day, self.closes)

    def _instant(self, day: date, minutes: int) -> datetime:
        # The wall-clock time in the zone (24:00 is the next day's midnight), then UTC.
        days, minutes = divmod(minutes, MINUTES_PER_DAY)
        local = datetime.combine(day + timedelta(days=days),
                                 time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def stretches(self, start: datetime) -> Iterator[Interval]:
        """Business hours from ``start`` on, in order (the first one cut at ``start``).

        Raises ``ValueError`` when no day within ``SEARCH_LIMIT`` is open.
        """
        day = start.astimezone(self.zone).date()
        last_open = day
        while True:
            hours = self.hours_of(day)
            if hours is not None:
                last_open = day
                opens, closes = hours
                if closes > start:
                    yield max(opens, start), closes
            elif day - last_open > SEARCH_LIMIT:
                raise ValueError(f"the business calendar has no open day after {last_open}")
            day += timedelta(days=1)


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    """``intervals`` sorted, overlapping or touching ones joined, empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(interval for interval in intervals if interval[1] > interval[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _without(stretch: Interval, excluded: Sequence[Interval]) -> Iterator[Interval]:
    """The parts of ``stretch`` outside ``excluded`` (merged, in order)."""
    start, end = stretch
    for left, right in excluded:
        if right <= start:
            continue
        if left >= end:
            break
        if left > start:
            yield start, left
        start = max(start, right)
    if start < end:
        yield start, end


def counted_stretches(
    calendar: BusinessCalendar | None, start: datetime, excluded: Iterable[Interval] = ()
) -> Iterator[Interval]:
    """The counted time from ``start`` on, in order: everything when ``calendar`` is None
    (24/7), else its business hours; in both cases less ``excluded``.

    Unbounded: the caller stops. Raises ``ValueError`` when a calendar has no open day.
    """
    skip = _merged(excluded)
    if calendar is None:
        # 24/7: one stretch to the end of time, cut by the excluded intervals.
        yield from _without((start, datetime.max.replace(tzinfo=UTC)), skip)
        return
    for stretch in calendar.stretches(start):
        yield from _without(stretch, skip)


def counted_intervals(
    calendar: BusinessCalendar | None, start: datetime, end: datetime,
    excluded: Iterable[Interval] = (),
) -> list[Interval]:
    """The counted parts of [``start``, ``end``) (see ``counted_stretches``)."""
    found: list[Interval] = []
    if end <= start:
        return found
    for left, right in counted_stretches(calendar, start, excluded):
        if left >= end:
            break
        found.append((left, min(right, end)))
    return found


def counted_seconds(
    calendar: BusinessCalendar | None, start: datetime, end: datetime,
    excluded: Iterable[Interval] = (),
) -> float:
    """Seconds of [``start``, ``end``) the contract counts: all of them when ``calendar`` is
    None (24/7), else those in its business hours; never those in ``excluded``. 0.0 when
    ``end`` is not after ``start``."""
    return sum((right - left).total_seconds()
               for left, right in counted_intervals(calendar, start, end, excluded))


def business_seconds(
    calendar: BusinessCalendar, start: datetime, end: datetime,
    excluded: Iterable[Interval] = (),
) -> float:
    """Seconds of business time between ``start`` and ``end`` (less ``excluded``)."""
    return counted_seconds(calendar, start, end, excluded)


def add_counted(
    calendar: BusinessCalendar | None, start: datetime, duration: timedelta,
    excluded: Iterable[Interval] = (),
) -> datetime:
    """The instant when ``duration`` of counted time has passed since ``start``.

    A stretch that ends exactly when the time is used up gives its end (a 4 h business-hours
    span from 14:00 is due at 18:00 the same day, not at the next opening). Raises
    ``ValueError`` when a calendar has no open day.
    """
    remaining = duration
    cursor = start
    for left, right in counted_stretches(calendar, start, excluded):
        cursor = left
        if right - left >= remaining:
            return left + remaining
        remaining -= right - left
    return cursor  # not reached: the stretches never end
