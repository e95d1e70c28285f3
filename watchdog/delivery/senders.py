"""Senders: one per configured ticket backend or notification channel, one small protocol.

``send(outgoing, sent_at) -> Sent`` renders the stored context (so a late message says how
late it is) and hands it to a transport (``watchdog.channels``); it raises ``DeliveryError``
with ``permanent`` set when retrying cannot help. Four kinds:

- ``EmailTicketSender``: the ISP's (or IT's) helpdesk by email, one thread per incident: the
  ticket report's Message-ID is the root every reminder and the closing message answer.
- ``RestTicketSender``: a helpdesk's REST API: POST on open, the external ticket id read from
  the answer, optional calls on update and close to URLs that carry that id.
- ``EmailNotifySender`` and ``WebhookNotifySender``: management's channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from watchdog.channels.errors import DeliveryError
from watchdog.channels.smtp import SmtpSettings, build_email, make_message_id, send_email
from watchdog.channels.webhook import WebhookSettings, extract, post_json
from watchdog.config.schema import (
    Config,
    EmailNotifyConfig,
    EmailTicketConfig,
    RestTicketConfig,
    SmtpConfig,
    WebhookNotifyConfig,
)

if TYPE_CHECKING:
    from watchdog.delivery.render import RenderedEmail, Renderer

TICKET_OPEN = "ticket_open"
TICKET_CLOSE = "ticket_close"
TEST = "test"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed outbox message, as a sender needs it."""

    key: str
    channel: str
    event: str
    incident_id: int | None
    context: Mapping[str, Any]
    # For a REST helpdesk's follow-ups: the id its answer to the opening call gave.
    ticket_external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """What the receiving end said (for the timeline), and a REST ticket's id if any."""

    response: str
    external_id: str | None = None
    message_id: str | None = None


class Sender(Protocol):
    name: str

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent: ...


class MessageRenderer(Protocol):
    """What senders need of the templates (``watchdog.delivery.render.Renderer``)."""

    def email(self, context: Mapping[str, Any], sent_at: datetime) -> RenderedEmail: ...

    def json_body(self, context: Mapping[str, Any], sent_at: datetime,
                  template: str | None = None) -> bytes: ...


class LazyRenderer:
    """The templates' renderer, built when the first message is rendered.

    Jinja2 and its templates cost the daemon about 9 MB; while the link is up and nothing is
    sent, it need not carry them.
    """

    def __init__(self, language: str, zone: tzinfo, override_dir: Path | None) -> None:
        self.language, self.zone, self.override_dir = language, zone, override_dir
        self._renderer: Renderer | None = None

    def _real(self) -> Renderer:
        if self._renderer is None:
            from watchdog.delivery.render import Renderer

            self._renderer = Renderer(self.language, self.zone, self.override_dir)
        return self._renderer

    def email(self, context: Mapping[str, Any], sent_at: datetime) -> RenderedEmail:
        return self._real().email(context, sent_at)

    def json_body(self, context: Mapping[str, Any], sent_at: datetime,
                  template: str | None = None) -> bytes:
        return self._real().json_body(context, sent_at, template)


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return domain or "connectivity-watchdog.invalid"


def smtp_settings(relay: SmtpConfig) -> SmtpSettings:
    return SmtpSettings(
        host=relay.host, port=relay.port, security=relay.security, sender=relay.sender,
        username=relay.username or None,
        password=relay.password.reveal() if relay.password else None,
        timeout=relay.timeout.total_seconds(), ca_file=relay.ca_file or None,
    )


class _EmailSender:
    """Shared by the ticket and notification email senders."""

    def __init__(self, name: str, relay: SmtpConfig, to: list[str], cc: list[str],
                 renderer: MessageRenderer) -> None:
        self.name = name
        self.settings = smtp_settings(relay)
        self.to, self.cc = to, cc
        self.renderer = renderer
        self.domain = _domain(relay.sender)

    def thread(self, outgoing: Outgoing) -> tuple[str | None, list[str]]:
        raise NotImplementedError

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        rendered = self.renderer.email(outgoing.context, sent_at)
        message_id = make_message_id(outgoing.key, self.domain)
        in_reply_to, references = self.thread(outgoing)
        message = build_email(
            sender=self.settings.sender, to=self.to, cc=self.cc, subject=rendered.subject,
            text_body=rendered.text, message_id=message_id, in_reply_to=in_reply_to,
            references=references, date=sent_at,
        )
        return Sent(send_email(self.settings, message), message_id=message_id)


