"""``[[tickets.email]]``: a helpdesk that builds tickets from email (the ISP's, or the office's IT).

One thread per incident: the ticket report's Message-ID is the root that every reminder and
the closing message answer (In-Reply-To, References), so the helpdesk files them all under the
ticket the report opened. Sent through an ``[[smtp]]`` relay (``mail``); the SMTP transport
classifies its failures (4xx replies and network errors transient; 5xx replies, a rejected
login, an untrusted certificate permanent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watchdog.channels.mail import EmailSender, find_relay, relay_on_lan, relay_problems
from watchdog.channels.provider import (
    TICKET_OPEN,
    MessageRenderer,
    Outgoing,
    Sender,
    TicketBackend,
    isp_kinds,
)
from watchdog.config.schema import Config
from watchdog.vocabulary import OutageKind


@dataclass(frozen=True)
class EmailTicketConfig:
    name: str
    smtp: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    # Outage kinds this backend takes: the ISP gets isp and dns; the office's IT gets lan.
    kinds: list[OutageKind] = field(default_factory=isp_kinds)


class EmailTicketSender(EmailSender):
    """Every follow-up answers the ticket report, whatever the channel's other messages."""

    def thread(self, outgoing: Outgoing) -> tuple[str | None, list[str]]:
        if outgoing.event == TICKET_OPEN or outgoing.incident_id is None:
            return None, []
        root = self.message_id(f"incident:{outgoing.incident_id}:{TICKET_OPEN}:{self.name}")
        return root, [root]


class EmailTicket(TicketBackend[EmailTicketConfig]):
    key = "email"
    config_type = EmailTicketConfig

    def problems(
        self, entry: EmailTicketConfig, where: str, config: Config
    ) -> list[tuple[str, str]]:
        return relay_problems(config, where, entry.smtp, [*entry.to, *entry.cc])

    def reaches_without_internet(self, entry: EmailTicketConfig, config: Config) -> bool:
        return relay_on_lan(config, entry.smtp)

    def build_sender(
        self, entry: EmailTicketConfig, config: Config, renderer: MessageRenderer
    ) -> Sender:
        return EmailTicketSender(entry.name, find_relay(config, entry.smtp), entry.to, entry.cc,
                                 renderer)


PROVIDER = EmailTicket()
