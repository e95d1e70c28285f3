"""Counted time, hand-computed: business seconds between two instants and the instant a
duration of counted time runs out, in Paris (Mon–Fri 08:00–18:00, France's holidays).

2026: Good Friday 3 April, Easter Monday 6 April, Whit Monday 25 May, Armistice Wednesday
11 November; the clocks go forward on Sunday 29 March and back on Sunday 25 October.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest

from tests.contract.calendars import HOUR, PARIS, office, paris
from watchdog.contract.calendar import (
    BusinessCalendar,
    Interval,
    add_counted,
    business_seconds,
    counted_seconds,
)

PARIS_OFFICE = office()
METZ_OFFICE = office("57")  # Moselle: Good Friday and 26 December off too
ALL_WEEK = office(days=range(7), opens=0, closes=24 * 60)


@dataclass(frozen=True)
class Span:
    name: str
    start: str
    end: str
    hours: float  # business hours between them, counted by hand
    calendar: BusinessCalendar | None = PARIS_OFFICE
    excluded: list[tuple[str, str]] = field(default_factory=list)


SPANS = [
    Span("inside one business day", "2026-11-26 09:40", "2026-11-26 11:10", 1.5),
    Span("across midnight: 17:00-18:00 and 08:00-09:00", "2026-11-26 17:00",
         "2026-11-27 09:00", 2),
    Span("across a weekend: Friday 1 h, Monday 3 h", "2026-11-27 17:00", "2026-11-30 11:00", 4),
    Span("across a month boundary: 30 Nov 2 h, 1 Dec 2 h", "2026-11-30 16:00",
         "2026-12-01 10:00", 4),
    Span("a public holiday: Armistice Wednesday counts nothing", "2026-11-10 17:00",
         "2026-11-12 09:00", 2),
    Span("Easter in Paris: Thursday 1 h, Good Friday 10 h, Easter Monday off, Tuesday 1 h",
         "2026-04-02 17:00", "2026-04-07 09:00", 12),
    Span("Easter in Metz: Good Friday off too", "2026-04-02 17:00", "2026-04-07 09:00", 2,
         calendar=METZ_OFFICE),
    Span("26 December in Metz: Friday off", "2025-12-24 17:00", "2025-12-29 09:00", 2,
         calendar=METZ_OFFICE),
    Span("26 December in Paris: a business day", "2025-12-24 17:00", "2025-12-29 09:00", 12),
    Span("DST forward: business hours stay 08:00-18:00 wall clock", "2026-03-27 17:00",
         "2026-03-30 11:00", 4),
    Span("DST forward counted 24/7: Saturday noon to Monday midnight is 35 h",
         "2026-03-28 12:00", "2026-03-30 00:00", 35, calendar=None),
    Span("DST forward, open 00:00-24:00 every day: the same 35 h", "2026-03-28 12:00",
         "2026-03-30 00:00", 35, calendar=ALL_WEEK),
    Span("DST back, open 00:00-24:00 every day: Sunday has 25 h", "2026-10-25 00:00",
         "2026-10-26 00:00", 25, calendar=ALL_WEEK),
    Span("an outage ending inside the weekend: Friday 16:00-18:00 only",
         "2026-11-27 16:00", "2026-11-28 10:00", 2),
    Span("an outage starting inside the weekend: Monday 08:00-09:00 only",
         "2026-11-28 10:00", "2026-11-30 09:00", 1),
    Span("an outage inside the night: nothing", "2026-11-26 19:00", "2026-11-27 07:59", 0),
    Span("a maintenance window inside business hours is left out", "2026-11-26 08:00",
         "2026-11-26 18:00", 8, excluded=[("2026-11-26 12:00", "2026-11-26 14:00")]),
    Span("a maintenance window reaching into the evening: only its business hour",
         "2026-11-26 08:00", "2026-11-26 18:00", 9,
         excluded=[("2026-11-26 17:00", "2026-11-26 20:00")]),
    Span("overlapping maintenance windows count once", "2026-11-26 08:00",
         "2026-11-26 18:00", 7, excluded=[("2026-11-26 09:00", "2026-11-26 11:00"),
                                          ("2026-11-26 10:00", "2026-11-26 12:00")]),
    Span("a maintenance window counted 24/7", "2026-11-26 00:00", "2026-11-27 00:00", 21,
         calendar=None, excluded=[("2026-11-26 01:00", "2026-11-26 04:00")]),
    Span("an extra closed day", "2026-12-23 17:00", "2026-12-28 09:00", 2,
         calendar=office(closed=(date(2026, 12, 24),))),
    Span("an end before the start counts nothing", "2026-11-26 11:00", "2026-11-26 10:00", 0),
]


@pytest.mark.parametrize("case", SPANS, ids=lambda case: case.name)
def test_counted_time_between_two_instants(case: Span) -> None:
    excluded: list[Interval] = [(paris(a), paris(b)) for a, b in case.excluded]
    seconds = counted_seconds(case.calendar, paris(case.start), paris(case.end), excluded)
    assert seconds == case.hours * HOUR


def test_business_seconds_is_counted_time_on_a_calendar() -> None:
    assert business_seconds(PARIS_OFFICE, paris("2026-11-27 17:00"),
                            paris("2026-11-30 11:00")) == 4 * HOUR


@dataclass(frozen=True)
class Due:
    name: str
    start: str
    hours: float
    due: str  # Paris time, by hand
    calendar: BusinessCalendar | None = PARIS_OFFICE
    excluded: list[tuple[str, str]] = field(default_factory=list)


DUES = [
    Due("the issue's case: Friday 17:00 + 4 h is Monday 11:00", "2026-11-27 17:00", 4,
        "2026-11-30 11:00"),
    Due("Friday before Whit Monday: due Tuesday", "2026-05-22 17:00", 4, "2026-05-26 11:00"),
    Due("Thursday before Easter in Paris: Good Friday works", "2026-04-02 17:00", 4,
        "2026-04-03 11:00"),
    Due("Thursday before Easter in Metz: due the Tuesday", "2026-04-02 17:00", 4,
        "2026-04-07 11:00", calendar=METZ_OFFICE),
    Due("Christmas Eve in Paris: due on 26 December", "2025-12-24 17:00", 4,
        "2025-12-26 11:00"),
    Due("Christmas Eve in Metz: due the Monday after", "2025-12-24 17:00", 4,
        "2025-12-29 11:00", calendar=METZ_OFFICE),
    Due("across midnight", "2026-11-26 16:00", 4, "2026-11-27 10:00"),
    Due("across a month boundary", "2026-11-30 16:00", 4, "2026-12-01 10:00"),
    Due("used up exactly at closing: due at 18:00, not next morning", "2026-11-26 14:00", 4,
        "2026-11-26 18:00"),
    Due("starting on a Saturday: counted from Monday 08:00", "2026-11-28 10:00", 4,
        "2026-11-30 12:00"),
    Due("starting before opening: counted from 08:00", "2026-11-26 06:30", 4,
        "2026-11-26 12:00"),
    Due("longer than a business day: 12 h", "2026-11-26 09:00", 12, "2026-11-27 11:00"),
    Due("across the spring DST change, business hours", "2026-03-27 17:00", 4,
        "2026-03-30 11:00"),
    Due("across the spring DST change, 24/7: 23:30 + 4 h is 04:30 summer time",
        "2026-03-28 23:30", 4, "2026-03-29 04:30", calendar=None),
    Due("across the autumn DST change, 24/7: 00:30 + 4 h is 03:30 winter time",
        "2026-10-25 00:30", 4, "2026-10-25 03:30", calendar=None),
    Due("a maintenance window stops the clock, business hours", "2026-11-27 17:00", 4,
        "2026-11-30 13:00", excluded=[("2026-11-30 08:00", "2026-11-30 10:00")]),
    Due("a maintenance window stops the clock, 24/7", "2026-11-26 10:00", 4,
        "2026-11-26 16:00", calendar=None,
        excluded=[("2026-11-26 11:00", "2026-11-26 13:00")]),
    Due("a maintenance window starting the outage", "2026-11-26 10:00", 1,
        "2026-11-26 13:00", calendar=None,
        excluded=[("2026-11-26 09:00", "2026-11-26 12:00")]),
]


@pytest.mark.parametrize("case", DUES, ids=lambda case: case.name)
def test_when_a_duration_of_counted_time_runs_out(case: Due) -> None:
    excluded: list[Interval] = [(paris(a), paris(b)) for a, b in case.excluded]
    due = add_counted(case.calendar, paris(case.start), timedelta(hours=case.hours), excluded)
    assert due == paris(case.due)
    assert due.astimezone(PARIS) == datetime.fromisoformat(case.due).replace(tzinfo=PARIS)


def test_a_calendar_that_never_opens_is_refused_not_searched_forever() -> None:
    never = BusinessCalendar(zone=PARIS, days=frozenset())
    with pytest.raises(ValueError, match="no open day"):
        add_counted(never, paris("2026-11-26 10:00"), timedelta(hours=1))


def test_days_off_say_why() -> None:
    assert PARIS_OFFICE.closed_because(date(2026, 11, 28)) == "weekend"
    assert PARIS_OFFICE.closed_because(date(2026, 5, 25)) == "Pentecost Monday"
    assert PARIS_OFFICE.closed_because(date(2026, 4, 3)) is None
    assert METZ_OFFICE.closed_because(date(2026, 4, 3)) == "Good Friday"
    assert office(closed=(date(2026, 12, 24),)).closed_because(date(2026, 12, 24)) == (
        "closed day")
    no_holidays = BusinessCalendar(zone=PARIS)
    assert no_holidays.is_business_day(date(2026, 11, 11))
