"""Maintenance windows as a calendar: one-off and weekly windows, DST, midnight, links, merging.

Every expected instant is worked out by hand in UTC; the site is in Europe/Paris (UTC+1 in
winter, UTC+2 in summer; 2026's changes: Sunday 29 March 02:00 → 03:00, Sunday 25 October
03:00 → 02:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from watchdog.config.schema import MaintenanceConfig
from watchdog.link.maintenance_windows import (
    MaintenanceSpan,
    MaintenanceWindow,
    OneOffWindow,
    WeeklyWindow,
    WindowProblem,
    maintenance_spans,
    parse_days,
    parse_moment,
    parse_time_of_day,
    span_at,
    window_at,
    window_from_config,
    windows_between,
)

PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> datetime:
    """``"2026-12-06 01:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def weekly(days: str, start: str, end: str, reason: str = "works",
           link: str | None = None) -> WeeklyWindow:
    return WeeklyWindow(parse_days(days.split(",")), parse_time_of_day(start),
                        parse_time_of_day(end), PARIS, reason=reason, link=link)


def one_off(start: str, end: str, reason: str = "works", link: str | None = None) -> OneOffWindow:
    return OneOffWindow(utc(start), utc(end), reason=reason, link=link)


def spans_of(windows: list[MaintenanceWindow], start: str, end: str,
             link: str | None = None) -> list[tuple[datetime, datetime]]:
    return [(occurrence.start, occurrence.end)
            for occurrence in windows_between(windows, utc(start), utc(end), link=link)]


# --- occurrences ---------------------------------------------------------------------------

@pytest.mark.parametrize(("window", "period", "expected"), [
    pytest.param(one_off("2026-12-06 01:00", "2026-12-06 04:00"),
                 ("2026-12-06 00:00", "2026-12-07 00:00"),
                 [("2026-12-06 01:00", "2026-12-06 04:00")], id="one-off inside the period"),
    pytest.param(one_off("2026-12-06 01:00", "2026-12-06 04:00"),
                 ("2026-12-06 03:00", "2026-12-06 05:00"),
                 [("2026-12-06 01:00", "2026-12-06 04:00")], id="one-off returned whole, not cut"),
    pytest.param(one_off("2026-12-06 01:00", "2026-12-06 04:00"),
                 ("2026-12-06 04:00", "2026-12-06 05:00"), [],
                 id="one-off ending as the period begins does not overlap it"),
    pytest.param(weekly("Sun", "02:00", "04:00"), ("2026-11-30 00:00", "2026-12-14 00:00"),
                 [("2026-12-06 01:00", "2026-12-06 03:00"),
                  ("2026-12-13 01:00", "2026-12-13 03:00")], id="weekly in winter: UTC+1"),
    pytest.param(weekly("Sun", "02:00", "04:00"), ("2026-06-01 00:00", "2026-06-08 00:00"),
                 [("2026-06-07 00:00", "2026-06-07 02:00")], id="weekly in summer: UTC+2"),
    pytest.param(weekly("Sun", "02:00", "04:00"), ("2026-03-28 00:00", "2026-03-30 00:00"),
                 # 02:00 does not exist that night: the works run 03:00-04:00 CEST, one hour.
                 [("2026-03-29 01:00", "2026-03-29 02:00")], id="spring-forward Sunday: 1 h"),
    pytest.param(weekly("Sun", "02:00", "04:00"), ("2026-10-24 00:00", "2026-10-26 00:00"),
                 # 02:00 CEST (its first occurrence) to 04:00 CET: three hours of real time.
                 [("2026-10-25 00:00", "2026-10-25 03:00")], id="fall-back Sunday: 3 h"),
    pytest.param(weekly("Sat", "22:00", "02:00"), ("2026-12-05 00:00", "2026-12-07 00:00"),
                 [("2026-12-05 21:00", "2026-12-06 01:00")], id="crossing midnight"),
    pytest.param(weekly("Sat", "22:00", "02:00"), ("2026-12-06 00:00", "2026-12-06 12:00"),
                 [("2026-12-05 21:00", "2026-12-06 01:00")],
                 id="begun the day before the period"),
    pytest.param(weekly("Sat", "22:00", "24:00"), ("2026-12-05 00:00", "2026-12-07 00:00"),
                 [("2026-12-05 21:00", "2026-12-05 23:00")], id="until midnight, written 24:00"),
    pytest.param(weekly("Wed", "12:00", "12:00"), ("2026-12-01 00:00", "2026-12-04 00:00"),
                 [("2026-12-02 11:00", "2026-12-03 11:00")], id="end equal to start: a day"),
    pytest.param(weekly("Mon-Fri", "12:00", "13:00"), ("2026-12-05 00:00", "2026-12-09 00:00"),
                 [("2026-12-07 11:00", "2026-12-07 12:00"),
                  ("2026-12-08 11:00", "2026-12-08 12:00")], id="a range of days"),
    pytest.param(weekly("Fri-Mon", "12:00", "13:00"), ("2026-12-03 00:00", "2026-12-09 00:00"),
                 [("2026-12-04 11:00", "2026-12-04 12:00"),
                  ("2026-12-05 11:00", "2026-12-05 12:00"),
                  ("2026-12-06 11:00", "2026-12-06 12:00"),
                  ("2026-12-07 11:00", "2026-12-07 12:00")], id="a range across the week's end"),
])
def test_windows_between(window: MaintenanceWindow, period: tuple[str, str],
                         expected: list[tuple[str, str]]) -> None:
    assert spans_of([window], *period) == [(utc(start), utc(end)) for start, end in expected]


