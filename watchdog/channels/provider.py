"""The contract of a provider: one kind of notification channel or ticket backend.

A provider is one module of ``watchdog/channels/`` and one line of ``registry.py``. The module
holds three things, and nothing outside it names the provider:

- its config class: a frozen dataclass the config loader fills from each ``[[SECTION.KEY]]``
  table of the TOML, with the same checks and messages as every other table (field metadata:
  ``min``, ``max``, ``secret``; cross-field rules in ``Provider.problems``), so a problem
  reads ``FILE: SECTION.KEY[i].field: what is wrong; the fix``. It has a ``name`` (outbox
  rows refer to it) and what routing reads: ``kinds`` (a ticket backend: the outage kinds it
  takes) or ``events`` (a notification channel: the events it takes).
- its sender: ``Provider.build_sender(entry, config, renderer)`` returns an object with
  ``name`` and ``send(outgoing, sent_at) -> Sent``. It renders the stored context at send time
  (so a late message says how late it is) and hands it to a transport.
- its error classification: ``Provider.classify(error)`` turns what its sender raised into a
  ``DeliveryError`` whose ``permanent`` flag the outbox obeys: transient ones are retried with
  backoff, permanent ones fail the message with the error stored. The transports (``smtp``,
  ``webhook``) already raise classified ``DeliveryError``s, and so does a template that does
  not render (``RenderError``, permanent); a provider whose sender raises anything else says
  here what it means.

``section`` says what the provider is: ``"tickets"`` (a ticket backend, routed outages by
kind; ``notify-test`` leaves it alone unless it is named) or ``"notify"`` (a notification
channel, routed events by name). Subclass ``TicketBackend`` or ``NotifyChannel``.

A provider module imports no transport at import time: the registry is read with the config
by every command, and ``watchdog status`` must not pay for smtplib, ssl or requests.
"""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, Protocol, TypeVar, get_args
from urllib.parse import urlsplit

from watchdog.channels.errors import DeliveryError
from watchdog.config.schema import NotifyConfig, Section, TicketsConfig, is_http_url
from watchdog.vocabulary import NotifyEvent, OutageKind

if TYPE_CHECKING:
    from watchdog.config.schema import Config
    from watchdog.delivery.render import RenderedEmail

TICKETS: Final[Section] = TicketsConfig.section
NOTIFY: Final[Section] = NotifyConfig.section

# The events a sender tells apart: a REST helpdesk opens, updates and closes its ticket, and a
# test asked for by name (``notify-test --channel``) expects nothing of the answer.
TICKET_OPEN: Final = "ticket_open"
TICKET_CLOSE: Final = "ticket_close"
TEST: Final = "test"


# Outgoing and Sent are NamedTuples, not dataclasses: this module is loaded with the config by
# every command, and defining a frozen dataclass costs about 1 ms of start-up, six times more.
class Outgoing(NamedTuple):
    """A claimed outbox message, as a sender needs it."""

    key: str
    channel: str
    event: str
    incident_id: int | None
    context: Mapping[str, Any]
    # For a REST helpdesk's follow-ups: the id its answer to the opening call gave.
    ticket_external_id: str | None = None


class Sent(NamedTuple):
    """What the receiving end said (for the timeline), and a REST ticket's id if any.

    The proof of delivery: ``server`` is where the message went (``relay.lan:587
    [192.0.2.25]``, or a URL without its secrets), ``reply`` the server's own answer (SMTP's
    reply to the data, ``HTTP 201 Created`` and the start of the body); without a ``reply``,
    ``response`` stands for it. ``message_id`` is an email's Message-ID.
    """

    response: str
    external_id: str | None = None
    message_id: str | None = None
    server: str | None = None
    reply: str | None = None


class Sender(Protocol):
    """Sends one message; raises whatever its provider's ``classify`` understands."""

    @property
    def name(self) -> str: ...

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent: ...


class MessageRenderer(Protocol):
    """What senders need of the templates (``watchdog.delivery.render.Renderer``)."""

    def email(self, context: Mapping[str, Any], sent_at: datetime) -> RenderedEmail: ...

    def json_body(self, context: Mapping[str, Any], sent_at: datetime,
                  template: str | None = None) -> bytes: ...


class Rehearsal(Protocol):
    """What ``Provider.rehearse`` may ask (``watchdog.delivery.rehearsal.Rehearsal``)."""

    def json_template(self, template: str, events: Sequence[str]) -> str | None:
        """None when the user's JSON ``template`` is found and renders valid JSON for each
        of ``events`` with sample data; else why not."""


