"""``watchdog tickets``, ``ticket show|ack|note|close REF``, ``outbox``, ``notify-test``.

Reading uses the stdlib reader. Changing a ticket goes through the store's write transaction
(``BEGIN IMMEDIATE``), the same rules as the daemon's own writes, so nothing races it.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import timedelta, tzinfo
from typing import Any

from watchdog import clock
from watchdog.cli.common import config_from, duration, iso, local_time, print_json
from watchdog.config.zone import site_zone
from watchdog.errors import EX_USAGE, UserError
from watchdog.store.ticket_reader import (
    MessageRow,
    TicketRow,
    read_outbox,
    read_ticket,
    read_tickets,
)


def _ticket_json(ticket: TicketRow, zone: tzinfo) -> dict[str, Any]:
    return {
        "reference": ticket.reference, "kind": ticket.kind,
        "started_at": iso(ticket.started_at, zone), "ended_at": iso(ticket.ended_at, zone),
        "ticket_opened_at": iso(ticket.ticket_opened_at, zone),
        "closed_at": iso(ticket.closed_at, zone), "closed_by": ticket.closed_by,
        "acked_at": iso(ticket.acked_at, zone), "reminders_sent": ticket.reminders_sent,
        "gtr_breached": ticket.gtr_breached, "cuts": ticket.cuts, "cause": ticket.cause,
        "pending_messages": ticket.pending_messages,
    }


def _message_json(message: MessageRow, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": message.id, "channel": message.channel, "event": message.event,
        "status": message.status, "reference": message.reference,
        "event_at": iso(message.event_at, zone), "due_at": iso(message.due_at, zone),
        "sent_at": iso(message.sent_at, zone), "attempts": message.attempts,
        "last_error": message.last_error,
    }


def _ticket_line(ticket: TicketRow, zone: tzinfo) -> str:
    now = clock.utcnow()
    if ticket.ended_at is None:
        state = f"DOWN for {duration((now - ticket.started_at).total_seconds())}"
    else:
        state = f"recovered {local_time(ticket.ended_at, zone, now)}"
    if ticket.closed_by == "manual":
        state += ", closed by hand"
    extras = [f"{ticket.reminders_sent} reminder(s)"]
    if ticket.gtr_breached:
        extras.append("GTR breached")
    if ticket.cuts > 1:
        extras.append(f"{ticket.cuts} cuts")
    if ticket.pending_messages:
        extras.append(f"{ticket.pending_messages} message(s) waiting")
    return (f"{ticket.reference}  {ticket.kind:<3}  since {local_time(ticket.started_at, zone)}"
            f"  {state}  ({', '.join(extras)})")


def tickets(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    rows = read_tickets(config.storage.database, include_all=args.all)
    if args.json:
        print_json([_ticket_json(row, zone) for row in rows])
    elif not rows:
        print("No ticket." if args.all else "No open ticket ('--all' lists every ticket).")
    else:
        for row in rows:
            print(_ticket_line(row, zone))
    return 0


def show(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    detail = read_ticket(config.storage.database, args.reference)
    if args.json:
        print_json({**_ticket_json(detail.ticket, zone),
                    "timeline": [{"at": iso(e.at, zone), "kind": e.kind, "text": e.text,
                                  "channel": e.channel} for e in detail.timeline],
                    "messages": [_message_json(m, zone) for m in detail.messages]})
        return 0
    print(_ticket_line(detail.ticket, zone))
    print(f"  {detail.ticket.cause}")
    print()
    for event in detail.timeline:
        where = f" [{event.channel}]" if event.channel else ""
        print(f"  {local_time(event.at, zone)}  {event.kind:<13} {event.text}{where}")
    waiting = [m for m in detail.messages if m.status in ("pending", "sending", "failed")]
    if waiting:
        print()
        print("Not delivered yet:")
        for message in waiting:
            print("  " + _message_line(message, zone))
    return 0


def _message_line(message: MessageRow, zone: tzinfo) -> str:
    error = f" — {message.last_error}" if message.last_error else ""
    due = "" if message.status != "pending" else f", next try {local_time(message.due_at, zone)}"
    return (f"#{message.id} {message.channel}: {message.event} ({message.status}, "
            f"{message.attempts} attempt(s){due}){error}")


def _change(args: argparse.Namespace, kind: str, text: str) -> int:
    """Apply a change to one ticket in a write transaction and record it on its timeline."""
    from sqlmodel import col, select

    from watchdog.store.models import Incident, IncidentEvent
    from watchdog.store.writer import Store

    config = config_from(args)
    now = clock.utcnow()
    with Store.open(config.storage.database, migrate=False) as store, store.write() as session:
        incident = session.exec(
            select(Incident).where(col(Incident.reference) == args.reference.upper())
        ).first()
        if incident is None or incident.id is None:
            raise UserError(f"no ticket {args.reference}; 'watchdog tickets --all' lists them",
                            EX_USAGE)
        if kind == "acked":
            incident.acked_at = now
        elif kind == "closed":
            if incident.closed_at is not None:
                raise UserError(f"{incident.reference} is already closed", EX_USAGE)
            incident.closed_at, incident.closed_by = now, "manual"
        session.add(incident)
        session.add(IncidentEvent(incident_id=incident.id, at=now, kind=kind, text=text))
        reference = incident.reference
    print(f"{reference}: {text}")
    return 0


def ack(args: argparse.Namespace) -> int:
    return _change(args, "acked", "acknowledged: management stops getting escalation "
                                  "alerts; reminders to the provider go on")


def note(args: argparse.Namespace) -> int:
    return _change(args, "note", " ".join(args.text))


def close(args: argparse.Namespace) -> int:
    return _change(args, "closed", "closed by hand: no more reminders")


def outbox(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    since = clock.utcnow() - timedelta(days=1) if args.all else None
    rows = read_outbox(config.storage.database, include_sent_since=since)
    if args.json:
        print_json([_message_json(row, zone) for row in rows])
    elif not rows:
        print("Nothing waiting: every message was delivered.")
    else:
        for row in rows:
            print(_message_line(row, zone))
    return 0


def notify_test(args: argparse.Namespace) -> int:
    """Send a test through each notification channel now (not behind its queue); print results.

    Ticket backends are left alone (a test there would open a real ticket at the provider's
    helpdesk) unless one is named with ``--channel``.
    """
    from watchdog import logs
    from watchdog.channels.provider import NOTIFY
    from watchdog.channels.registry import configured, providers
    from watchdog.delivery import outbox as outbox_rows
    from watchdog.delivery.senders import build_senders
    from watchdog.delivery.worker import Deliverer
    from watchdog.incidents.context import base
    from watchdog.store.writer import Store

    logs.configure_for_command("error")  # stdout is the results; each FAILED says why
    config = config_from(args, secrets=True)
    senders = build_senders(config, site_zone(config))
    if args.channel:
        names = [name for name in senders if name == args.channel]
        if not names:
            known = ", ".join(senders) or "none configured"
            raise UserError(f"no channel {args.channel!r} (known: {known})", EX_USAGE)
    else:
        names = [channel.entry.name for channel in configured(config, NOTIFY)]
    if not names:
        tables = ", ".join(f"[[{provider.table}]]" for provider in providers(NOTIFY))
        print(f"No notification channel is configured ({tables}).")
        return 0
    failures = 0
    batch = uuid.uuid4().hex[:12]
    with Store.open(config.storage.database, migrate=False) as store:
        deliverer = Deliverer(store, senders)
        for name in names:
            now = clock.utcnow()
            with store.write() as session:
                row = outbox_rows.enqueue(
                    session, key=f"test:{batch}:{name}", channel=name, event="test",
                    event_at=now, now=now, context=base(config, "test", name, now))
                assert row is not None and row.id is not None
                row.status, row.attempts, row.last_attempt_at = "sending", 1, now
                session.add(row)
                message_id = row.id
            ok, result = deliverer.send_now(name, message_id)
            failures += 0 if ok else 1
            print(f"{name}: {'ok' if ok else 'FAILED'} — {result}")
    return 1 if failures else 0
