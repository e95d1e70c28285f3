"""The delivery loop: claim a channel's next due message, send it, record the outcome.

Each channel is delivered on its own (the daemon runs one job per channel), so a mail relay
that hangs on the unreachable internet never holds back the LAN webhook. Claiming, sending
and recording are three steps: a crash between sending and recording leaves the message
``sending``, and the next start sends it again with the same Message-ID or Idempotency-Key.

A claimed message goes out with the messages folded into it listed in its context
(``folded``), read afresh at each attempt; every attempt's outcome is recorded with the
server that took it or refused it and what it said (the proof of delivery).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from watchdog import clock
from watchdog.binding import Binding, outbound
from watchdog.channels.provider import TICKET_OPEN, Outgoing
from watchdog.delivery import outbox
from watchdog.delivery.senders import Channel
from watchdog.logs import get_logger
from watchdog.store.models import OutboxMessage
from watchdog.store.writer import Store

log = get_logger("watchdog.delivery")

# Messages sent per channel per pass, so one pass never runs for long.
PASS_LIMIT = 20


class Deliverer:
    """Sends due outbox messages through the configured senders."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Channel],
        now: Callable[[], datetime] = clock.utcnow,
        route: Callable[[], Binding | None] | None = None,
    ) -> None:
        self.store = store
        self.senders = senders
        self.now = now
        self.route = route
        """Asked before each attempt: the uplink messages leave through now (None: the
        default route); the daemon's ``RouteChooser.binding``."""

    def deliver(self, channel: str, limit: int = PASS_LIMIT) -> int:
        """Send ``channel``'s due messages in order; return how many were sent."""
        sender = self.senders.get(channel)
        if sender is None:
            return 0
        sent = 0
        for _ in range(limit):
            outgoing = self._claim(channel)
            if outgoing is None:
                break
            message_id, message = outgoing
            if self._send(sender, message_id, message):
                sent += 1
            else:
                break  # the head failed: the rest wait behind it, in order
        return sent

    def deliver_all(self) -> int:
        """One pass over every channel (``notify-test`` and tests; the daemon runs per channel)."""
        return sum(self.deliver(channel) for channel in self.senders)

    def send_now(self, channel: str, message_id: int) -> tuple[bool, str]:
        """Send one already-claimed message now (``notify-test``); (ok, what happened)."""
        with self.store.write() as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            outgoing = Outgoing(key=row.key, channel=row.channel, event=row.event,
                                incident_id=row.incident_id, context=json.loads(row.context))
        ok = self._send(self.senders[channel], message_id, outgoing)
        with self.store.write() as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            if not ok and row.status == "pending":
                row.status = "failed"  # a test is not retried hours later
                session.add(row)
            return ok, (row.response or "") if ok else (row.last_error or "")

    def _claim(self, channel: str) -> tuple[int, Outgoing] | None:
        return self.store.transact(lambda session: self._claim_in(session, channel))

    def _claim_in(self, session: Session, channel: str) -> tuple[int, Outgoing] | None:
        row = outbox.claim_next(session, channel, self.now())
        if row is None or row.id is None:
            return None
        external = None
        if row.event != TICKET_OPEN and row.incident_id is not None:
            external = session.exec(
                select(OutboxMessage.external_id).where(
                    col(OutboxMessage.key)
                    == f"incident:{row.incident_id}:{TICKET_OPEN}:{channel}")
            ).first()
        context = json.loads(row.context)
        context["folded"] = outbox.folded_summary(session, row.id)
        return row.id, Outgoing(
            key=row.key, channel=row.channel, event=row.event, incident_id=row.incident_id,
            context=context, ticket_external_id=external,
        )

    def _send(self, channel: Channel, message_id: int, outgoing: Outgoing) -> bool:
        sent_at = self.now()
        route = self.route() if self.route is not None else None
        try:
            with outbound(route):
                result = channel.send(outgoing, sent_at)
        except Exception as error:
            failure = channel.classify(error)
            if failure is None:  # not a failure its provider knows: a bug; retry, and say what
                reason = f"{type(error).__name__}: {error}"
                self.store.transact(lambda session: outbox.mark_failed(
                    session, message_id, self.now(), reason, permanent=False))
                log.error("delivery_error", channel=outgoing.channel,
                          message_event=outgoing.event, error=reason)
                return False
            # Permanent (a refused address, a template that does not render): the message
            # fails with its error stored; transient: retried with backoff.
            self.store.transact(lambda session: outbox.mark_failed(
                session, message_id, self.now(), str(failure), permanent=failure.permanent,
                retry_after=failure.retry_after, server=failure.server))
            log.warning("delivery_failed", channel=outgoing.channel, message_event=outgoing.event,
                        permanent=failure.permanent, error=str(failure))
            return False
        self.store.transact(lambda session: outbox.mark_sent(
            session, message_id, self.now(), result.response, result.external_id,
            result.message_id, server=result.server, reply=result.reply))
        log.info("delivered", channel=outgoing.channel, message_event=outgoing.event,
                 late_s=round((sent_at - _event_at(outgoing)).total_seconds(), 1),
                 route=str(route or "default route"))
        return True


def _event_at(outgoing: Outgoing) -> datetime:
    return datetime.fromisoformat(str(outgoing.context.get("event_at")))
