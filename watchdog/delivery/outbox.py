"""The durable outbox: every message is a row written with the event that causes it.

Rules (after healthchecks' sendalerts): a message is enqueued once (its idempotency key is
unique); a sender *claims* it with a conditional update (``pending`` → ``sending``), so two
processes never send the same row; once ``sent`` it is never sent again. A crash between
sending and recording leaves it ``sending``: the next start puts it back to ``pending`` and
it is sent again with the same Message-ID / Idempotency-Key, which the receiver recognises.

Each channel delivers its messages in order (first in, first out), so a helpdesk always sees
the ticket opened before its reminders. Transient errors retry with exponential backoff
capped at ``BACKOFF_CAP``; when the link recovers, every waiting message is made due at once.

Proof of delivery: every attempt is a ``DeliveryAttempt`` row, begun in the transaction that
claims the message and finished in the one that records its outcome (the server, its reply,
the error). An attempt a crash cut short is marked ``interrupted`` at the next start.

Folding: when a channel's oldest waiting message is due but a newer one of its incident makes
its news stale (``delivery.folding``), it is ``folded`` into that one in the same transaction
that claims the next message to send, so a crash can neither lose its news nor send it twice;
the message that carries it lists it (``folded_summary``) every time it is tried.

Waking: a transaction that makes messages due now (``enqueue``, ``rush``) notes their channels
in its session (``due_channels`` reads them once it has committed), so the daemon starts those
channels' delivery at once instead of at their next look at the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import or_, update
from sqlmodel import Session, col, func, select

from watchdog.delivery.folding import folds_into
from watchdog.delivery.message_context import FoldedPart, StepPart, due_at_of
from watchdog.store.models import DeliveryAttempt, IncidentEvent, OutboxMessage
from watchdog.vocabulary import AttemptOutcome, MessageEvent

BACKOFF_BASE = timedelta(seconds=2)
# Low enough that a message waiting for the internet leaves within a minute of its return
# even if the recovery rush is missed.
BACKOFF_CAP = timedelta(seconds=60)
RETRY_AFTER_CAP = timedelta(minutes=10)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Wait before the next attempt after ``attempts`` failed ones (1, 2, ...): 2 s, 4 s, ...
    capped at 60 s; a server's Retry-After wins when longer (capped at 10 min)."""
    wait: timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, min(attempts - 1, 20))))
    if retry_after is not None:
        wait = max(wait, min(RETRY_AFTER_CAP, timedelta(seconds=retry_after)))
    return wait


# ``Session.info`` key: the channels this transaction made a message due now in (None: all).
DUE_NOW = "watchdog.outbox.due_now"


def _note_due(session: Session, channel: str | None) -> None:
    due: set[str | None] = session.info.setdefault(DUE_NOW, set())
    due.add(channel)