def test_a_windows_link_limits_it_and_no_link_means_every_link() -> None:
    windows: list[MaintenanceWindow] = [
        one_off("2026-12-06 01:00", "2026-12-06 02:00", link="fibre"),
        one_off("2026-12-06 03:00", "2026-12-06 04:00", link="4g"),
        one_off("2026-12-06 05:00", "2026-12-06 06:00"),
    ]
    period = ("2026-12-06 00:00", "2026-12-07 00:00")
    assert [start.hour for start, _ in spans_of(windows, *period, link="fibre")] == [1, 5]
    assert [start.hour for start, _ in spans_of(windows, *period, link="4g")] == [3, 5]
    assert [start.hour for start, _ in spans_of(windows, *period)] == [1, 3, 5]


@pytest.mark.parametrize(("instant", "holds"), [
    ("2026-12-06 00:59:59", False),
    ("2026-12-06 01:00:00", True),   # the start belongs to the window
    ("2026-12-06 02:59:59", True),
    ("2026-12-06 03:00:00", False),  # the end does not
])
def test_window_at_includes_the_start_and_excludes_the_end(instant: str, holds: bool) -> None:
    found = window_at([weekly("Sun", "02:00", "04:00")], utc(instant), link="default")
    assert (found is not None) == holds


def test_window_at_prefers_the_window_that_ends_last() -> None:
    short = one_off("2026-12-06 01:00", "2026-12-06 02:00", "short")
    long = one_off("2026-12-06 00:30", "2026-12-06 05:00", "long")
    found = window_at([short, long], utc("2026-12-06 01:30"), link=None)
    assert found is not None and found.window is long


# --- merged spans ----------------------------------------------------------------------------

def test_overlapping_and_touching_windows_make_one_span_cut_to_the_period() -> None:
    windows: list[MaintenanceWindow] = [
        one_off("2026-12-06 01:00", "2026-12-06 03:00", "fibre works"),
        one_off("2026-12-06 02:00", "2026-12-06 04:00", "router swap"),
        one_off("2026-12-06 04:00", "2026-12-06 05:00", "fibre works"),  # touches: same span
        one_off("2026-12-06 06:00", "2026-12-06 07:00", "tests"),
    ]
    spans = maintenance_spans(windows, utc("2026-12-06 01:30"), utc("2026-12-06 06:30"),
                              link="default")
    assert spans == [
        MaintenanceSpan(utc("2026-12-06 01:30"), utc("2026-12-06 05:00"),
                        ("fibre works", "router swap")),
        MaintenanceSpan(utc("2026-12-06 06:00"), utc("2026-12-06 06:30"), ("tests",)),
    ]
    assert spans[0].reason == "fibre works; router swap"


