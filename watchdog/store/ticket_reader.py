"""Read-only queries on tickets and the outbox, for the CLI (stdlib ``sqlite3`` only)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from watchdog.errors import EX_USAGE, DatabaseError, UserError
from watchdog.store.reader import connect
from watchdog.store.timetext import from_text, to_text
from watchdog.vocabulary import DEFAULT_LINK, QUEUED_STATUSES, UNDELIVERED_STATUSES

# The outbox's statuses, as SQL lists.
_QUEUED = ", ".join(f"'{status}'" for status in QUEUED_STATUSES)
_UNDELIVERED = ", ".join(f"'{status}'" for status in UNDELIVERED_STATUSES)
_INCIDENT_COLUMNS = (
    "id, reference, kind, started_at, ended_at, ticket_opened_at, closed_at, closed_by, "
    "acked_at, steps_done, reminders_sent, gtr_breached, cuts, cause, provider_ref, "
    "provider_ref_at"
)


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    reference: str | None
    kind: str
    started_at: datetime
    ended_at: datetime | None
    ticket_opened_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    acked_at: datetime | None
    reminders_sent: int
    gtr_breached: bool
    cuts: int
    cause: str
    pending_messages: int
    # The provider's own reference for the ticket, and when the provider gave it.
    provider_ref: str | None = None
    provider_ref_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """A line of the timeline: ``author`` names the person who wrote it (None: the watchdog);
    ``recorded_at`` is when a line written after the fact was written (None: at ``at``)."""

    at: datetime
    kind: str
    text: str
    channel: str | None
    author: str | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    channel: str
    event: str
    status: str
    event_at: datetime
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    response: str | None
    reference: str | None


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: TicketRow
    timeline: tuple[TimelineRow, ...]
    messages: tuple[MessageRow, ...]


def _time(value: str | None) -> datetime | None:
    return None if value is None else from_text(value)


def _require_tickets(connection: sqlite3.Connection, path: Path) -> None:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incident'").fetchone()
    if found is None:
        raise DatabaseError(f"{path} predates tickets; start the daemon once (watchdog run) "
                            "to upgrade it.")


def _ticket(connection: sqlite3.Connection, row: tuple[Any, ...]) -> TicketRow:
    pending = connection.execute(
        f"SELECT count(*) FROM outbox WHERE incident_id = ? AND status IN ({_QUEUED})",
        (row[0],)).fetchone()[0]
    return TicketRow(
        id=row[0], reference=row[1], kind=row[2], started_at=from_text(row[3]),
        ended_at=_time(row[4]), ticket_opened_at=_time(row[5]), closed_at=_time(row[6]),
        closed_by=row[7], acked_at=_time(row[8]), reminders_sent=row[10],
        gtr_breached=bool(row[11]), cuts=row[12], cause=row[13], pending_messages=pending,
        provider_ref=row[14], provider_ref_at=_time(row[15]),
    )


def read_tickets(path: Path, *, include_all: bool = False) -> list[TicketRow]:
    """Incidents with a ticket: the open ones (link still down, not closed by hand), or all."""
    where = "reference IS NOT NULL"
    if not include_all:
        where += " AND ended_at IS NULL AND closed_at IS NULL"
    with connect(Path(path)) as connection:
        _require_tickets(connection, path)
        rows = connection.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incident WHERE {where} ORDER BY started_at, id"
        ).fetchall()
        return [_ticket(connection, row) for row in rows]


def read_current_incident(path: Path, *, link: str = DEFAULT_LINK) -> TicketRow | None:
    """The link's ongoing incident (with or without a ticket yet), for ``status``."""
    with connect(Path(path)) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'incident'").fetchone() \
                is None:
            return None
        row = connection.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incident WHERE ended_at IS NULL "
            "AND link_id = (SELECT id FROM link WHERE name = ?)", (link,)).fetchone()
        return None if row is None else _ticket(connection, row)


def _messages(connection: sqlite3.Connection, where: str,
              parameters: tuple[Any, ...]) -> tuple[MessageRow, ...]:
    rows = connection.execute(
        "SELECT o.id, o.channel, o.event, o.status, o.event_at, o.created_at, o.due_at, "
        "o.sent_at, o.attempts, o.last_error, o.response, i.reference "
        f"FROM outbox o LEFT JOIN incident i ON i.id = o.incident_id WHERE {where} "
        "ORDER BY o.id", parameters).fetchall()
    return tuple(
        MessageRow(id=r[0], channel=r[1], event=r[2], status=r[3], event_at=from_text(r[4]),
                   created_at=from_text(r[5]), due_at=from_text(r[6]), sent_at=_time(r[7]),
                   attempts=r[8], last_error=r[9], response=r[10], reference=r[11])
        for r in rows
    )


def read_ticket(path: Path, reference: str) -> TicketDetail:
    """One ticket with its timeline and messages.

    Raises ``UserError`` with ``EX_USAGE`` for an unknown reference (a bad argument, as for
    ``ticket ack``), ``DatabaseError`` when the database cannot be read.
    """
    with connect(Path(path)) as connection:
        _require_tickets(connection, path)
        row = connection.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incident WHERE reference = ?",
            (reference.upper(),)).fetchone()
        if row is None:
            raise UserError(f"no ticket {reference} in {path}; 'watchdog tickets --all' "
                            "lists them.", EX_USAGE)
        timeline = tuple(
            TimelineRow(at=from_text(r[0]), kind=r[1], text=r[2], channel=r[3], author=r[4],
                        recorded_at=_time(r[5]))
            for r in connection.execute(
                "SELECT at, kind, text, channel, author, recorded_at FROM incident_event "
                "WHERE incident_id = ? ORDER BY at, id", (row[0],))
        )
        messages = _messages(connection, "o.incident_id = ?", (row[0],))
        return TicketDetail(_ticket(connection, row), timeline, messages)


def read_outbox(path: Path, *, include_sent_since: datetime | None = None) -> list[MessageRow]:
    """Messages waiting (pending, being sent) or given up (failed); with
    ``include_sent_since``, also those sent since then."""
    where = f"o.status IN ({_UNDELIVERED})"
    parameters: tuple[Any, ...] = ()
    if include_sent_since is not None:
        where = f"({where} OR (o.status = 'sent' AND o.sent_at >= ?))"
        parameters = (to_text(include_sent_since),)
    with connect(Path(path)) as connection:
        _require_tickets(connection, path)
        return list(_messages(connection, where, parameters))


def context_of(path: Path, message_id: int) -> dict[str, Any]:
    """The stored context of one message (for showing what was said)."""
    with connect(Path(path)) as connection:
        row = connection.execute("SELECT context FROM outbox WHERE id = ?",
                                 (message_id,)).fetchone()
    return {} if row is None else dict(json.loads(row[0]))
