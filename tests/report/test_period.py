"""Which instants a report covers, in the site's zone, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from watchdog.errors import UserError
from watchdog.report.period import days, month, site_days

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "start", "end", "last_day"), [
    ("2026-11", datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC),
     date(2026, 11, 30)),
    # March: the clocks go forward on the 29th; the month starts at +01:00 and ends at +02:00.
    ("2026-03", datetime(2026, 2, 28, 23, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC),
     date(2026, 3, 31)),
    ("2025-12", datetime(2025, 11, 30, 23, tzinfo=UTC), datetime(2025, 12, 31, 23, tzinfo=UTC),
     date(2025, 12, 31)),
])
def test_a_month_is_midnight_to_midnight_in_the_sites_zone(
    text: str, start: datetime, end: datetime, last_day: date
) -> None:
    period = month(text, PARIS, NOW)
    assert (period.start, period.end, period.label, period.last_day) == (
        start, end, text, last_day)


def test_the_default_month_is_the_current_one_in_the_sites_zone() -> None:
    # 23:30 UTC on Nov 30 is already December 1 in Paris.
    assert month(None, PARIS, datetime(2026, 11, 30, 23, 30, tzinfo=UTC)).label == "2026-12"


def test_days_include_both_ends_and_the_clock_change_makes_a_25_hour_day() -> None:
    period = days("2026-10-24", "2026-10-25", PARIS, NOW)
    assert (period.start, period.end) == (datetime(2026, 10, 23, 22, tzinfo=UTC),
                                          datetime(2026, 10, 25, 23, tzinfo=UTC))
    lengths = [(end - start).total_seconds() / 3600 for _, start, end in site_days(period, PARIS)]
    assert lengths == [24, 25]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: month("2026-13", PARIS, NOW), "is not a month"),
    (lambda: month("2026-1", PARIS, NOW), "is not a month"),
    (lambda: month("2027-01", PARIS, NOW), "has not begun yet"),
    (lambda: days("2026-11-05", "2026-11-04", PARIS, NOW), "is before --from"),
    (lambda: days("2026-12-05", "2026-12-06", PARIS, NOW), "has not begun yet"),
])
def test_bad_periods_say_what_to_write(call: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        call()  # type: ignore[operator]
