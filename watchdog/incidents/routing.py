"""Who gets what. Pure: from the config, an outage kind or an event → channel names.

Tickets: each ticket backend takes the outage kinds it lists (the ISP's helpdesk ``isp`` and
``dns``; the office's own IT ``lan``, never the ISP). Notifications: each channel takes the
events it lists. Which entries are ticket backends or channels, and what they take, is the
providers' to say (``watchdog/channels/registry.py``).
"""

from __future__ import annotations

from watchdog.channels.provider import NOTIFY, TICKETS
from watchdog.channels.registry import configured
from watchdog.config.schema import Config


def ticket_backends(config: Config, kind: str) -> list[str]:
    """Names of the ticket backends that take outages of ``kind``."""
    return [channel.entry.name for channel in configured(config, TICKETS)
            if channel.provider.takes(channel.entry, kind)]


def notify_channels(config: Config, event: str) -> list[str]:
    """Names of the notification channels subscribed to ``event``."""
    return [channel.entry.name for channel in configured(config, NOTIFY)
            if channel.provider.takes(channel.entry, event)]