def due_channels(info: Mapping[Any, Any]) -> frozenset[str | None]:
    """The channels a transaction (its ``Session.info``) made messages due now in: a
    channel's name, or None for every channel (the recovery rush). Empty when none."""
    return frozenset(info.get(DUE_NOW, ()))


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    event: str,
    event_at: datetime,
    now: datetime,
    context: Mapping[str, Any],
    incident_id: int | None = None,
    group_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Add a message unless one with ``key`` exists (then None: enqueued once, ever).

    A ``group_key`` supersedes the group's messages still pending: only the newest of a
    flapping incident's notices is sent. ``not_before`` delays it (rate limiting).
    """
    existing = session.exec(select(OutboxMessage.id).where(OutboxMessage.key == key)).first()
    if existing is not None:
        return None
    row = OutboxMessage(
        key=key, channel=channel, event=event, incident_id=incident_id, event_at=event_at,
        created_at=now, due_at=max(now, not_before or now), group_key=group_key,
        context=json.dumps(dict(context), sort_keys=True, default=str),
    )
    session.add(row)
    session.flush()
    if row.due_at <= now:
        _note_due(session, channel)
    if group_key is not None:
        # The record keeps which message replaced each superseded one.
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.group_key) == group_key,
                   col(OutboxMessage.status) == "pending", col(OutboxMessage.id) != row.id)
            .values(status="superseded", folded_into=row.id)
        )
    return row


def last_sent_in_group(session: Session, group_key: str) -> datetime | None:
    """When the group's newest message was sent (or is being sent), for rate limiting.

    A pending message does not count: the newer message that supersedes it takes its turn,
    so a line that keeps flapping does not push the group's next notice further each time.
    """
    rows = session.exec(
        select(OutboxMessage.sent_at, OutboxMessage.due_at)
        .where(col(OutboxMessage.group_key) == group_key,
               col(OutboxMessage.status).in_(("sent", "sending")))
    ).all()
    times = [sent or due for sent, due in rows]
    return max(times) if times else None


def rush(session: Session, now: datetime) -> int:
    """Make every message waiting for a retry due now (the link is back); return how many.

    A grouped message not tried yet waits for its turn (a flapping incident's rate limit),
    not for the link: rushing it at every recovery of a flapping line would be the storm
    the grouping exists to prevent.
    """
    # A message in flight now may fail from an attempt begun while the link was down: mark
    # it rushed (due after its attempt began), so ``mark_failed`` retries it at once.
    session.execute(
        update(OutboxMessage).where(col(OutboxMessage.status) == "sending").values(due_at=now)
    )
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "pending", col(OutboxMessage.due_at) > now,
               or_(col(OutboxMessage.group_key).is_(None), col(OutboxMessage.attempts) > 0))
        .values(due_at=now)
    )
    rushed = int(getattr(result, "rowcount", 0) or 0)
    if rushed:
        _note_due(session, None)
    return rushed


def release_claims(session: Session) -> int:
    """Put back messages a crashed sender had claimed (start-up only); their attempts in
    flight are recorded as ``interrupted`` (whether they arrived is not known)."""
    in_flight = select(OutboxMessage.id).where(col(OutboxMessage.status) == "sending")
    session.execute(
        update(DeliveryAttempt)
        .where(col(DeliveryAttempt.outbox_id).in_(in_flight),
               col(DeliveryAttempt.outcome).is_(None))
        .values(outcome="interrupted")
    )
    result = session.execute(
        update(OutboxMessage).where(col(OutboxMessage.status) == "sending")
        .values(status="pending")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _head(session: Session, channel: str) -> OutboxMessage | None:
    """The channel's oldest pending message."""
    return session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.channel) == channel, col(OutboxMessage.status) == "pending")
        .order_by(col(OutboxMessage.id))
        .limit(1)
    ).first()


def _carrier(session: Session, head: OutboxMessage, now: datetime) -> OutboxMessage | None:
    """The newest due message of ``head``'s incident and channel that makes its news stale
    (``delivery.folding``), or None."""
    if head.incident_id is None:
        return None
    newer = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.channel) == head.channel,
               col(OutboxMessage.incident_id) == head.incident_id,
               col(OutboxMessage.status) == "pending", col(OutboxMessage.id) > head.id,
               col(OutboxMessage.due_at) <= now)
        .order_by(col(OutboxMessage.id).desc())
    ).all()
    return next((row for row in newer if folds_into(head.event, row.event)), None)


def claim_next(session: Session, channel: str, now: datetime) -> OutboxMessage | None:
    """Claim the channel's oldest pending message if it is due (first in, first out), after
    folding the oldest ones whose news a newer due message carries (``delivery.folding``).

    Returns None when the channel has nothing due, including when its oldest message is
    still waiting for its retry: later ones wait behind it, to keep the order. The claim
    begins an attempt (``DeliveryAttempt``), in the same transaction.
    """
    head = _head(session, channel)
    while head is not None and head.due_at <= now:
        carrier = _carrier(session, head, now)
        if carrier is None:
            break
        folded = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == head.id, col(OutboxMessage.status) == "pending")
            .values(status="folded", folded_into=carrier.id)
        )
        if not getattr(folded, "rowcount", 0):
            return None  # another sender moved it meanwhile: leave the channel to it
        head = _head(session, channel)
    if head is None or head.due_at > now:
        return None
    claimed = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == head.id, col(OutboxMessage.status) == "pending")
        .values(status="sending", attempts=OutboxMessage.attempts + 1, last_attempt_at=now)
    )
    if not getattr(claimed, "rowcount", 0):
        return None
    session.refresh(head)
    _begin_attempt(session, head, now)
    return head


def begin_attempt(session: Session, row: OutboxMessage, now: datetime) -> None:
    """Claim ``row`` outside the queue (``notify-test`` sends its message at once): it is
    ``sending``, one more attempt, begun ``now``."""
    row.status, row.attempts, row.last_attempt_at = "sending", row.attempts + 1, now
    session.add(row)
    session.flush()
    _begin_attempt(session, row, now)


def _begin_attempt(session: Session, row: OutboxMessage, now: datetime) -> None:
    assert row.id is not None
    session.add(DeliveryAttempt(outbox_id=row.id, number=row.attempts, started_at=now))


