"""Read-only queries on tickets and the outbox, for the CLI and the report (stdlib
``sqlite3`` only).

Every message comes with its proof of delivery (``MessageRow``): when it was queued and when
its news fell due, each attempt (``AttemptRow``: when, through which server, the server's
reply or the error), when it was accepted, its Message-ID, and the message it was folded
into when its news was stale by the time it could leave. ``read_incident_messages`` and
``read_period_messages`` give the report every message of an incident, delivered and
undelivered apart (``IncidentMessages``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from watchdog.delivery.message_context import due_at_of
from watchdog.errors import EX_USAGE, DatabaseError, UserError
from watchdog.store.reader import connect
from watchdog.store.timetext import from_text, to_text
from watchdog.vocabulary import (
    DEFAULT_LINK,
    QUEUED_STATUSES,
    UNDELIVERED_STATUSES,
    audience_of,
)

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
class AttemptRow:
    """One attempt to deliver a message. ``outcome``: ``sent``, ``transient`` (retried),
    ``permanent`` (given up), ``interrupted`` (the process died during it), None while in
    flight. ``server``: where it went (relay ``host:port [address]``, a URL without its
    secrets); ``reply``: the server's answer (``250 2.0.0 Ok: queued as 4F2A``,
    ``HTTP 201 Created {...}``); ``error``: why it failed."""

    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    server: str | None
    reply: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class MessageRow:
    """An outbox message and its proof of delivery.

    ``created_at`` is when it was queued; ``fell_due_at`` when its news fell due (a reminder's
    escalation step, else its event); ``due_at`` when the outbox will try it next.
    ``sent_at``: when a server accepted it; ``message_id``: an email's Message-ID;
    ``external_id``: a REST helpdesk's ticket id; ``folded_into``: the message that carries
    its news (``folded``) or replaced it (``superseded``). ``attempt_log``: every attempt, in
    order (a database migrated from before attempts were recorded has the last one only).
    """

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
    incident_id: int | None
    fell_due_at: datetime
    step_number: int | None
    step_label: str | None
    message_id: str | None
    external_id: str | None
    folded_into: int | None
    attempt_log: tuple[AttemptRow, ...]

    @property
    def audience(self) -> str:
        """``ticket`` (to a ticket backend: the provider, the office's IT) or ``notify``."""
        return audience_of(self.event)

    @property
    def queued_at(self) -> datetime:
        return self.created_at

    @property
    def delivered(self) -> bool:
        return self.status == "sent"

    @property
    def proof(self) -> AttemptRow | None:
        """The attempt a server accepted, if one did."""
        return next((attempt for attempt in reversed(self.attempt_log)
                     if attempt.outcome == "sent"), None)

    @property
    def server(self) -> str | None:
        """The server that accepted it (None: not delivered, or not recorded)."""
        proof = self.proof
        return None if proof is None else proof.server

    @property
    def reply(self) -> str | None:
        """The accepting server's reply (what the outbox recorded, for older rows)."""
        proof = self.proof
        if proof is not None and proof.reply:
            return proof.reply
        return self.response if self.delivered else None


@dataclass(frozen=True, slots=True)
class IncidentMessages:
    """Every message of one incident (to its ticket backends and to people), for the report.

    ``delivered``: accepted by their server. ``folded``: never sent themselves, their news
    carried by a later message (``carrier``) or replaced by a newer one of a flapping line's
    group (``superseded``). ``undelivered``: still waiting, or given up.
    """

    incident_id: int
    reference: str | None
    messages: tuple[MessageRow, ...]

    @property
    def delivered(self) -> tuple[MessageRow, ...]:
        return tuple(message for message in self.messages if message.delivered)

    @property
    def folded(self) -> tuple[MessageRow, ...]:
        return tuple(message for message in self.messages
                     if message.status in ("folded", "superseded"))

    @property
    def undelivered(self) -> tuple[MessageRow, ...]:
        return tuple(message for message in self.messages
                     if message.status in UNDELIVERED_STATUSES)

    def folded_into(self, message: MessageRow) -> tuple[MessageRow, ...]:
        """The messages folded straight into ``message`` (or superseded by it)."""
        return tuple(other for other in self.messages if other.folded_into == message.id)

    def carrier(self, message: MessageRow) -> MessageRow | None:
        """The message that carried (or is to carry) the news of a folded ``message``: the end
        of its ``folded_into`` chain. None for a message not folded."""
        by_id = {other.id: other for other in self.messages}
        current = message
        seen = {message.id}
        while current.folded_into is not None and current.folded_into in by_id:
            current = by_id[current.folded_into]
            if current.id in seen:
                break
            seen.add(current.id)
        return None if current is message else current

    def reached(self, message: MessageRow) -> bool:
        """Whether ``message``'s news reached its recipient: it was delivered, or it was
        folded and the message carrying it was delivered."""
        if message.delivered:
            return True
        if message.status != "folded":
            return False
        carrier = self.carrier(message)
        return carrier is not None and carrier.delivered


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: TicketRow
    timeline: tuple[TimelineRow, ...]
    messages: tuple[MessageRow, ...]


def _time(value: str | None) -> datetime | None:
    return None if value is None else from_text(value)


def _require_tickets(connection: sqlite3.Connection, path: Path) -> None:
    found = {name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name IN ('incident', 'delivery_attempt')")}
    if "incident" not in found:
        raise DatabaseError(f"{path} predates tickets; start the daemon once (watchdog run) "
                            "to upgrade it.")
    if "delivery_attempt" not in found:
        raise DatabaseError(f"{path} predates the proof of delivery; start the daemon once "
                            "(watchdog run) to upgrade it.")


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
        "o.sent_at, o.attempts, o.last_error, o.response, i.reference, o.incident_id, "
        "o.context, o.message_id, o.external_id, o.folded_into "
        f"FROM outbox o LEFT JOIN incident i ON i.id = o.incident_id WHERE {where} "
        "ORDER BY o.id", parameters).fetchall()
    attempts = _attempts(connection, [r[0] for r in rows])
    return tuple(_message(r, attempts.get(r[0], ())) for r in rows)


def _message(r: Sequence[Any], attempts: tuple[AttemptRow, ...]) -> MessageRow:
    context = json.loads(r[13] or "{}")
    step = (context.get("incident") or {}).get("step") or {}
    fell_due = due_at_of(context)
    return MessageRow(
        id=r[0], channel=r[1], event=r[2], status=r[3], event_at=from_text(r[4]),
        created_at=from_text(r[5]), due_at=from_text(r[6]), sent_at=_time(r[7]),
        attempts=r[8], last_error=r[9], response=r[10], reference=r[11], incident_id=r[12],
        fell_due_at=datetime.fromisoformat(fell_due) if fell_due else from_text(r[4]),
        step_number=step.get("number"), step_label=step.get("label"), message_id=r[14],
        external_id=r[15], folded_into=r[16], attempt_log=attempts,
    )


# SQLite's default limit on the parameters of one statement is 999 (older builds).
_CHUNK = 500


def _attempts(connection: sqlite3.Connection,
              message_ids: Sequence[int]) -> dict[int, tuple[AttemptRow, ...]]:
    """Every attempt of each message in ``message_ids``, in order, by message id."""
    found: dict[int, list[AttemptRow]] = {}
    for start in range(0, len(message_ids), _CHUNK):
        chunk = message_ids[start:start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for r in connection.execute(
            "SELECT outbox_id, number, started_at, finished_at, outcome, server, reply, error "
            f"FROM delivery_attempt WHERE outbox_id IN ({marks}) ORDER BY outbox_id, number",
            tuple(chunk),
        ):
            found.setdefault(r[0], []).append(AttemptRow(
                number=r[1], started_at=from_text(r[2]), finished_at=_time(r[3]),
                outcome=r[4], server=r[5], reply=r[6], error=r[7]))
    return {message: tuple(rows) for message, rows in found.items()}


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


def read_incident_messages(path: Path, incident_ids: Iterable[int]) -> dict[int, IncidentMessages]:
    """Every message of each incident in ``incident_ids``, with its attempts and proof.

    Incidents without messages are present with none; unknown ids are left out. Raises
    ``DatabaseError``.
    """
    wanted = sorted(set(incident_ids))
    found: dict[int, IncidentMessages] = {}
    with connect(Path(path)) as connection:
        _require_tickets(connection, path)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            references = dict(connection.execute(
                f"SELECT id, reference FROM incident WHERE id IN ({marks})", tuple(chunk)))
            messages = _messages(connection, f"o.incident_id IN ({marks})", tuple(chunk))
            for incident_id, reference in references.items():
                found[incident_id] = IncidentMessages(
                    incident_id, reference,
                    tuple(m for m in messages if m.incident_id == incident_id))
    return found


def read_period_messages(
    path: Path, start: datetime, end: datetime, *, link: str = DEFAULT_LINK
) -> tuple[IncidentMessages, ...]:
    """The messages of every incident of the link called ``link`` that overlaps
    [``start``, ``end``), oldest incident first. Raises ``DatabaseError``."""
    with connect(Path(path)) as connection:
        _require_tickets(connection, path)
        ids = [row[0] for row in connection.execute(
            "SELECT i.id FROM incident i JOIN link l ON l.id = i.link_id WHERE l.name = ? "
            "AND i.started_at < ? AND (i.ended_at IS NULL OR i.ended_at >= ?) "
            "ORDER BY i.started_at, i.id", (link, to_text(end), to_text(start)))]
    messages = read_incident_messages(path, ids)
    return tuple(messages[incident] for incident in ids if incident in messages)
