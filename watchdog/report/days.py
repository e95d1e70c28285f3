"""The period day by day, in the site's zone: time per state, the state that marks the day,
loss and latency. Pure: the readers' rows come in as arguments."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from watchdog.link.availability import StateSpan, TimeByState, time_by_state
from watchdog.store.report_reader import HourQuality

# The state a day is shown in: the worst one that held for a while, in this order.
_DAY_COLOURS = ("lan_down", "down", "degraded", "up")
# A state shorter than this does not colour a whole day (a 10-second blip is not a red day).
NOTICEABLE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Day:
    """One calendar day of the site: ``time`` per state; ``mark``, the state to show it in
    (``unknown`` when nothing was watched); loss and the median of the hourly mean round trips
    of its ping targets (None without roll-ups)."""

    day: date
    time: TimeByState
    mark: str
    sent: int
    lost: int
    median_rtt_ms: float | None

    @property
    def loss_percent(self) -> float | None:
        return None if not self.sent else 100.0 * self.lost / self.sent


def _mark(time: TimeByState) -> str:
    for state in _DAY_COLOURS:
        if time.seconds.get(state, 0.0) >= min(NOTICEABLE_SECONDS, time.window_seconds):
            return state
    watched = [state for state in _DAY_COLOURS if time.seconds.get(state, 0.0) > 0]
    return watched[-1] if watched else "unknown"


def split(
    spans: Sequence[StateSpan],
    hours: Iterable[HourQuality],
    days: Sequence[tuple[date, datetime, datetime]],
) -> list[Day]:
    """One ``Day`` per (day, start, end) of ``days`` (``period.site_days``), from the state
    spans and the hourly roll-ups of the period."""
    by_day: dict[date, list[HourQuality]] = {day: [] for day, _, _ in days}
    bounds = [(day, start, end) for day, start, end in days]
    for hour in hours:
        for day, start, end in bounds:
            if start <= hour.hour_start < end:
                by_day[day].append(hour)
                break
    found = []
    for day, start, end in days:
        time = time_by_state(spans, start, end)
        quality = by_day[day]
        means = [hour.mean_rtt_ms for hour in quality if hour.mean_rtt_ms is not None]
        found.append(Day(
            day=day, time=time, mark=_mark(time),
            sent=sum(hour.sent for hour in quality), lost=sum(hour.lost for hour in quality),
            median_rtt_ms=statistics.median(means) if means else None,
        ))
    return found