def _finish_attempt(
    session: Session, row: OutboxMessage, now: datetime, outcome: AttemptOutcome, *,
    server: str | None, reply: str | None = None, error: str | None = None,
) -> None:
    """Record how ``row``'s attempt in flight ended (one is made if none was begun)."""
    assert row.id is not None
    attempt = session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.outbox_id) == row.id, col(DeliveryAttempt.outcome).is_(None))
        .order_by(col(DeliveryAttempt.number).desc())
    ).first()
    if attempt is None:
        attempt = DeliveryAttempt(outbox_id=row.id, number=_next_number(session, row.id),
                                  started_at=row.last_attempt_at or now)
    attempt.finished_at, attempt.outcome = now, outcome
    attempt.server = server
    attempt.reply = None if reply is None else reply[:500]
    attempt.error = None if error is None else error[:500]
    session.add(attempt)


def _next_number(session: Session, message_id: int) -> int:
    last = session.exec(select(func.max(DeliveryAttempt.number))
                        .where(col(DeliveryAttempt.outbox_id) == message_id)).first()
    return int(last or 0) + 1


def folded_summary(session: Session, message_id: int) -> list[FoldedPart]:
    """The messages whose news message ``message_id`` carries, oldest due first.

    Folded into it, or into a message folded into it or superseded by it (their news reached
    it too), at any depth.
    """
    found: list[OutboxMessage] = []
    pending = [message_id]
    while pending:
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.folded_into).in_(pending))
        ).all()
        found.extend(row for row in rows if row.status == "folded")
        pending = [row.id for row in rows if row.id is not None]
    parts = [_folded_part(session, row) for row in found]
    return sorted(parts, key=lambda part: (part["due_at"] or "", part["queued_at"] or ""))


def _folded_part(session: Session, row: OutboxMessage) -> FoldedPart:
    context = json.loads(row.context)
    incident = context.get("incident") or {}
    first = session.exec(select(func.min(DeliveryAttempt.started_at))
                         .where(col(DeliveryAttempt.outbox_id) == row.id)).first()
    return {
        "event": cast("MessageEvent", row.event),  # the outbox holds message events only
        "step": cast("StepPart | None", incident.get("step")),
        "due_at": due_at_of(context),
        "queued_at": row.created_at.isoformat(),
        "attempts": row.attempts,
        "first_attempt_at": None if first is None else first.isoformat(),
        "last_attempt_at": None if row.last_attempt_at is None
        else row.last_attempt_at.isoformat(),
        "last_error": row.last_error,
    }


def mark_sent(
    session: Session,
    message_id: int,
    now: datetime,
    response: str,
    external_id: str | None = None,
    email_message_id: str | None = None,
    *,
    server: str | None = None,
    reply: str | None = None,
) -> None:
    """Record a delivery (never sent again) with its proof (``server``, its ``reply``, by
    default ``response``), and note it on the incident's timeline."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return
    row.status, row.sent_at, row.response, row.last_error = "sent", now, response[:500], None
    row.external_id = external_id
    row.message_id = email_message_id
    session.add(row)
    _finish_attempt(session, row, now, "sent", server=server, reply=reply or response)
    if row.incident_id is not None:
        carried = len(folded_summary(session, message_id))
        folded = f"; it carries {carried} earlier message(s) folded into it" if carried else ""
        session.add(IncidentEvent(incident_id=row.incident_id, at=now, kind="sent",
                                  text=f"{row.event} sent ({response[:200]}){folded}",
                                  channel=row.channel))


def mark_failed(
    session: Session,
    message_id: int,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    retry_after: float | None = None,
    server: str | None = None,
) -> None:
    """Record a failed attempt (tried on ``server``, if known): retried later (transient) or
    given up (permanent)."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return
    row.last_error = error[:500]
    _finish_attempt(session, row, now, "permanent" if permanent else "transient",
                    server=server, error=error)
    if permanent:
        row.status = "failed"
        if row.incident_id is not None:
            session.add(IncidentEvent(incident_id=row.incident_id, at=now, kind="failed",
                                      text=f"{row.event} could not be delivered: {error[:200]}",
                                      channel=row.channel))
    else:
        row.status = "pending"
        rushed = row.last_attempt_at is not None and row.due_at > row.last_attempt_at
        # An attempt that began while the link was down and failed after it came back was
        # rushed in flight (see ``rush``): try again at once, not a whole backoff later.
        row.due_at = now if rushed else now + backoff(row.attempts, retry_after)
    session.add(row)
