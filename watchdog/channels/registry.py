"""Every kind of notification channel and ticket backend, registered once.

Config parsing (the ``[tickets]`` and ``[notify]`` tables and their checks), routing,
``build_senders``, ``notify-test`` and ``Config.channel_names`` read this registry and name no
provider. A new provider is one module of this package (``provider`` says what it holds,
ending with ``PROVIDER = TheProvider()``) and one line in ``PROVIDERS`` at the end of this file;
the order of the lines is the order in which channels are listed, routed and built, within
their section. ``register`` adds one from elsewhere (a test's own provider).
"""

from __future__ import annotations

import dataclasses
import importlib
import types
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from watchdog.channels.provider import NOTIFY, TICKETS, ChannelConfig, Provider

if TYPE_CHECKING:
    from watchdog.config.schema import ChannelTables, Config

_PROVIDERS: list[Provider[Any]] = []

TablesT = TypeVar("TablesT", bound="ChannelTables")
# The dataclasses tables_type made, by table and registered providers.
_MADE: dict[tuple[type[Any], tuple[Provider[Any], ...]], type[Any]] = {}


class Configured(NamedTuple):
    """One configured channel: its provider, its config entry, and its key path in messages."""

    provider: Provider[Any]
    entry: ChannelConfig
    # "tickets.email[0]": how config problems name this entry.
    where: str


def register(provider: Provider[Any]) -> None:
    """Add ``provider``; raises ValueError if its section or table is taken or unknown."""
    if provider.section not in (TICKETS, NOTIFY):
        raise ValueError(f"{type(provider).__name__}: section must be {TICKETS!r} or "
                         f"{NOTIFY!r}, not {provider.section!r}")
    if not provider.key.isidentifier():
        raise ValueError(f"{type(provider).__name__}: key {provider.key!r} is not a name")
    if not dataclasses.is_dataclass(provider.config_type):
        raise ValueError(f"{type(provider).__name__}: config_type must be a dataclass")
    if any(known.table == provider.table for known in _PROVIDERS):
        raise ValueError(f"[[{provider.table}]] is already registered")
    _PROVIDERS.append(provider)


def unregister(provider: Provider[Any]) -> None:
    """Remove ``provider`` (a test's own provider, when the test is over)."""
    _PROVIDERS.remove(provider)


def providers(section: str | None = None) -> list[Provider[Any]]:
    """The registered providers of ``section`` (all of them by default), in order."""
    return [provider for provider in _PROVIDERS if section in (None, provider.section)]


def configured(config: Config, section: str | None = None) -> list[Configured]:
    """Every channel ``config`` defines in ``section`` (all by default), in registry order.

    A config read before a provider was registered simply has none of its channels.
    """
    found: list[Configured] = []
    for provider in providers(section):
        tables = getattr(config, provider.section)
        for index, entry in enumerate(getattr(tables, provider.key, ())):
            found.append(Configured(provider, entry, f"{provider.table}[{index}]"))
    return found


def tables_type(base: type[TablesT]) -> type[TablesT]:
    """The dataclass of ``[tickets]`` or ``[notify]``: a list field per registered provider.

    ``base`` is ``TicketsConfig`` or ``NotifyConfig``; the result is its subclass with one
    ``list[ConfigType]`` field named by each provider's key (``config.tickets.email``), so the
    loader reads, checks and prints these tables like any other. Made once per set of
    providers: two configs read under the same registry compare equal.
    """
    registered = tuple(providers(base.section))
    made = _MADE.get((base, registered))
    if made is None:
        fields: list[tuple[str, Any, Any]] = [
            (provider.key, types.GenericAlias(list, (provider.config_type,)),
             dataclasses.field(default_factory=list))
            for provider in registered
        ]
        made = dataclasses.make_dataclass(base.__name__, fields, bases=(base,), frozen=True)
        _MADE[base, registered] = made
    return cast("type[TablesT]", made)


# The providers, one line each: the module of this package that defines its PROVIDER.
PROVIDERS = (
    "email_ticket",  # [[tickets.email]]
    "rest_ticket",  # [[tickets.rest]]
    "command_ticket",  # [[tickets.command]]
    "email_notify",  # [[notify.email]]
    "webhook_notify",  # [[notify.webhook]]
    "command_notify",  # [[notify.command]]
    "apprise_notify",  # [[notify.apprise]]
)

for _module in PROVIDERS:
    register(importlib.import_module(f"{__package__}.{_module}").PROVIDER)