class ChannelConfig(Protocol):
    """What every provider's config class has: the name outbox rows refer to."""

    @property
    def name(self) -> str: ...


class TicketBackendConfig(ChannelConfig, Protocol):
    @property
    def kinds(self) -> Sequence[str]: ...


class NotifyChannelConfig(ChannelConfig, Protocol):
    @property
    def events(self) -> Sequence[str]: ...


EntryT = TypeVar("EntryT", bound=ChannelConfig)
TicketEntryT = TypeVar("TicketEntryT", bound=TicketBackendConfig)
NotifyEntryT = TypeVar("NotifyEntryT", bound=NotifyChannelConfig)


def is_lan_host(host: str) -> bool:
    """Whether ``host`` is an address reachable without the internet: private (RFC 1918, IPv6
    unique local), loopback or link-local. A name is never resolved here (no lookup over a
    network that may be down), so it counts as not known to be on the LAN."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def isp_kinds() -> list[OutageKind]:
    """A ticket backend's default ``kinds``: the outages that are the ISP's to repair."""
    return ["isp", "dns"]


def all_events() -> list[NotifyEvent]:
    """A notification channel's default ``events``: every one."""
    return list(get_args(NotifyEvent))


class Provider(ABC, Generic[EntryT]):
    """One kind of channel or ticket backend; its entries are ``[[section.key]]`` tables."""

    section: Section
    key: str
    config_type: type[EntryT]
    # Fields of the entry that must hold an http(s) URL (checked by the default ``problems``).
    url_fields: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        """The TOML table of its entries, as config messages name it: ``tickets.email``."""
        return f"{self.section}.{self.key}"

    @abstractmethod
    def takes(self, entry: EntryT, topic: str) -> bool:
        """Whether ``entry`` gets messages about ``topic``: an outage kind or an event."""

    def problems(self, entry: EntryT, where: str, config: Config) -> list[tuple[str, str]]:
        """Rules across fields or tables: (key path under ``where``, what is wrong; the fix).

        ``where`` is the entry's own key path, e.g. ``tickets.email[0]``. Single fields are
        checked by the loader from the config class's types and metadata; by default the
        ``url_fields`` are checked to be http(s) URLs, and nothing more.
        """
        return [(f"{where}.{name}", f"{url!r} is not an http(s) URL")
                for name in self.url_fields
                if not is_http_url(url := getattr(entry, name))]

    def rehearse(self, entry: EntryT, where: str, rehearsal: Rehearsal
                 ) -> list[tuple[str, str]]:
        """What only trying shows, found by ``config check`` before an outage needs it: the
        entry's own templates rendered once with sample data (``rehearsal``). (key path under
        ``where``, what is wrong; the fix). Never run with the config's every load: it reads
        files and loads Jinja2. By default: nothing to try."""
        return []

    def reaches_without_internet(self, entry: EntryT, config: Config) -> bool:
        """Whether ``entry`` can deliver while the internet link is down: its receiver is on
        the LAN or it needs no network. By default: every ``url_fields`` URL's host is an
        address on the LAN (``is_lan_host``); a name is not resolved, so not known to be."""
        hosts = [urlsplit(getattr(entry, name)).hostname or "" for name in self.url_fields]
        return bool(hosts) and all(is_lan_host(host) for host in hosts)

    @abstractmethod
    def build_sender(self, entry: EntryT, config: Config, renderer: MessageRenderer) -> Sender:
        """The sender of one configured ``entry`` (``config``: for shared tables such as
        ``[[smtp]]``). Imports its transport here, not at module level."""

    def classify(self, error: Exception) -> DeliveryError | None:
        """What ``error``, raised by this provider's sender, means for the message.

        A ``DeliveryError`` (permanent or transient: retried with backoff); None when the
        provider does not know it, which the outbox takes for a bug: retried, logged as an
        error. By default only ``DeliveryError`` (``RenderError`` included) is known.
        """
        return error if isinstance(error, DeliveryError) else None


class TicketBackend(Provider[TicketEntryT]):
    """A ticket backend: its entries take the outages whose kind their ``kinds`` list."""

    section: Section = TICKETS

    def takes(self, entry: TicketEntryT, topic: str) -> bool:
        return topic in entry.kinds


class NotifyChannel(Provider[NotifyEntryT]):
    """A notification channel: its entries take the events their ``events`` list."""

    section: Section = NOTIFY

    def takes(self, entry: NotifyEntryT, topic: str) -> bool:
        return topic in entry.events
