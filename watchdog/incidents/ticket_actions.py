"""What a person does to a ticket by hand: acknowledge it, add a note, close it.

Each runs inside the caller's write transaction (``Store.write()``, ``BEGIN IMMEDIATE``), under
the same rules as the daemon's own writes, so nothing races it, and records itself on the
ticket's timeline. None of them sends a message now; their effect shows in what the incident
service does next (``service.IncidentService``):

- acknowledged: management stops getting escalation alerts; reminders to the provider go on;
- closed by hand: no more reminders or alerts, no closing report at the recovery, and the
  incident never reopens. A closed ticket cannot be closed again.

A ticket is named by its reference, in any case (``wd-2026-0007``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from watchdog.errors import EX_USAGE, UserError
from watchdog.store.models import Incident, IncidentEvent
from watchdog.vocabulary import IncidentEventKind

ACKNOWLEDGED = ("acknowledged: management stops getting escalation alerts; reminders to the "
                "provider go on")
CLOSED_BY_HAND = "closed by hand: no more reminders"


class UnknownTicket(UserError):
    """No ticket has this reference (a bad argument)."""

    exit_code = EX_USAGE

    def __init__(self, reference: str) -> None:
        super().__init__(f"no ticket {reference}; 'watchdog tickets --all' lists them")


class TicketAlreadyClosed(UserError):
    """The ticket was closed (by hand) already."""

    exit_code = EX_USAGE

    def __init__(self, reference: str) -> None:
        super().__init__(f"{reference} is already closed")


@dataclass(frozen=True, slots=True)
class TicketChange:
    """What was recorded: the ticket's reference, and its timeline's new line."""

    reference: str
    kind: IncidentEventKind
    text: str


def acknowledge(session: Session, reference: str, now: datetime) -> TicketChange:
    """Mark the ticket acknowledged at ``now`` (again: the latest time counts).

    Raises ``UnknownTicket``.
    """
    incident = _ticket(session, reference)
    incident.acked_at = now
    return _record(session, incident, "acked", ACKNOWLEDGED, now)


def add_note(session: Session, reference: str, text: str, now: datetime) -> TicketChange:
    """Add ``text`` to the ticket's timeline. Raises ``UnknownTicket``."""
    return _record(session, _ticket(session, reference), "note", text, now)


def close_by_hand(session: Session, reference: str, now: datetime) -> TicketChange:
    """Close the ticket at ``now``. Raises ``UnknownTicket``, ``TicketAlreadyClosed``."""
    incident = _ticket(session, reference)
    if incident.closed_at is not None:
        raise TicketAlreadyClosed(str(incident.reference))
    incident.closed_at, incident.closed_by = now, "manual"
    return _record(session, incident, "closed", CLOSED_BY_HAND, now)


def _ticket(session: Session, reference: str) -> Incident:
    incident = session.exec(
        select(Incident).where(col(Incident.reference) == reference.upper())
    ).first()
    if incident is None or incident.id is None or incident.reference is None:
        raise UnknownTicket(reference)
    return incident


def _record(session: Session, incident: Incident, kind: IncidentEventKind, text: str,
            now: datetime) -> TicketChange:
    assert incident.id is not None and incident.reference is not None  # found by _ticket
    session.add(incident)
    session.add(IncidentEvent(incident_id=incident.id, at=now, kind=kind, text=text))
    return TicketChange(incident.reference, kind, text)
