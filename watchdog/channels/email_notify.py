"""``[[notify.email]]``: management's mailbox.

An incident's notices share one thread in the mail client (a root Message-ID per incident and
channel, never sent itself); a notice without an incident (a test, a monitoring gap) stands
alone. Sent through an ``[[smtp]]`` relay (``mail``); the SMTP transport classifies its
failures (4xx replies and network errors transient; 5xx replies, a rejected login, an
untrusted certificate permanent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watchdog.channels.mail import EmailSender, find_relay, relay_on_lan, relay_problems
from watchdog.channels.provider import (
    MessageRenderer,
    NotifyChannel,
    Outgoing,
    Sender,
    all_events,
)
from watchdog.config.schema import Config
from watchdog.vocabulary import NotifyEvent


@dataclass(frozen=True)
class EmailNotifyConfig:
    name: str
    smtp: str
    to: list[str]
    events: list[NotifyEvent] = field(default_factory=all_events)


class EmailNotifySender(EmailSender):
    """An incident's notices answer one root, so the mail client shows them as one thread."""

    def thread(self, outgoing: Outgoing) -> tuple[str | None, list[str]]:
        if outgoing.incident_id is None:
            return None, []
        root = self.message_id(f"incident:{outgoing.incident_id}:thread:{self.name}")
        return root, [root]


class EmailNotify(NotifyChannel[EmailNotifyConfig]):
    key = "email"
    config_type = EmailNotifyConfig

    def problems(
        self, entry: EmailNotifyConfig, where: str, config: Config
    ) -> list[tuple[str, str]]:
        return relay_problems(config, where, entry.smtp, entry.to)

    def reaches_without_internet(self, entry: EmailNotifyConfig, config: Config) -> bool:
        return relay_on_lan(config, entry.smtp)

    def build_sender(
        self, entry: EmailNotifyConfig, config: Config, renderer: MessageRenderer
    ) -> Sender:
        return EmailNotifySender(entry.name, find_relay(config, entry.smtp), entry.to, [],
                                 renderer)


PROVIDER = EmailNotify()
