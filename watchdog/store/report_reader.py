"""The figures of a period's report (``watchdog report``), stdlib ``sqlite3`` only.

Every query is bounded by the period through an index, so a month costs what a month
holds, whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watchdog.store.reader import connect
from watchdog.store.timetext import from_text, to_text
from watchdog.vocabulary import LINK_STATES


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


@dataclass(frozen=True, slots=True)
class PeriodReport:
    start: datetime
    end: datetime
    # Seconds per state inside the period; "unwatched" is time with no record at all.
    seconds: dict[str, float]
    outages: tuple[ReportOutage, ...]
    blips: int

    @property
    def watched_seconds(self) -> float:
        return sum(self.seconds[state] for state in ("up", "degraded", "down", "lan_down"))

    @property
    def availability(self) -> float | None:
        """Up or degraded, over the watched time (unknown time is left out, not counted up)."""
        watched = self.watched_seconds
        if not watched:
            return None
        return 100.0 * (self.seconds["up"] + self.seconds["degraded"]) / watched

    @property
    def provider_availability(self) -> float | None:
        """As ``availability``, but LAN faults (the office's own) are left out too."""
        judged = self.watched_seconds - self.seconds["lan_down"]
        if not judged:
            return None
        return 100.0 * (self.seconds["up"] + self.seconds["degraded"]) / judged


def _overlap(start: datetime, end: datetime, began: datetime, ended: datetime) -> float:
    return max(0.0, (min(end, ended) - max(start, began)).total_seconds())


def read_period(path: Path, start: datetime, end: datetime, now: datetime) -> PeriodReport:
    """The report of [``start``, ``end``) as known at ``now``. Raises ``DatabaseError``."""
    seconds = dict.fromkeys((*LINK_STATES, "unwatched"), 0.0)
    until = min(end, now)
    with connect(Path(path)) as connection:
        heartbeat = connection.execute(
            "SELECT last_cycle_at, clean_shutdown FROM daemon WHERE id = 1").fetchone()
        rows = connection.execute(
            "SELECT state, started_at, ended_at FROM state_interval "
            "WHERE ended_at > ? AND started_at < ? "
            "UNION ALL SELECT state, started_at, ended_at FROM state_interval "
            "WHERE ended_at IS NULL AND started_at < ?",
            (to_text(start), to_text(until), to_text(until))).fetchall()
        # The open interval holds until the last heartbeat (after it, nobody watched).
        open_until = from_text(heartbeat[0]) if heartbeat else now
        for state, began, ended in rows:
            stop = from_text(ended) if ended is not None else open_until
            seconds[state] += _overlap(start, until, from_text(began), stop)
        has_incidents = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'incident'").fetchone() is not None
        join = ("LEFT JOIN incident i ON i.id = o.incident_id" if has_incidents else "")
        extra = ("i.reference, i.gtr_breached, i.reminders_sent" if has_incidents
                 else "NULL, 0, 0")
        outage_rows = connection.execute(
            f"SELECT o.id, o.kind, o.started_at, o.ended_at, o.cause, o.unobserved_seconds, "
            f"{extra} FROM outage o {join} "
            "WHERE (o.ended_at > ? OR o.ended_at IS NULL) AND o.started_at < ? "
            "ORDER BY o.started_at, o.id", (to_text(start), to_text(until))).fetchall()
        blips = connection.execute(
            "SELECT count(*) FROM blip WHERE ended_at >= ? AND started_at < ?",
            (to_text(start), to_text(until))).fetchone()[0]
    observed = sum(seconds.values())
    seconds["unwatched"] = max(0.0, (until - start).total_seconds() - observed)
    outages = tuple(
        ReportOutage(
            id=row[0], kind=row[1], started_at=from_text(row[2]),
            ended_at=None if row[3] is None else from_text(row[3]),
            seconds_in_period=_overlap(start, until, from_text(row[2]),
                                       from_text(row[3]) if row[3] else now),
            cause=row[4], unobserved_seconds=row[5], reference=row[6],
            gtr_breached=bool(row[7]), reminders_sent=row[8] or 0,
        )
        for row in outage_rows
    )
    return PeriodReport(start=start, end=until, seconds=seconds, outages=outages, blips=blips)
