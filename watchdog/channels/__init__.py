"""The transport layer of delivery: how one already-rendered message reaches a server.

The outbox (queueing, retries, idempotency bookkeeping, rendering) calls these functions and
nothing else of the network. Each either returns what the receiver answered, for the ticket's
timeline, or raises ``DeliveryError``: ``permanent`` says whether retrying can help,
``str(error)`` is one sentence for the outbox's last_error, ``retry_after`` is the receiver's
requested wait when it gave one.

- ``smtp``: ``build_email``, ``make_message_id``, ``send_email(SmtpSettings, message)``.
- ``webhook``: ``post_json(WebhookSettings, body, idempotency_key=, now=)``, ``extract``.
"""

from __future__ import annotations

from watchdog.channels.errors import DeliveryError
from watchdog.channels.smtp import (
    EMAIL_POLICY,
    SmtpSettings,
    build_email,
    make_message_id,
    send_email,
)
from watchdog.channels.webhook import (
    MissingPath,
    WebhookResponse,
    WebhookSettings,
    extract,
    post_json,
    sign,
)

__all__ = [
    "EMAIL_POLICY",
    "DeliveryError",
    "MissingPath",
    "SmtpSettings",
    "WebhookResponse",
    "WebhookSettings",
    "build_email",
    "extract",
    "make_message_id",
    "post_json",
    "send_email",
    "sign",
]
