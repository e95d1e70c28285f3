"""Who gets what. Pure: from the config, an outage kind or an event → channel names.

Tickets: each ticket backend takes the outage kinds it lists (the ISP's helpdesk ``isp`` and
``dns``; the office's own IT ``lan``, never the ISP), of the uplinks that list it (an uplink's
``tickets``: its own provider's helpdesk). Notifications: each channel takes the
events it lists. Which entries are ticket backends or channels, and what they take, is the
providers' to say (``watchdog/channels/registry.py``).
"""

from __future__ import annotations

from watchdog.channels.provider import NOTIFY, TICKETS
from watchdog.channels.registry import configured
from watchdog.config.schema import Config


def ticket_backends(config: Config, kind: str, link: str | None = None) -> list[str]:
    """Names of the ticket backends that take outages of ``kind`` of the link called
    ``link``: among those its ``[[uplink]]`` lists in ``tickets`` (none listed, or no such
    link: every backend). Each uplink's provider gets its own line's tickets."""
    listed = next((entry.tickets for entry in config.links if entry.name == link), ())
    return [channel.entry.name for channel in configured(config, TICKETS)
            if channel.provider.takes(channel.entry, kind)
            and (not listed or channel.entry.name in listed)]


def notify_channels(config: Config, event: str) -> list[str]:
    """Names of the notification channels subscribed to ``event``."""
    return [channel.entry.name for channel in configured(config, NOTIFY)
            if channel.provider.takes(channel.entry, event)]