def test_span_at_follows_a_chain_of_touching_windows_whole() -> None:
    windows: list[MaintenanceWindow] = [
        weekly("Sat", "22:00", "24:00", "night works"),
        weekly("Sun", "00:00", "06:00", "night works"),
    ]
    span = span_at(windows, utc("2026-12-06 03:00"), link="default")
    assert span == MaintenanceSpan(utc("2026-12-05 21:00"), utc("2026-12-06 05:00"),
                                   ("night works",))
    assert span_at(windows, utc("2026-12-06 05:00"), link="default") is None


# --- what people write -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-06 02:00", "2026-12-06 01:00"),          # the site's time, winter
    ("2026-07-06 02:00", "2026-07-06 00:00"),          # the site's time, summer
    ("2026-12-06T02:00+00:00", "2026-12-06 02:00"),    # its own offset wins
    ("2026-12-06T02:00Z", "2026-12-06 02:00"),
    ("2026-12-06", "2026-12-05 23:00"),                # a date: midnight, site's time
])
def test_parse_moment(text: str, expected: str) -> None:
    assert parse_moment(text, PARIS) == utc(expected)


@pytest.mark.parametrize(("parse", "text", "message"), [
    (lambda text: parse_moment(text, PARIS), "06/12/2026", "is not a date and time"),
    (parse_time_of_day, "2h", "is not a time of day"),
    (parse_time_of_day, "25:00", "is not a time of day"),
    (lambda text: parse_days([text]), "Sunday-ish", "is not a day"),
])
def test_what_cannot_be_read_is_one_sentence_with_the_way_to_write_it(
    parse: object, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)  # type: ignore[operator]


def test_days_are_read_in_any_case_short_or_full() -> None:
    assert parse_days(["sun", "Saturday", "MON"]) == frozenset({6, 5, 0})


def test_a_config_entry_with_days_is_weekly_else_one_off() -> None:
    weekly_window = window_from_config(
        MaintenanceConfig(start="02:00", end="04:00", reason="updates", days=["Sun"]), PARIS, 1)
    assert weekly_window == WeeklyWindow(frozenset({6}), time(2), time(4), PARIS,
                                         reason="updates", key="config:1")
    one = window_from_config(
        MaintenanceConfig(start="2026-12-06 02:00", end="2026-12-06 05:00", reason="fibre",
                          link="default"), PARIS, 2)
    assert one == OneOffWindow(utc("2026-12-06 01:00"), utc("2026-12-06 04:00"),
                               reason="fibre", link="default", key="config:2")
    assert one.ends_at - one.starts_at == timedelta(hours=3)


@pytest.mark.parametrize(("entry", "key", "message"), [
    (MaintenanceConfig(start="2026-12-06 05:00", end="2026-12-06 02:00", reason="x"), "end",
     "is not after start"),
    (MaintenanceConfig(start="02:00", end="04:00", reason="x"), "start",
     "is not a date and time"),
    (MaintenanceConfig(start="2026-12-06 02:00", end="04:00", reason="x", days=["Sun"]),
     "start", "is not a time of day"),
    (MaintenanceConfig(start="02:00", end="04:00", reason="x", days=["Sonntag"]), "days",
     "is not a day"),
    (MaintenanceConfig(start="02:00", end="04:00", reason=" ", days=["Sun"]), "reason",
     "is empty"),
])
def test_a_config_entry_that_cannot_be_read_names_its_key(
    entry: MaintenanceConfig, key: str, message: str
) -> None:
    with pytest.raises(WindowProblem, match=message) as caught:
        window_from_config(entry, PARIS, 1)
    assert caught.value.key == key