class EmailTicketSender(_EmailSender):
    """A helpdesk that builds tickets from email: every follow-up answers the report."""

    def __init__(
        self, backend: EmailTicketConfig, relay: SmtpConfig, renderer: MessageRenderer
    ) -> None:
        super().__init__(backend.name, relay, backend.to, backend.cc, renderer)

    def thread(self, outgoing: Outgoing) -> tuple[str | None, list[str]]:
        if outgoing.event == TICKET_OPEN or outgoing.incident_id is None:
            return None, []
        root = make_message_id(f"incident:{outgoing.incident_id}:{TICKET_OPEN}:{self.name}",
                               self.domain)
        return root, [root]


class EmailNotifySender(_EmailSender):
    """Management's mailbox: an incident's notices share one thread in the mail client."""

    def __init__(
        self, channel: EmailNotifyConfig, relay: SmtpConfig, renderer: MessageRenderer
    ) -> None:
        super().__init__(channel.name, relay, channel.to, [], renderer)

    def thread(self, outgoing: Outgoing) -> tuple[str | None, list[str]]:
        if outgoing.incident_id is None:
            return None, []
        root = make_message_id(f"incident:{outgoing.incident_id}:thread:{self.name}",
                               self.domain)
        return root, [root]


class WebhookNotifySender:
    """A webhook (Slack, Teams, Mattermost, ntfy, Gotify or your own) with a JSON body."""

    def __init__(self, channel: WebhookNotifyConfig, renderer: MessageRenderer) -> None:
        self.name = channel.name
        self.settings = WebhookSettings(
            url=channel.url, headers=dict(channel.headers),
            token=channel.token.reveal() if channel.token else None,
            hmac_secret=channel.hmac_secret.reveal() if channel.hmac_secret else None,
            timeout=channel.timeout.total_seconds(),
        )
        self.template = channel.template or None
        self.renderer = renderer

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        body = self.renderer.json_body(outgoing.context, sent_at, self.template)
        response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at)
        return Sent(f"HTTP {response.status}")


class RestTicketSender:
    """A helpdesk's REST API: open with a POST, follow up and close with optional calls."""

    def __init__(self, backend: RestTicketConfig, renderer: MessageRenderer) -> None:
        self.name = backend.name
        self.backend = backend
        self.settings = WebhookSettings(
            url=backend.url, method=backend.method, headers=dict(backend.headers),
            token=backend.token.reveal() if backend.token else None,
            timeout=backend.timeout.total_seconds(),
        )
        self.renderer = renderer

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        body = self.renderer.json_body(outgoing.context, sent_at,
                                       self.backend.body_template or None)
        if outgoing.event == TEST:
            # Asked for by name (notify-test --channel): the opening call, nothing expected.
            response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at)
            return Sent(f"HTTP {response.status}")
        if outgoing.event == TICKET_OPEN:
            response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at)
            try:
                external = extract(response.json, self.backend.id_path)
            except (KeyError, IndexError, TypeError):
                raise DeliveryError(
                    f"the helpdesk answered HTTP {response.status} without a ticket id at "
                    f"{self.backend.id_path!r}; fix tickets.rest.id_path for {self.name}",
                    permanent=True,
                ) from None
            return Sent(f"HTTP {response.status}, ticket {external}", external_id=str(external))
        template = self.backend.close_url if outgoing.event == TICKET_CLOSE else (
            self.backend.update_url)
        if not template:
            return Sent("not sent: no URL configured for this kind of call")
        if outgoing.ticket_external_id is None:
            raise DeliveryError("the ticket was never opened at the helpdesk (no id), so it "
                                "cannot be updated", permanent=True)
        url = template.replace("{external_id}", outgoing.ticket_external_id)
        response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at,
                             url=url)
        return Sent(f"HTTP {response.status}")


def build_senders(config: Config, zone: tzinfo) -> dict[str, Sender]:
    """Every configured ticket backend and notification channel, by name."""
    override = config.source.parent / "templates" if config.source else None
    renderer = LazyRenderer(config.site.language, zone, override if override and
                            Path(override).is_dir() else None)
    relays = {relay.name: relay for relay in config.smtp}
    senders: dict[str, Sender] = {}
    for ticket in config.tickets.email:
        senders[ticket.name] = EmailTicketSender(ticket, relays[ticket.smtp], renderer)
    for rest in config.tickets.rest:
        senders[rest.name] = RestTicketSender(rest, renderer)
    for mail in config.notify.email:
        senders[mail.name] = EmailNotifySender(mail, relays[mail.smtp], renderer)
    for hook in config.notify.webhook:
        senders[hook.name] = WebhookNotifySender(hook, renderer)
    return senders
