"""``[[tickets.rest]]``: a helpdesk's REST API.

The ticket is opened with a call to ``url`` (POST by default) whose answer gives the external
ticket id at ``id_path``; follow-ups and the closing go to ``update_url`` and ``close_url``,
where ``{external_id}`` is replaced by that id (no URL: that call is not made). The HTTP
transport classifies failures (connection errors, timeouts, 408, 425, 429 and 5xx transient;
other 4xx, redirects and untrusted certificates permanent); an answer without a ticket id, or
a follow-up to a ticket never opened, is permanent too: retrying cannot change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from watchdog.channels.errors import DeliveryError
from watchdog.channels.provider import (
    TEST,
    TICKET_CLOSE,
    TICKET_OPEN,
    MessageRenderer,
    Outgoing,
    Rehearsal,
    Sender,
    Sent,
    TicketBackend,
    isp_kinds,
)
from watchdog.config.schema import SECRET, Config
from watchdog.config.secrets import Secret
from watchdog.vocabulary import TICKET_EVENTS, OutageKind

if TYPE_CHECKING:
    from watchdog.channels.webhook import WebhookSettings


@dataclass(frozen=True)
class RestTicketConfig:
    name: str
    url: str
    kinds: list[OutageKind] = field(default_factory=isp_kinds)
    # Optional calls on update and close; "{external_id}" is replaced by the id read from
    # the answer to the opening call at id_path.
    update_url: str = ""
    close_url: str = ""
    id_path: str = "id"
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    token: Secret | None = field(default=None, metadata=SECRET)
    token_file: str = ""
    token_env: str = ""
    # A Jinja2 template in templates/ next to this file, rendering the JSON body; empty: built in.
    body_template: str = ""
    timeout: timedelta = field(default=timedelta(seconds=10),
                               metadata={"min": timedelta(seconds=0.1)})


class RestTicketSender:
    """A helpdesk's REST API: open with a POST, follow up and close with optional calls."""

    def __init__(self, backend: RestTicketConfig, renderer: MessageRenderer) -> None:
        from watchdog.channels.webhook import WebhookSettings

        self.name = backend.name
        self.backend = backend
        self.settings: WebhookSettings = WebhookSettings(
            url=backend.url, method=backend.method, headers=dict(backend.headers),
            token=backend.token.reveal() if backend.token else None,
            timeout=backend.timeout.total_seconds(),
            # An API's path names the endpoint, not a credential (that is the token): the
            # record of each call shows it.
            path_is_secret=False,
        )
        self.renderer = renderer

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        from watchdog.channels.webhook import extract, post_json

        body = self.renderer.json_body(outgoing.context, sent_at,
                                       self.backend.body_template or None)
        if outgoing.event == TEST:
            # Asked for by name (notify-test --channel): the opening call, nothing expected.
            response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at)
            return Sent(f"HTTP {response.status}", server=response.server, reply=response.reply)
        if outgoing.event == TICKET_OPEN:
            response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at)
            try:
                external = extract(response.json, self.backend.id_path)
            except (KeyError, IndexError, TypeError):
                raise DeliveryError(
                    f"the helpdesk answered HTTP {response.status} without a ticket id at "
                    f"{self.backend.id_path!r}; fix tickets.rest.id_path for {self.name}",
                    permanent=True, server=response.server,
                ) from None
            return Sent(f"HTTP {response.status}, ticket {external}", external_id=str(external),
                        server=response.server, reply=response.reply)
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
        return Sent(f"HTTP {response.status}", server=response.server, reply=response.reply)


class RestTicket(TicketBackend[RestTicketConfig]):
    key = "rest"
    config_type = RestTicketConfig
    url_fields = ("url",)

    def rehearse(self, entry: RestTicketConfig, where: str, rehearsal: Rehearsal
                 ) -> list[tuple[str, str]]:
        problem = entry.body_template and rehearsal.json_template(entry.body_template,
                                                                  TICKET_EVENTS)
        return [(f"{where}.body_template", f"{problem}; fix it, or leave body_template empty "
                 "for the built-in JSON")] if problem else []

    def build_sender(
        self, entry: RestTicketConfig, config: Config, renderer: MessageRenderer
    ) -> Sender:
        return RestTicketSender(entry, renderer)


PROVIDER = RestTicket()
