"""The durable outbox: every message is a row written with the event that causes it.

Rules (after healthchecks' sendalerts): a message is enqueued once (its idempotency key is
unique); a sender *claims* it with a conditional update (``pending`` → ``sending``), so two
processes never send the same row; once ``sent`` it is never sent again. A crash between
sending and recording leaves it ``sending``: the next start puts it back to ``pending`` and
it is sent again with the same Message-ID / Idempotency-Key, which the receiver recognises.

Each channel delivers its messages in order (first in, first out), so a helpdesk always sees
the ticket opened before its reminders. Transient errors retry with exponential backoff
capped at ``BACKOFF_CAP``; when the link recovers, every waiting message is made due at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from watchdog.store.models import IncidentEvent, OutboxMessage

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
    if group_key is not None:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.group_key) == group_key,
                   col(OutboxMessage.status) == "pending")
            .values(status="superseded")
        )
    row = OutboxMessage(
        key=key, channel=channel, event=event, incident_id=incident_id, event_at=event_at,
        created_at=now, due_at=max(now, not_before or now), group_key=group_key,
        context=json.dumps(dict(context), sort_keys=True, default=str),
    )
    session.add(row)
    session.flush()
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
    return int(getattr(result, "rowcount", 0) or 0)


def release_claims(session: Session) -> int:
    """Put back messages a crashed sender had claimed (start-up only)."""
    result = session.execute(
        update(OutboxMessage).where(col(OutboxMessage.status) == "sending")
        .values(status="pending")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_next(session: Session, channel: str, now: datetime) -> OutboxMessage | None:
    """Claim the channel's oldest pending message if it is due (first in, first out).

    Returns None when the channel has nothing due, including when its oldest message is
    still waiting for its retry: later ones wait behind it, to keep the order.
    """
    head = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.channel) == channel, col(OutboxMessage.status) == "pending")
        .order_by(col(OutboxMessage.id))
        .limit(1)
    ).first()
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
    return head


def mark_sent(
    session: Session,
    message_id: int,
    now: datetime,
    response: str,
    external_id: str | None = None,
    email_message_id: str | None = None,
) -> None:
    """Record a delivery (never sent again) and note it on the incident's timeline."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return
    row.status, row.sent_at, row.response, row.last_error = "sent", now, response[:500], None
    row.external_id = external_id
    row.message_id = email_message_id
    session.add(row)
    if row.incident_id is not None:
        session.add(IncidentEvent(incident_id=row.incident_id, at=now, kind="sent",
                                  text=f"{row.event} sent ({response[:200]})",
                                  channel=row.channel))


def mark_failed(
    session: Session,
    message_id: int,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    retry_after: float | None = None,
) -> None:
    """Record a failed attempt: retried later (transient) or given up (permanent)."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return
    row.last_error = error[:500]
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
