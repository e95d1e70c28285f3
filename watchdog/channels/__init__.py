"""Where messages go: the providers of channels and ticket backends, and their transports.

Providers, one module each, registered once in ``registry``, behind the contract in
``provider`` (config class, sender, error classification):

- ``email_ticket`` (``[[tickets.email]]``), ``rest_ticket`` (``[[tickets.rest]]``),
  ``command_ticket`` (``[[tickets.command]]``), ``email_notify`` (``[[notify.email]]``),
  ``webhook_notify`` (``[[notify.webhook]]``), ``command_notify`` (``[[notify.command]]``),
  ``apprise_notify`` (``[[notify.apprise]]``: apprise's services, its library loaded to send);
- ``mail``: what the two email providers share (the ``[[smtp]]`` relay, threading);
- ``command``: what the two command providers share (the program's input and variables).

Transports: how one already-rendered message reaches a server. Each either returns what the
receiver answered and where (the proof of delivery: the server, its reply), or raises
``DeliveryError``: ``permanent`` says whether retrying can help, ``str(error)`` is one sentence
for the outbox's last_error, ``retry_after`` is the receiver's requested wait when it gave one,
``server`` where the attempt went.

- ``smtp``: ``build_email``, ``make_message_id``, ``send_email(SmtpSettings, message)`` →
  ``SmtpReceipt``.
- ``webhook``: ``post_json(WebhookSettings, body, idempotency_key=, now=)``, ``extract``.
- ``process``: ``run_program(ProgramSettings, text, fields)`` → ``ProgramReceipt``: a local
  program, no shell, its exit status the verdict (0 sent, 75 retry, other refused).

The transports' names below are loaded on first use: the registry is read with the config by
every command, and ``watchdog status`` must not pay for smtplib, ssl or requests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchdog.channels.errors import DeliveryError as DeliveryError
    from watchdog.channels.smtp import EMAIL_POLICY as EMAIL_POLICY
    from watchdog.channels.smtp import SmtpSettings as SmtpSettings
    from watchdog.channels.smtp import build_email as build_email
    from watchdog.channels.smtp import make_message_id as make_message_id
    from watchdog.channels.smtp import send_email as send_email
    from watchdog.channels.webhook import MissingPath as MissingPath
    from watchdog.channels.webhook import WebhookResponse as WebhookResponse
    from watchdog.channels.webhook import WebhookSettings as WebhookSettings
    from watchdog.channels.webhook import extract as extract
    from watchdog.channels.webhook import post_json as post_json
    from watchdog.channels.webhook import sign as sign

# Each exported name, and the module of this package that defines it.
_EXPORTS = {
    "DeliveryError": "errors",
    **dict.fromkeys(
        ("EMAIL_POLICY", "SmtpSettings", "build_email", "make_message_id", "send_email"), "smtp"),
    **dict.fromkeys(
        ("MissingPath", "WebhookResponse", "WebhookSettings", "extract", "post_json", "sign"),
        "webhook"),
}


def __getattr__(name: str) -> Any:
    """``from watchdog.channels import post_json``: import the defining module now."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
