"""Senders: one per configured ticket backend or notification channel, built by its provider.

``build_senders`` asks each provider of the registry (``watchdog/channels/registry.py``) for
the sender of each of its configured entries, all sharing one renderer that loads the
templates on first use. Each comes back as a ``Channel``: the sender, and its provider's
``classify``, which the delivery loop asks what a failure means (retry or give up).

``Outgoing``, ``Sent`` and ``Sender`` (the providers' side of the contract) are defined in
``watchdog/channels/provider.py`` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchdog.channels.errors import DeliveryError
from watchdog.channels.provider import (
    TEST,
    TICKET_CLOSE,
    TICKET_OPEN,
    MessageRenderer,
    Outgoing,
    Provider,
    Sender,
    Sent,
)
from watchdog.channels.registry import configured
from watchdog.config.schema import Config

if TYPE_CHECKING:
    from watchdog.delivery.render import RenderedEmail, Renderer

__all__ = [
    "TEST",
    "TICKET_CLOSE",
    "TICKET_OPEN",
    "Channel",
    "LazyRenderer",
    "MessageRenderer",
    "Outgoing",
    "Sender",
    "Sent",
    "build_senders",
]


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


@dataclass(frozen=True, slots=True)
class Channel:
    """One configured channel or ticket backend: its sender and the provider that built it."""

    name: str
    sender: Sender
    provider: Provider[Any]

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        """Send through the provider's sender (which raises what ``classify`` judges)."""
        return self.sender.send(outgoing, sent_at)

    def classify(self, error: Exception) -> DeliveryError | None:
        """What ``error`` from ``send`` means (see ``Provider.classify``)."""
        return self.provider.classify(error)


def build_senders(config: Config, zone: tzinfo) -> dict[str, Channel]:
    """Every configured ticket backend and notification channel, by name."""
    override = config.source.parent / "templates" if config.source else None
    renderer = LazyRenderer(config.site.language, zone, override if override and
                            Path(override).is_dir() else None)
    return {
        channel.entry.name: Channel(
            channel.entry.name, channel.provider.build_sender(channel.entry, config, renderer),
            channel.provider)
        for channel in configured(config)
    }
