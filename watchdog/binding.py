"""How a socket leaves through one uplink: bound to its interface and/or its source address.

Probes are always bound to the uplink they watch (``probes.cycle`` passes the link's
``Binding`` to every probe). Messages are bound only while the daemon says so: the delivery
loop sets the ``outbound`` binding of its thread to a working uplink when the primary one is
down (``daemon.routes``), and the transports (SMTP, webhooks) apply it to each connection
whose destination the kernel would send through a default route. A relay or a webhook on the
LAN is reached through its own connected route, so it is never bound away from it.

Two ways to bind, which may be combined:

- ``interface``: ``SO_BINDTODEVICE``. The kernel then routes the socket's packets through
  that interface's routes only (its default route included, whatever its metric). Since
  Linux 5.7 any process may bind a fresh socket so; only changing it needs ``CAP_NET_RAW``
  (older kernels need it for both: the service's unit grants it, see systemd/ping-raw.conf).
- ``source``: ``bind()`` to one of the host's addresses. The route is still looked up in the
  main table unless a policy rule says otherwise, so a source address alone needs
  ``ip rule add from ADDRESS table N`` with that uplink's default route in table ``N`` (the
  README shows it); with it, no privilege is needed.

Standard library only: the light read commands import the config, which names this module.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchdog.config.schema import LinkConfig


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a socket leaves from: an interface name and/or a local address (empty: any)."""

    interface: str = ""
    source: str = ""

    @classmethod
    def of(cls, link: LinkConfig) -> Binding | None:
        """The binding of ``link``'s probes; None when it leaves by the default route."""
        if not link.interface and not link.source:
            return None
        return cls(link.interface, link.source)

    def __str__(self) -> str:
        parts = [f"interface {self.interface}"] if self.interface else []
        parts += [f"source {self.source}"] if self.source else []
        return ", ".join(parts) or "default route"

    def apply(self, sock: socket.socket) -> None:
        """Bind ``sock`` (not yet connected) to the interface, then to the source address.

        Raises ``OSError`` as the kernel refuses: ``EPERM`` (the socket was already bound to
        a device, or an old kernel without ``CAP_NET_RAW``), ``ENODEV`` (no such interface),
        ``EADDRNOTAVAIL`` (not an address of this host).
        """
        if self.interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                            self.interface.encode())
        if self.source:
            sock.bind((self.source, 0))

    def pool_arguments(self) -> dict[str, Any]:
        """urllib3's connection arguments that bind its sockets so (for requests' adapters):
        its default TCP_NODELAY kept, SO_BINDTODEVICE added, the source address."""
        options: list[tuple[int, int, int | bytes]] = [
            (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        if self.interface:
            options.append((socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                            self.interface.encode()))
        arguments: dict[str, Any] = {"socket_options": options}
        if self.source:
            arguments["source_address"] = (self.source, 0)
        return arguments


def create_connection(address: tuple[str, int], timeout: float | None,
                      binding: Binding | None,
                      source_address: tuple[str, int] | None = None) -> socket.socket:
    """``socket.create_connection`` with ``binding`` applied before each connect (None: the
    plain call, with ``source_address``). Raises what ``socket.create_connection`` raises."""
    if binding is None:
        return socket.create_connection(address, timeout, source_address)
    host, port = address
    failure: OSError | None = None
    for family, kind, protocol, _name, target in socket.getaddrinfo(
            host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, protocol)
        try:
            binding.apply(sock)
            sock.settimeout(timeout)
            sock.connect(target)
        except OSError as error:
            sock.close()
            failure = error
            continue
        return sock
    raise failure or OSError(f"getaddrinfo returned nothing for {host}")


# The binding of this thread's deliveries (None: the default route), set by the delivery loop.
_outbound: ContextVar[Binding | None] = ContextVar("outbound", default=None)


@contextlib.contextmanager
def outbound(binding: Binding | None) -> Iterator[None]:
    """Within the block, this thread's messages leave through ``binding`` (see the module)."""
    token = _outbound.set(binding)
    try:
        yield
    finally:
        _outbound.reset(token)


def outbound_for(host: str) -> Binding | None:
    """The binding a message to ``host`` (an address or a name) leaves with now: the
    ``outbound`` one when the kernel would send it through a default route, else None (a
    LAN host keeps its own route). A name that cannot be resolved here is bound: the
    connection itself will say what is wrong."""
    binding = _outbound.get()
    if binding is None:
        return None
    from watchdog.probes.gateway import takes_default_route

    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except OSError:
        return binding
    addresses = {str(info[4][0]) for info in infos}
    return binding if any(takes_default_route(address) for address in addresses) else None
