"""Forgetting: raw samples after ``raw_retention``, minute summaries after ``minute_retention``.

Hour summaries, intervals, outages and blips are kept forever, and so are the raw samples
within ``evidence_margin`` of every outage (from ``margin`` before its start to ``margin`` after
its end, the outage itself included): they are its evidence. Nothing is deleted before it is
rolled up. A watermark keeps each pass to the newly expired slice, so the cost does not grow
with the evidence kept behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlmodel import Session, col, or_, select

from watchdog.clock import from_ms, to_ms
from watchdog.config.schema import StorageConfig
from watchdog.store.models import Outage, Watermark
from watchdog.store.rollup import MINUTE_MS, first_sample_ms, floor_to

_DELETE_SAMPLES = "DELETE FROM sample WHERE at_ms >= ? AND at_ms < ?"
_DELETE_MINUTES = "DELETE FROM sample_minute WHERE minute_ms < ?"


def _ms(span: timedelta) -> int:
    return round(span.total_seconds() * 1000)


def evidence_windows(
    session: Session, start_ms: int, end_ms: int, margin: timedelta
) -> list[tuple[int, int | None]]:
    """Sample time ranges to keep, [from, to) in epoch ms (to None: the outage is still open),
    for the outages whose window meets [``start_ms``, ``end_ms``), sorted by start."""
    margin_ms = _ms(margin)
    outages = session.exec(
        select(Outage).where(
            or_(
                col(Outage.ended_at).is_(None),
                col(Outage.ended_at) >= from_ms(start_ms - margin_ms),
            ),
            col(Outage.started_at) < from_ms(end_ms + margin_ms),
        )
    ).all()
    windows: list[tuple[int, int | None]] = []
    for outage in outages:
        low = to_ms(outage.started_at) - margin_ms
        high = None if outage.ended_at is None else to_ms(outage.ended_at) + margin_ms + 1
        windows.append((low, high))
    return sorted(windows, key=lambda window: window[0])


def purge(session: Session, mark: Watermark, now: datetime, storage: StorageConfig) -> None:
    """Delete what has expired at ``now`` (see the module doc) and move the watermark on."""
    connection = session.connection()
    _purge_raw(session, connection, mark, now, storage)
    if mark.hour_until_ms is not None:
        cutoff = floor_to(to_ms(now - storage.minute_retention), MINUTE_MS)
        connection.exec_driver_sql(_DELETE_MINUTES, (min(cutoff, mark.hour_until_ms),))


def _purge_raw(
    session: Session,
    connection: Connection,
    mark: Watermark,
    now: datetime,
    storage: StorageConfig,
) -> None:
    if mark.minute_until_ms is None:
        return
    cutoff = min(to_ms(now - storage.raw_retention), mark.minute_until_ms)
    start = mark.raw_purged_until_ms
    if start is None:
        start = first_sample_ms(connection)
        if start is None:
            return
    if start >= cutoff:
        return
    stop = cutoff
    windows = evidence_windows(session, start, cutoff, storage.evidence_margin)
    for low, high in windows:
        if high is None:
            # An open outage's evidence is still growing: purge nothing from its window on,
            # and keep the watermark before it so what follows its end is purged later.
            stop = min(stop, low)
    position = start
    for low, high in windows:
        if position >= stop:
            break
        if low > position:
            connection.exec_driver_sql(_DELETE_SAMPLES, (position, min(low, stop)))
        position = max(position, high if high is not None else stop)
    if position < stop:
        connection.exec_driver_sql(_DELETE_SAMPLES, (position, stop))
    mark.raw_purged_until_ms = max(start, stop)
