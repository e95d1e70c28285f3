"""How tickets and outbox messages are printed, for people and as JSON.

Shared by ``tickets``, ``ticket show`` and ``outbox``; the JSON keys are a contract for the
programs that read them.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from watchdog import clock
from watchdog.cli.common import duration, iso, local_time
from watchdog.store.ticket_reader import AttemptRow, MessageRow, TicketRow, TimelineRow

# A message's attempts shown by ``ticket show``: the first and last ones, the middle elided
# (a message that waited ten days for the link was tried every minute).
SHOWN_ATTEMPTS = 2


def ticket_json(ticket: TicketRow, zone: tzinfo) -> dict[str, Any]:
    return {
        "reference": ticket.reference, "kind": ticket.kind,
        "started_at": iso(ticket.started_at, zone), "ended_at": iso(ticket.ended_at, zone),
        "ticket_opened_at": iso(ticket.ticket_opened_at, zone),
        "closed_at": iso(ticket.closed_at, zone), "closed_by": ticket.closed_by,
        "acked_at": iso(ticket.acked_at, zone), "reminders_sent": ticket.reminders_sent,
        "gtr_breached": ticket.gtr_breached, "cuts": ticket.cuts, "cause": ticket.cause,
        "pending_messages": ticket.pending_messages,
        "provider_ref": ticket.provider_ref,
        "provider_ref_at": iso(ticket.provider_ref_at, zone),
    }


def timeline_json(event: TimelineRow, zone: tzinfo) -> dict[str, Any]:
    return {"at": iso(event.at, zone), "kind": event.kind, "text": event.text,
            "channel": event.channel, "author": event.author,
            "recorded_at": iso(event.recorded_at, zone)}


def timeline_line(event: TimelineRow, zone: tzinfo) -> str:
    """``  2026-11-26 09:40  note          called the hotline (by Jane, written
    2026-11-27 10:02)``: a line written after the fact says when."""
    where = f" [{event.channel}]" if event.channel else ""
    who = [f"by {event.author}"] if event.author else []
    if event.recorded_at is not None:
        who.append(f"written {local_time(event.recorded_at, zone)}")
    written = f" ({', '.join(who)})" if who else ""
    return f"  {local_time(event.at, zone)}  {event.kind:<13} {event.text}{where}{written}"


def message_json(message: MessageRow, zone: tzinfo) -> dict[str, Any]:
    """A message and its proof of delivery: ``queued_at`` (written to the outbox),
    ``fell_due_at`` (a reminder's step, else its event), ``sent_at`` (accepted), ``server``
    and ``reply`` (of the accepting server), ``message_id`` (an email's),
    ``folded_into`` (the message carrying its news) and every attempt (``attempt_log``)."""
    return {
        "id": message.id, "channel": message.channel, "event": message.event,
        "status": message.status, "reference": message.reference,
        "event_at": iso(message.event_at, zone), "due_at": iso(message.due_at, zone),
        "sent_at": iso(message.sent_at, zone), "attempts": message.attempts,
        "last_error": message.last_error,
        "queued_at": iso(message.queued_at, zone),
        "fell_due_at": iso(message.fell_due_at, zone),
        "server": message.server, "reply": message.reply, "message_id": message.message_id,
        "external_id": message.external_id, "folded_into": message.folded_into,
        "attempt_log": [attempt_json(attempt, zone) for attempt in message.attempt_log],
    }


def attempt_json(attempt: AttemptRow, zone: tzinfo) -> dict[str, Any]:
    return {
        "number": attempt.number, "started_at": iso(attempt.started_at, zone),
        "finished_at": iso(attempt.finished_at, zone), "outcome": attempt.outcome,
        "server": attempt.server, "reply": attempt.reply, "error": attempt.error,
    }


def ticket_line(ticket: TicketRow, zone: tzinfo) -> str:
    """One line: reference, kind, since when, down or recovered, reminders, what waits."""
    now = clock.utcnow()
    if ticket.ended_at is None:
        state = f"DOWN for {duration((now - ticket.started_at).total_seconds())}"
    else:
        state = f"recovered {local_time(ticket.ended_at, zone, now)}"
    if ticket.closed_by == "manual":
        state += ", closed by hand"
    extras = [f"{ticket.reminders_sent} reminder(s)"]
    if ticket.provider_ref:
        extras.insert(0, f"provider ref {ticket.provider_ref}")
    if ticket.gtr_breached:
        extras.append("GTR breached")
    if ticket.cuts > 1:
        extras.append(f"{ticket.cuts} cuts")
    if ticket.pending_messages:
        extras.append(f"{ticket.pending_messages} message(s) waiting")
    return (f"{ticket.reference}  {ticket.kind:<3}  since {local_time(ticket.started_at, zone)}"
            f"  {state}  ({', '.join(extras)})")


def message_line(message: MessageRow, zone: tzinfo) -> str:
    """One line: id, channel, event, status, attempts, next try, last error; for a delivered
    message its proof (when, by which server, its reply, its Message-ID); for a folded one,
    the message that carries it."""
    due = "" if message.status != "pending" else f", next try {local_time(message.due_at, zone)}"
    head = (f"#{message.id} {message.channel}: {message.event} ({message.status}, "
            f"{message.attempts} attempt(s){due})")
    if message.delivered and message.sent_at is not None:
        server = f" by {message.server}" if message.server else ""
        reply = f": {message.reply}" if message.reply else ""
        mail = f", Message-ID {message.message_id}" if message.message_id else ""
        return f"{head} — accepted {_moment(message.sent_at, zone)}{server}{reply}{mail}"
    if message.folded_into is not None:
        how = "folded into" if message.status == "folded" else "replaced by"
        return f"{head} — {how} #{message.folded_into}"
    return f"{head} — {message.last_error}" if message.last_error else head


def attempt_lines(message: MessageRow, zone: tzinfo) -> list[str]:
    """The message's attempts, one line each (the middle of a long run elided)."""
    log = message.attempt_log
    shown: list[AttemptRow | None] = list(log)
    if len(log) > 2 * SHOWN_ATTEMPTS + 1:
        shown = [*log[:SHOWN_ATTEMPTS], None, *log[-SHOWN_ATTEMPTS:]]
    lines = []
    for attempt in shown:
        if attempt is None:
            lines.append(f"  … {len(log) - 2 * SHOWN_ATTEMPTS} more attempt(s)")
            continue
        outcome = attempt.outcome or "in flight"
        server = f" {attempt.server}" if attempt.server else ""
        said = attempt.reply if attempt.outcome == "sent" else attempt.error
        lines.append(f"  attempt {attempt.number} {_moment(attempt.started_at, zone)}"
                     f"{server}: {outcome}" + (f" — {said}" if said else ""))
    return lines


def _moment(moment: datetime, zone: tzinfo) -> str:
    """A moment of the proof, to the second: ``2025-03-01 13:03:06``."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
