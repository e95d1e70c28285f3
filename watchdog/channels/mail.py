"""What the two email providers share: the ``[[smtp]]`` relay they name, and their sender.

``[[tickets.email]]`` (``email_ticket``) and ``[[notify.email]]`` (``email_notify``) both send
through a relay of the top-level ``[[smtp]]`` list, by its name, and differ only in their
recipients and in how they thread an incident's messages (``EmailSender.thread``). The SMTP
transport itself, and the classification of its failures, is ``smtp``; it is imported when a
sender is built, not with the config.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from watchdog.channels.provider import MessageRenderer, Outgoing, Sent, is_lan_host
from watchdog.config.schema import Config, SmtpConfig

if TYPE_CHECKING:
    from watchdog.channels.smtp import SmtpSettings


def relay_problems(
    config: Config, where: str, relay: str, addresses: list[str]
) -> list[tuple[str, str]]:
    """An email entry's cross-table rules: its relay is defined, its addresses look like ones.

    ``where``: the entry's key path (``tickets.email[0]``); ``relay``: its ``smtp`` key;
    ``addresses``: every recipient it lists (``to``, ``cc``).
    """
    found: list[tuple[str, str]] = []
    relays = {item.name for item in config.smtp}
    if relay not in relays:
        known = ", ".join(sorted(relays)) or "none defined"
        found.append((f"{where}.smtp", f"{relay!r} is not an [[smtp]] relay "
                      f"(known: {known}); add it or fix the name"))
    found.extend((f"{where}.to", f"{address!r} is not an email address")
                 for address in addresses if "@" not in address)
    return found


def relay_on_lan(config: Config, name: str) -> bool:
    """Whether the ``[[smtp]]`` relay called ``name`` is at an address on the LAN, so that
    mail through it leaves while the internet link is down (a name: not known to be)."""
    return any(relay.name == name and is_lan_host(relay.host) for relay in config.smtp)


def find_relay(config: Config, name: str) -> SmtpConfig:
    """The ``[[smtp]]`` relay called ``name`` (``relay_problems`` made sure there is one)."""
    return next(relay for relay in config.smtp if relay.name == name)


def smtp_settings(relay: SmtpConfig) -> SmtpSettings:
    """The transport's settings for a configured relay, its password revealed."""
    from watchdog.channels.smtp import SmtpSettings

    return SmtpSettings(
        host=relay.host, port=relay.port, security=relay.security, sender=relay.sender,
        username=relay.username or None,
        password=relay.password.reveal() if relay.password else None,
        timeout=relay.timeout.total_seconds(), ca_file=relay.ca_file or None,
    )


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return domain or "connectivity-watchdog.invalid"


class EmailSender:
    """Renders a message as an email, threads it, and hands it to the relay.

    Subclasses say how an incident's messages are threaded (``thread``).
    """

    def __init__(self, name: str, relay: SmtpConfig, to: list[str], cc: list[str],
                 renderer: MessageRenderer) -> None:
        self.name = name
        self.settings = smtp_settings(relay)
        self.to, self.cc = to, cc
        self.renderer = renderer
        self.domain = _domain(relay.sender)

    def thread(self, outgoing: Outgoing) -> tuple[str | None, list[str]]:
        """(In-Reply-To, References) of ``outgoing``: the thread it belongs to, if any."""
        raise NotImplementedError

    def message_id(self, key: str) -> str:
        """The Message-ID made from ``key``: the same on every attempt, in our domain."""
        from watchdog.channels.smtp import make_message_id

        return make_message_id(key, self.domain)

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        from watchdog.channels.smtp import build_email, send_email

        rendered = self.renderer.email(outgoing.context, sent_at)
        message_id = self.message_id(outgoing.key)
        in_reply_to, references = self.thread(outgoing)
        message = build_email(
            sender=self.settings.sender, to=self.to, cc=self.cc, subject=rendered.subject,
            text_body=rendered.text, message_id=message_id, in_reply_to=in_reply_to,
            references=references, date=sent_at,
        )
        receipt = send_email(self.settings, message)
        return Sent(receipt.reply, message_id=message_id, server=receipt.server,
                    reply=receipt.reply)
