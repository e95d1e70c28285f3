"""The daemon's database, read as a test reads it: intervals, outages, the outbox, incidents.

Read with the project's own read-only reader (``watchdog.store.reader.connect``) while the
daemon runs; the ``describe_*`` functions put what is recorded into a failing wait's message.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watchdog.errors import DatabaseError
from watchdog.store.reader import OutageRow, connect, read_outages
from watchdog.store.timetext import from_text
from watchdog.vocabulary import LinkState


@dataclass(frozen=True, slots=True)
class Interval:
    """One row of ``state_interval`` (``ended_at`` None: it holds now)."""

    id: int
    state: LinkState
    cause: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


def read_intervals(database: Path) -> list[Interval]:
    """Every state interval, oldest first (the reader has no query for the whole timeline)."""
    with connect(database) as connection:
        rows = connection.execute(
            "SELECT id, state, cause, started_at, ended_at FROM state_interval "
            "ORDER BY started_at, id"
        ).fetchall()
    return [
        Interval(row[0], row[1], row[2], from_text(row[3]),
                 None if row[4] is None else from_text(row[4]))
        for row in rows
    ]


def find_outage(
    database: Path,
    *,
    ended: bool = False,
    outage_id: int | None = None,
    exclude: Collection[int] = (),
) -> OutageRow | None:
    """The latest outage (``outage_id``: that one) not in ``exclude``, once it exists and, with
    ``ended``, once it has an ``ended_at``; else None."""
    for outage in reversed(read_outages(database, None)):
        if outage.id in exclude or (outage_id is not None and outage.id != outage_id):
            continue
        if ended and outage.ended_at is None:
            return None
        return outage
    return None


def ping_loss_percent(database: Path, since: datetime) -> tuple[int, float | None]:
    """(echo requests sent, percent lost) to the internet ping targets since ``since``, from
    the raw samples the daemon recorded (None when nothing was sent)."""
    with connect(database) as connection:
        sent, received = connection.execute(
            "SELECT COALESCE(SUM(s.sent), 0), COALESCE(SUM(s.received), 0) FROM sample s "
            "JOIN target t ON t.id = s.target_id WHERE t.kind = 'ping' AND s.at_ms >= ?",
            (int(since.timestamp() * 1000),),
        ).fetchone()
    return int(sent), (100.0 * (sent - received) / sent if sent else None)


def describe_database(database: Path) -> str:
    """The timeline and outages in a few lines, for a failing wait's message."""
    lines = ["intervals:"]
    lines += [f"  {i.id} {i.state:<9} {i.started_at:%H:%M:%S.%f} -> "
              f"{'open' if i.ended_at is None else f'{i.ended_at:%H:%M:%S.%f}'}  {i.cause}"
              for i in read_intervals(database)]
    lines.append("outages:")
    lines += [f"  {o.id} {o.kind} {o.started_at:%H:%M:%S.%f} -> "
              f"{'open' if o.ended_at is None else f'{o.ended_at:%H:%M:%S.%f}'} "
              f"unobserved {o.unobserved_seconds:.1f} s  {o.cause}"
              for o in read_outages(database, None)]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of the daemon's outbox."""

    id: int
    key: str
    channel: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    incident_id: int | None
    message_id: str | None
    created_at: datetime
    sent_at: datetime | None
    # The message that carries its news (folded) or replaced it (superseded).
    folded_into: int | None = None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One row of the daemon's incident table (its ticket once ``reference`` is set)."""

    id: int
    kind: str
    reference: str | None
    started_at: datetime
    ended_at: datetime | None
    ticket_opened_at: datetime | None
    cuts: int
    # The name of the link (uplink) whose incident it is.
    link: str | None = None


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def read_outbox_rows(database: Path) -> list[OutboxRow]:
    """Every outbox row, oldest first (none while the tables do not exist yet)."""
    with connect(database) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone() \
                is None:
            return []
        rows = connection.execute(
            "SELECT id, key, channel, event, status, attempts, last_error, incident_id, "
            "message_id, created_at, sent_at, folded_into FROM outbox ORDER BY id").fetchall()
    return [OutboxRow(id=r[0], key=r[1], channel=r[2], event=r[3], status=r[4], attempts=r[5],
                      last_error=r[6], incident_id=r[7], message_id=r[8],
                      created_at=from_text(r[9]), sent_at=_time_or_none(r[10]),
                      folded_into=r[11])
            for r in rows]


def read_incidents(database: Path) -> list[IncidentRow]:
    """Every incident, oldest first (none while the tables do not exist yet)."""
    with connect(database) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'incident'") \
                .fetchone() is None:
            return []
        rows = connection.execute(
            "SELECT i.id, i.kind, i.reference, i.started_at, i.ended_at, i.ticket_opened_at, "
            "i.cuts, l.name FROM incident i LEFT JOIN link l ON l.id = i.link_id "
            "ORDER BY i.started_at, i.id").fetchall()
    return [IncidentRow(id=r[0], kind=r[1], reference=r[2], started_at=from_text(r[3]),
                        ended_at=_time_or_none(r[4]), ticket_opened_at=_time_or_none(r[5]),
                        cuts=r[6], link=r[7])
            for r in rows]


def describe_outbox(database: Path) -> str:
    """The outbox in a few lines, for a failing wait's message."""
    try:
        rows = read_outbox_rows(database)
    except DatabaseError as error:
        return f"outbox: (not readable: {error})"
    return "\n".join(["outbox:", *(
        f"  {row.id} {row.channel:<16} {row.event:<15} {row.status:<10} attempts {row.attempts}"
        f"  {row.last_error or ''}" for row in rows)])
