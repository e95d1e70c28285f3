"""Time per state, unwatched time and availability over a window: a table of histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from watchdog.link.availability import StateSpan, overlap_seconds, time_by_state

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = 3600.0


def hours(value: float) -> datetime:
    return T0 + timedelta(hours=value)


@dataclass(frozen=True)
class Case:
    name: str
    spans: list[tuple[str, float, float]]  # state, start hour, end hour
    window: tuple[float, float] = (0, 24)
    seconds: dict[str, float] = field(default_factory=dict)  # hours; the rest are 0
    unrecorded: float = 0.0  # hours
    unwatched: float = 0.0  # hours
    maintenance: float = 0.0  # hours
    availability: float | None = None
    provider: float | None = None


CASES = [
    Case("nothing recorded", [], unrecorded=24, unwatched=24),
    Case("up all day", [("up", 0, 24)], seconds={"up": 24}, availability=100, provider=100),
    Case("spans cut at the window's edges", [("up", -5, 2), ("down", 2, 30)], window=(0, 4),
         seconds={"up": 2, "down": 2}, availability=50, provider=50),
    Case("degraded counts as available", [("up", 0, 12), ("degraded", 12, 24)],
         seconds={"up": 12, "degraded": 12}, availability=100, provider=100),
    Case("unknown time is left out, not counted up",
         [("up", 0, 20), ("down", 20, 22), ("lan_down", 22, 23), ("unknown", 23, 24)],
         seconds={"up": 20, "down": 2, "lan_down": 1, "unknown": 1}, unwatched=1,
         availability=100 * 20 / 23, provider=100 * 20 / 22),
    Case("a gap with no record is unrecorded and unwatched", [("up", 0, 6), ("up", 18, 24)],
         seconds={"up": 12}, unrecorded=12, unwatched=12, availability=100, provider=100),
    Case("only unknown: no availability", [("unknown", 0, 24)], seconds={"unknown": 24},
         unwatched=24),
    Case("a LAN fault is not the provider's", [("up", 0, 18), ("lan_down", 18, 24)],
         seconds={"up": 18, "lan_down": 6}, availability=75, provider=100),
    Case("only a LAN fault: the provider is not judged", [("lan_down", 0, 24)],
         seconds={"lan_down": 24}, availability=0),
    Case("spans outside the window count for nothing", [("down", -3, 0), ("down", 24, 30)],
         unrecorded=24, unwatched=24),
    Case("maintenance is watched but left out of availability, shown apart",
         [("up", 0, 10), ("maintenance", 10, 14), ("down", 14, 16), ("up", 16, 24)],
         seconds={"up": 18, "maintenance": 4, "down": 2}, maintenance=4,
         availability=100 * 18 / 20, provider=100 * 18 / 20),
    Case("only maintenance: no availability, nothing unwatched", [("maintenance", 0, 24)],
         seconds={"maintenance": 24}, maintenance=24),
    Case("maintenance beside unknown: each shown apart",
         [("unknown", 0, 2), ("maintenance", 2, 6), ("up", 6, 24)],
         seconds={"unknown": 2, "maintenance": 4, "up": 18}, unwatched=2, maintenance=4,
         availability=100, provider=100),
    Case("a newer database's word is kept and not watched",
         [("up", 0, 12), ("satellite_lost", 12, 24)], seconds={"up": 12, "satellite_lost": 12},
         unwatched=12, availability=100, provider=100),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_time_by_state(case: Case) -> None:
    spans = [StateSpan(state, hours(start), hours(end)) for state, start, end in case.spans]
    time = time_by_state(spans, hours(case.window[0]), hours(case.window[1]))
    expected = dict.fromkeys(
        ("up", "degraded", "down", "lan_down", "unknown", "maintenance"), 0.0)
    expected.update({state: value * HOUR for state, value in case.seconds.items()})
    assert dict(time.seconds) == expected
    assert time.unrecorded_seconds == case.unrecorded * HOUR
    assert time.unwatched_seconds == case.unwatched * HOUR
    assert time.maintenance_seconds == case.maintenance * HOUR
    assert time.watched_seconds + time.maintenance_seconds + time.unwatched_seconds == (
        time.window_seconds)
    assert time.available_seconds + time.unavailable_seconds == time.watched_seconds
    assert time.availability == pytest.approx(case.availability)
    assert time.provider_availability == pytest.approx(case.provider)


@pytest.mark.parametrize(("window", "span", "seconds"), [
    ((0, 4), (1, 2), HOUR),        # inside
    ((0, 4), (-1, 1), HOUR),       # across the start
    ((0, 4), (3, 9), HOUR),        # across the end
    ((0, 4), (-1, 9), 4 * HOUR),   # over the whole window
    ((0, 4), (4, 5), 0.0),         # touching the end: nothing inside
    ((0, 4), (-2, -1), 0.0),       # before
])
def test_overlap_seconds(window: tuple[float, float], span: tuple[float, float],
                         seconds: float) -> None:
    assert overlap_seconds(hours(window[0]), hours(window[1]),
                           hours(span[0]), hours(span[1])) == seconds
