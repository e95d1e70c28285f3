"""Who gets what. Pure: from the config, an outage kind or an event → channel names.

Tickets: ``isp`` and ``dns`` outages go to the backends that take them (the ISP's helpdesk);
``lan`` outages to the office's own IT, never to the ISP. Notifications: every channel whose
``events`` list the event.
"""

from __future__ import annotations

from watchdog.config.schema import Config


def ticket_backends(config: Config, kind: str) -> list[str]:
    """Names of the ticket backends that take outages of ``kind``."""
    email = [backend.name for backend in config.tickets.email if kind in backend.kinds]
    rest = [backend.name for backend in config.tickets.rest if kind in backend.kinds]
    return email + rest


def notify_channels(config: Config, event: str) -> list[str]:
    """Names of the notification channels subscribed to ``event``."""
    email = [channel.name for channel in config.notify.email if event in channel.events]
    webhook = [channel.name for channel in config.notify.webhook if event in channel.events]
    return email + webhook
