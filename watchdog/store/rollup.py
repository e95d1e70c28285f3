"""Per-minute and per-hour summaries of the samples, rolled up once each behind a watermark.

A minute is rolled up when it ended at least ``ROLLUP_DELAY`` ago (a cycle's samples are written
when the cycle finishes, a few seconds after they were taken); an hour once all its minutes are.
Minutes come from the raw samples, hours from the minutes; RTT keeps sum and count rather than
a rounded mean, so an hour's mean is exact. A sample written for a time already rolled up
(only after a backwards clock step) is not counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlmodel import Session

from watchdog.clock import to_ms
from watchdog.store.models import Watermark

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
ROLLUP_DELAY = timedelta(minutes=1)

_ROLL_MINUTES = """
INSERT OR REPLACE INTO sample_minute
    (minute_ms, target_id, samples, failures, sent, lost,
     rtt_min_us, rtt_max_us, rtt_sum_us, rtt_samples)
SELECT (at_ms / 60000) * 60000, target_id, count(*), sum(ok = 0), sum(sent), sum(sent - received),
       min(rtt_us), max(rtt_us), sum(rtt_us), count(rtt_us)
FROM sample
WHERE at_ms >= ? AND at_ms < ?
GROUP BY 1, 2
"""

_ROLL_HOURS = """
INSERT OR REPLACE INTO sample_hour
    (hour_ms, target_id, samples, failures, sent, lost,
     rtt_min_us, rtt_max_us, rtt_sum_us, rtt_samples)
SELECT (minute_ms / 3600000) * 3600000, target_id, sum(samples), sum(failures), sum(sent),
       sum(lost), min(rtt_min_us), max(rtt_max_us), sum(rtt_sum_us), sum(rtt_samples)
FROM sample_minute
WHERE minute_ms >= ? AND minute_ms < ?
GROUP BY 1, 2
"""


def floor_to(ms: int, step: int) -> int:
    """``ms`` rounded down to a multiple of ``step``."""
    return ms - ms % step


def watermark(session: Session) -> Watermark:
    """The maintenance progress row, created on first use."""
    mark = session.get(Watermark, 1)
    if mark is None:
        mark = Watermark(id=1)
        session.add(mark)
    return mark


def first_sample_ms(connection: Connection) -> int | None:
    """Time of the oldest sample (a primary-key lookup), None when there is none."""
    value = connection.exec_driver_sql("SELECT min(at_ms) FROM sample").scalar()
    return None if value is None else int(value)


def roll_up(connection: Connection, mark: Watermark, now: datetime) -> None:
    """Summarise the minutes and hours completed since the watermark and move it on."""
    boundary = floor_to(to_ms(now - ROLLUP_DELAY), MINUTE_MS)
    start = mark.minute_until_ms
    if start is None:
        first = first_sample_ms(connection)
        if first is None:
            return
        start = floor_to(first, MINUTE_MS)
    if start < boundary:
        connection.exec_driver_sql(_ROLL_MINUTES, (start, boundary))
        mark.minute_until_ms = boundary
    if mark.minute_until_ms is None:
        return
    hour_start = mark.hour_until_ms
    if hour_start is None:
        first_minute = connection.exec_driver_sql(
            "SELECT min(minute_ms) FROM sample_minute"
        ).scalar()
        if first_minute is None:
            return
        hour_start = floor_to(int(first_minute), HOUR_MS)
    hour_boundary = floor_to(mark.minute_until_ms, HOUR_MS)
    if hour_start < hour_boundary:
        connection.exec_driver_sql(_ROLL_HOURS, (hour_start, hour_boundary))
        mark.hour_until_ms = hour_boundary
