"""``[[notify.webhook]]``: a webhook (Slack, Teams, Mattermost, ntfy, Gotify or your own).

The body is JSON: the built-in payload, or the user's template (``config/templates/examples``).
Each request carries the message's key as its Idempotency-Key and, when ``hmac_secret`` is
set, an HMAC-SHA256 signature (``webhook`` documents how a receiver checks it). The HTTP
transport classifies failures: connection errors, timeouts, 408, 425, 429 and 5xx transient;
other 4xx, redirects and untrusted certificates permanent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from watchdog.channels.provider import (
    MessageRenderer,
    NotifyChannel,
    Outgoing,
    Rehearsal,
    Sender,
    Sent,
    all_events,
)
from watchdog.config.schema import SECRET, Config
from watchdog.config.secrets import Secret
from watchdog.vocabulary import NotifyEvent

if TYPE_CHECKING:
    from watchdog.channels.webhook import WebhookSettings


@dataclass(frozen=True)
class WebhookNotifyConfig:
    name: str
    url: str
    events: list[NotifyEvent] = field(default_factory=all_events)
    headers: dict[str, str] = field(default_factory=dict)
    token: Secret | None = field(default=None, metadata=SECRET)
    token_file: str = ""
    token_env: str = ""
    # Signs each body with HMAC-SHA256 when set (see watchdog/channels/webhook.py).
    hmac_secret: Secret | None = field(default=None, metadata=SECRET)
    hmac_secret_file: str = ""
    hmac_secret_env: str = ""
    # A Jinja2 template in templates/ next to this file rendering the JSON body (Slack, Teams,
    # ntfy: see config/templates/examples); empty: the built-in JSON.
    template: str = ""
    timeout: timedelta = field(default=timedelta(seconds=10),
                               metadata={"min": timedelta(seconds=0.1)})


class WebhookNotifySender:
    """One POST of the rendered JSON per message."""

    def __init__(self, channel: WebhookNotifyConfig, renderer: MessageRenderer) -> None:
        from watchdog.channels.webhook import WebhookSettings

        self.name = channel.name
        self.settings: WebhookSettings = WebhookSettings(
            url=channel.url, headers=dict(channel.headers),
            token=channel.token.reveal() if channel.token else None,
            hmac_secret=channel.hmac_secret.reveal() if channel.hmac_secret else None,
            timeout=channel.timeout.total_seconds(),
        )
        self.template = channel.template or None
        self.renderer = renderer

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        from watchdog.channels.webhook import post_json

        body = self.renderer.json_body(outgoing.context, sent_at, self.template)
        response = post_json(self.settings, body, idempotency_key=outgoing.key, now=sent_at)
        return Sent(f"HTTP {response.status}", server=response.server, reply=response.reply)


class WebhookNotify(NotifyChannel[WebhookNotifyConfig]):
    key = "webhook"
    config_type = WebhookNotifyConfig
    url_fields = ("url",)

    def rehearse(self, entry: WebhookNotifyConfig, where: str, rehearsal: Rehearsal
                 ) -> list[tuple[str, str]]:
        problem = entry.template and rehearsal.json_template(entry.template, entry.events)
        return [(f"{where}.template", f"{problem}; put it in templates/ next to the config "
                 "(config/templates/examples has working ones), or leave template empty for "
                 "the built-in JSON")] if problem else []

    def build_sender(
        self, entry: WebhookNotifyConfig, config: Config, renderer: MessageRenderer
    ) -> Sender:
        return WebhookNotifySender(entry, renderer)


PROVIDER = WebhookNotify()
