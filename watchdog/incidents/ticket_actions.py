"""What a person does to a ticket by hand: acknowledge it, add a note, record the provider's
own reference, close it.

Each runs inside the caller's write transaction (``Store.write()``, ``BEGIN IMMEDIATE``), under
the same rules as the daemon's own writes, so nothing races it, and records itself on the
ticket's timeline. None of them sends a message now; their effect shows in what the incident
service does next (``service.IncidentService``):

- acknowledged: management stops getting escalation alerts; reminders to the provider go on
  while the link is down (a recovered ticket has none due; should it reopen, the alerts stay
  off; a closed one has nothing more sent);
- closed by hand: no more reminders or alerts, no closing report at the recovery, and the
  incident never reopens. A closed ticket cannot be closed again;
- the provider's reference recorded: the provider acknowledged the ticket (the GTR clock may
  start then, see ``contract.gtr_starts``).

A note or a reference may be given after the fact (a phone call made earlier): it goes on the
timeline at the time it happened, never in the future nor before the incident began, and
keeps when it was written and by whom.

A ticket is named by its reference, in any case (``wd-2026-0007``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlmodel import Session, col, select

from watchdog.errors import EX_USAGE, UserError
from watchdog.store.models import Incident, IncidentEvent
from watchdog.vocabulary import IncidentEventKind

ACKNOWLEDGED = ("acknowledged: management stops getting escalation alerts; reminders to the "
                "provider go on")
# Acknowledged after the recovery: nothing is due, but a reopened ticket stays acknowledged.
ACKNOWLEDGED_RECOVERED = ("acknowledged: the link is back, so no reminder or alert is due; "
                          "should the ticket reopen, management gets no escalation alerts")
ACKNOWLEDGED_CLOSED = "acknowledged: the ticket is closed, nothing more is sent about it"
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


class TimeRefused(UserError):
    """A note's time that cannot be: in the future, or before the incident began."""

    exit_code = EX_USAGE


class NothingToRecord(UserError):
    """An empty note or reference, or the reference the ticket already has."""

    exit_code = EX_USAGE


@dataclass(frozen=True, slots=True)
class TicketChange:
    """What was recorded: the ticket's reference, and its timeline's new line."""

    reference: str
    kind: IncidentEventKind
    text: str


def acknowledge(session: Session, reference: str, now: datetime) -> TicketChange:
    """Mark the ticket acknowledged at ``now`` (again: the latest time counts); the line
    says what it changes for a ticket going on, recovered or closed.

    Raises ``UnknownTicket``.
    """
    incident = _ticket(session, reference)
    incident.acked_at = now
    text = (ACKNOWLEDGED_CLOSED if incident.closed_at is not None else
            ACKNOWLEDGED_RECOVERED if incident.ended_at is not None else ACKNOWLEDGED)
    return _record(session, incident, "acked", text, now)


def add_note(session: Session, reference: str, text: str, now: datetime, *,
             at: datetime | None = None, author: str | None = None,
             zone: tzinfo = UTC) -> TicketChange:
    """Add ``text`` to the ticket's timeline at ``at`` (default ``now``), written by
    ``author``; ``zone`` is the site's, for the error messages.

    Raises ``UnknownTicket``, ``TimeRefused`` (``at`` in the future or before the incident
    began), ``NothingToRecord`` (an empty text).
    """
    incident = _ticket(session, reference)
    if not text.strip():
        raise NothingToRecord("the note is empty; write what was said or done")
    moment = _checked_time(incident, at, now, zone)
    return _record(session, incident, "note", text.strip(), moment, author=author, now=now)


def set_provider_ref(session: Session, reference: str, provider_ref: str, now: datetime, *,
                     at: datetime | None = None, author: str | None = None,
                     zone: tzinfo = UTC) -> TicketChange:
    """Record the provider's own reference for the ticket, given at ``at`` (default
    ``now``), by ``author``.

    The first reference sets when the provider acknowledged the ticket; a corrected one
    keeps that time unless ``at`` is given. Raises ``UnknownTicket``, ``TimeRefused``,
    ``NothingToRecord`` (empty, or the reference the ticket already has).
    """
    incident = _ticket(session, reference)
    value = provider_ref.strip()
    if not value:
        raise NothingToRecord("the provider's reference is empty; write it as the provider "
                              "gave it, for example 4411-XYZ")
    if value == incident.provider_ref:
        raise NothingToRecord(f"{incident.reference} already has the provider's reference "
                              f"{value}")
    moment = _checked_time(incident, at, now, zone)
    previous = incident.provider_ref
    incident.provider_ref = value
    if at is not None or incident.provider_ref_at is None:
        incident.provider_ref_at = moment
    text = f"the provider's reference: {value}" + (f" (was {previous})" if previous else "")
    return _record(session, incident, "provider_ref", text, moment, author=author, now=now)


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


def _checked_time(incident: Incident, at: datetime | None, now: datetime,
                  zone: tzinfo) -> datetime:
    """``at`` (default ``now``) if it can be the time of something that happened to the
    incident; else ``TimeRefused``."""
    if at is None:
        return now
    shown = at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    if at > now:
        raise TimeRefused(f"{shown} is in the future; a note records what already happened, "
                          "so give the time it happened")
    if at < incident.started_at:
        began = incident.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
        raise TimeRefused(f"{shown} is before {incident.reference} began ({began}); note it "
                          "on the ticket of the outage it is about")
    return at


def _record(session: Session, incident: Incident, kind: IncidentEventKind, text: str,
            at: datetime, *, author: str | None = None,
            now: datetime | None = None) -> TicketChange:
    """Put the line on the timeline; ``now`` (when it is written) is kept when it is not
    ``at``."""
    assert incident.id is not None and incident.reference is not None  # found by _ticket
    session.add(incident)
    session.add(IncidentEvent(incident_id=incident.id, at=at, kind=kind, text=text,
                              author=(author or "").strip() or None,
                              recorded_at=now if now is not None and now != at else None))
    return TicketChange(incident.reference, kind, text)
