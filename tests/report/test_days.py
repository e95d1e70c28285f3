"""The period day by day: time per state, the state a day is shown in, loss and latency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from watchdog.link.availability import StateSpan
from watchdog.report.days import split
from watchdog.store.report_reader import HourQuality

D1 = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
DAYS = [(date(2026, 11, 2), D1, D1 + DAY), (date(2026, 11, 3), D1 + DAY, D1 + 2 * DAY)]


def test_a_day_is_shown_in_its_worst_state_that_lasted_a_minute() -> None:
    spans = [
        StateSpan("up", D1, D1 + 10 * HOUR),
        StateSpan("down", D1 + 10 * HOUR, D1 + 10 * HOUR + timedelta(seconds=30)),  # a blip-long
        StateSpan("up", D1 + 10 * HOUR + timedelta(seconds=30), D1 + DAY + HOUR),
        StateSpan("lan_down", D1 + DAY + HOUR, D1 + DAY + 2 * HOUR),
        StateSpan("down", D1 + DAY + 2 * HOUR, D1 + DAY + 3 * HOUR),
        StateSpan("up", D1 + DAY + 3 * HOUR, D1 + 2 * DAY),
    ]
    first, second = split(spans, [], DAYS)
    assert first.mark == "up" and first.time.seconds["down"] == 30
    assert second.mark == "lan_down"  # the office's own fault hides the rest
    assert second.time.seconds["down"] == 3600


def test_a_day_nobody_watched_is_unknown_and_its_quality_comes_from_the_hours() -> None:
    hours = [HourQuality(D1 + k * HOUR, sent=100, lost=lost, mean_rtt_ms=rtt)
             for k, (lost, rtt) in enumerate([(0, 10.0), (5, 30.0), (1, 20.0), (100, None)])]
    first, second = split([], hours, DAYS)
    assert (first.mark, second.mark) == ("unknown", "unknown")
    assert (first.sent, first.lost, first.loss_percent) == (400, 106, 26.5)
    assert first.median_rtt_ms == 20.0  # median of the hourly means that had one
    assert (second.sent, second.loss_percent, second.median_rtt_ms) == (0, None, None)
