"""The figures of a period's report (``watchdog report``), stdlib ``sqlite3`` only.

Every query is bounded by the period through an index, so a month costs what a month
holds, whatever the length of the history. The arithmetic on what the queries return (time
per state, availability) is ``watchdog.link.availability``'s.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watchdog.clock import from_ms, to_ms
from watchdog.link.availability import StateSpan, TimeByState, overlap_seconds, time_by_state
from watchdog.store.reader import connect
from watchdog.store.timetext import from_text, to_text
from watchdog.vocabulary import DEFAULT_LINK


@dataclass(frozen=True, slots=True)
class ReportOutage:
    id: int
    kind: str
    started_at: datetime
    ended_at: datetime | None
    seconds_in_period: float
    cause: str
    unobserved_seconds: float
    reference: str | None
    gtr_breached: bool
    reminders_sent: int
    # The provider's own reference for the ticket (``watchdog ticket provider-ref``).
    provider_ref: str | None = None
    # The brackets of its start and end: the last probe before, the first that saw it.
    start_after: datetime | None = None
    start_by: datetime | None = None
    end_after: datetime | None = None
    end_by: datetime | None = None


@dataclass(frozen=True, slots=True)
class PeriodReport:
    """The period [``start``, ``end``) (``end`` no later than the report's ``now``)."""

    time: TimeByState
    outages: tuple[ReportOutage, ...]
    blips: int
    # The state intervals touching the period (an open one cut at the last heartbeat).
    spans: tuple[StateSpan, ...] = ()

    @property
    def start(self) -> datetime:
        return self.time.start

    @property
    def end(self) -> datetime:
        return self.time.end

    @property
    def seconds(self) -> dict[str, float]:
        """Seconds per state inside the period, then "unwatched": time with no record at all."""
        return {**self.time.seconds, "unwatched": self.time.unrecorded_seconds}

    @property
    def watched_seconds(self) -> float:
        return self.time.watched_seconds

    @property
    def availability(self) -> float | None:
        """Up or degraded, over the watched time (unknown time is left out, not counted up)."""
        return self.time.availability

    @property
    def provider_availability(self) -> float | None:
        """As ``availability``, but LAN faults (the office's own) are left out too."""
        return self.time.provider_availability


def _time(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def _spans(connection: sqlite3.Connection, link: str, start: datetime, until: datetime,
           now: datetime) -> tuple[int | None, list[StateSpan]]:
    """The link's id (None: never watched) and its state intervals touching [start, until)."""
    heartbeat = connection.execute(
        "SELECT id, last_cycle_at FROM link WHERE name = ?", (link,)).fetchone()
    # A link never watched has no row: NULL matches nothing, so every query is empty.
    link_id = None if heartbeat is None else heartbeat[0]
    rows = connection.execute(
        "SELECT state, started_at, ended_at FROM state_interval "
        "WHERE link_id = ? AND ended_at > ? AND started_at < ? "
        "UNION ALL SELECT state, started_at, ended_at FROM state_interval "
        "WHERE link_id = ? AND ended_at IS NULL AND started_at < ?",
        (link_id, to_text(start), to_text(until), link_id, to_text(until))).fetchall()
    # The open interval holds until the last heartbeat (after it, nobody watched).
    open_until = from_text(heartbeat[1]) if heartbeat else now
    return link_id, [
        StateSpan(state, from_text(began), from_text(ended) if ended is not None else open_until)
        for state, began, ended in rows
    ]


def read_spans(
    path: Path, start: datetime, end: datetime, now: datetime, *, link: str = DEFAULT_LINK
) -> list[StateSpan]:
    """The link's state intervals touching [``start``, ``end``) as known at ``now`` (an open
    one until the last heartbeat). Raises ``DatabaseError``."""
    with connect(Path(path)) as connection:
        return _spans(connection, link, start, min(end, now), now)[1]


def read_period(
    path: Path, start: datetime, end: datetime, now: datetime, *, link: str = DEFAULT_LINK
) -> PeriodReport:
    """The report of [``start``, ``end``) of the link called ``link`` as known at ``now``.

    Raises ``DatabaseError``.
    """
    until = min(end, now)
    with connect(Path(path)) as connection:
        link_id, spans = _spans(connection, link, start, until, now)
        outage_rows = connection.execute(
            "SELECT o.id, o.kind, o.started_at, o.ended_at, o.cause, o.unobserved_seconds, "
            "i.reference, i.gtr_breached, i.reminders_sent, i.provider_ref, o.start_after, "
            "o.start_by, o.end_after, o.end_by "
            "FROM outage o LEFT JOIN incident i ON i.id = o.incident_id "
            "WHERE o.link_id = ? AND (o.ended_at > ? OR o.ended_at IS NULL) "
            "AND o.started_at < ? ORDER BY o.started_at, o.id",
            (link_id, to_text(start), to_text(until))).fetchall()
        blips = connection.execute(
            "SELECT count(*) FROM blip WHERE link_id = ? AND ended_at >= ? AND started_at < ?",
            (link_id, to_text(start), to_text(until))).fetchone()[0]
    outages = tuple(
        ReportOutage(
            id=row[0], kind=row[1], started_at=from_text(row[2]),
            ended_at=None if row[3] is None else from_text(row[3]),
            seconds_in_period=overlap_seconds(start, until, from_text(row[2]),
                                              from_text(row[3]) if row[3] else now),
            cause=row[4], unobserved_seconds=row[5], reference=row[6],
            gtr_breached=bool(row[7]), reminders_sent=row[8] or 0, provider_ref=row[9],
            start_after=_time(row[10]), start_by=_time(row[11]), end_after=_time(row[12]),
            end_by=_time(row[13]),
        )
        for row in outage_rows
    )
    return PeriodReport(time=time_by_state(spans, start, until), outages=outages, blips=blips,
                        spans=tuple(spans))


@dataclass(frozen=True, slots=True)
class HourQuality:
    """The link's ping targets over one hour, from the hourly roll-up: echo requests sent and
    lost, and the mean round trip (None when nothing answered)."""

    hour_start: datetime
    sent: int
    lost: int
    mean_rtt_ms: float | None


# One row per hour (minute) of the period: a range on the roll-up's primary key (time first).
_QUALITY = (
    "SELECT h.{column}, sum(h.sent), sum(h.lost), sum(h.rtt_sum_us), sum(h.rtt_samples) "
    "FROM {table} h JOIN target t ON t.id = h.target_id "
    "WHERE h.{column} >= ? AND h.{column} < ? AND t.kind = 'ping' "
    "AND t.link_id = (SELECT id FROM link WHERE name = ?) "
    "GROUP BY h.{column} ORDER BY h.{column}"
)
_HOURS = _QUALITY.format(table="sample_hour", column="hour_ms")
_MINUTES = _QUALITY.format(table="sample_minute", column="minute_ms")


def _quality(path: Path, query: str, start: datetime, end: datetime,
             link: str) -> list[HourQuality]:
    with connect(Path(path)) as connection:
        rows = connection.execute(query, (to_ms(start), to_ms(end), link)).fetchall()
    return [
        HourQuality(from_ms(hour_ms), sent or 0, lost or 0,
                    None if not rtt_samples else rtt_sum_us / rtt_samples / 1000)
        for hour_ms, sent, lost, rtt_sum_us, rtt_samples in rows
    ]


def read_hours(
    path: Path, start: datetime, end: datetime, *, link: str = DEFAULT_LINK
) -> list[HourQuality]:
    """The hourly loss and mean round trip of the link's ping targets in [``start``, ``end``),
    from the roll-ups (kept forever; an hour appears once it has been rolled up, a minute or
    two after it ends). Raises ``DatabaseError``."""
    return _quality(path, _HOURS, start, end, link)


def read_minutes(
    path: Path, start: datetime, end: datetime, *, link: str = DEFAULT_LINK
) -> list[HourQuality]:
    """As ``read_hours``, minute by minute (``hour_start`` is then the minute's start), from
    the minute roll-ups (kept ``storage.minute_retention``; a minute appears once rolled
    up). Raises ``DatabaseError``."""
    return _quality(path, _MINUTES, start, end, link)
