"""Find the IPv4 default gateway by reading the kernel's routing table (no packets, no commands).

``/proc/net/route`` lists the main routing table, one route a line, addresses as the hex of
the raw 32-bit value. Policy-routing tables other than main are not listed there; a site that
routes by policy sets ``gateway.address`` in the config instead.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchdog.config.schema import GatewayConfig

PROC_ROUTE = "/proc/net/route"

# Route flags from <linux/route.h>.
RTF_UP = 0x0001
RTF_GATEWAY = 0x0002
RTF_REJECT = 0x0200

# Columns of /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ...
_INTERFACE, _DESTINATION, _GATEWAY, _FLAGS, _METRIC, _MASK = 0, 1, 2, 3, 6, 7


def default_gateway(route_file: str = PROC_ROUTE, interface: str = "") -> str | None:
    """Return the gateway address of the IPv4 default route with the lowest metric (with
    ``interface``: of the default routes through that interface, an uplink's).

    Takes the path of a file in ``/proc/net/route`` format. Returns None when there is no
    usable default route: none at all, only rejecting ones, or the best one has no gateway
    (a point-to-point link such as PPP, where there is no router to probe). A missing or
    unreadable file also gives None: the caller then says "no default route". Never raises.
    """
    best: tuple[int, str | None] | None = None
    for row in _rows(route_file):
        if interface and row[_INTERFACE:_INTERFACE + 1] != [interface]:
            continue
        parsed = _parse_default_route(row)
        if parsed is not None and (best is None or parsed[0] < best[0]):
            best = parsed
    return best[1] if best else None


def takes_default_route(address: str, route_file: str = PROC_ROUTE) -> bool:
    """Whether the kernel's main table sends packets for ``address`` through a default route
    (the most specific matching route is 0.0.0.0/0), or has no route for it at all; False
    for an address reached through a more specific route (a LAN, a VPN). Addresses other
    than IPv4 (this file lists none) count as taking the default route. Never raises."""
    try:
        wanted = struct.unpack("=I", socket.inet_aton(address))[0]
    except (OSError, struct.error):
        return True
    best: tuple[int, int] | None = None  # (prefix length, -metric)
    for row in _rows(route_file):
        try:
            destination, flags = int(row[_DESTINATION], 16), int(row[_FLAGS], 16)
            metric, mask = int(row[_METRIC]), int(row[_MASK], 16)
        except (IndexError, ValueError):
            continue
        if not flags & RTF_UP or flags & RTF_REJECT or wanted & mask != destination:
            continue
        rank = (bin(mask).count("1"), -metric)
        if best is None or rank > best:
            best = rank
    return best is None or best[0] == 0


def _rows(route_file: str) -> list[list[str]]:
    """The route lines of ``route_file`` split in columns (not its header); [] unreadable."""
    try:
        with open(route_file, encoding="ascii", errors="replace") as lines:
            return [line.split() for line in lines][1:]
    except OSError:
        return []


def gateway_to_probe(
    gateway: GatewayConfig, lookup: Callable[[], str | None] = default_gateway
) -> str | None:
    """The gateway address a link's cycle probes: the configured ``gateway.address``, else
    the default route's (``lookup``, read again every cycle: it may change); None when
    gateway probing is disabled or there is no default route."""
    if not gateway.enabled:
        return None
    return gateway.address or lookup()


def lookup_for(interface: str,
               lookup: Callable[[], str | None] = default_gateway) -> Callable[[], str | None]:
    """The gateway lookup of a link: ``lookup`` itself without an interface (the main
    default route), else the default route through ``interface``."""
    if not interface:
        return lookup
    return lambda: default_gateway(interface=interface)


def _parse_default_route(row: list[str]) -> tuple[int, str | None] | None:
    """(metric, gateway or None) when ``row`` is an active default route, else None."""
    try:
        destination = int(row[_DESTINATION], 16)
        gateway = int(row[_GATEWAY], 16)
        flags = int(row[_FLAGS], 16)
        metric = int(row[_METRIC])
        mask = int(row[_MASK], 16)
    except (IndexError, ValueError):
        return None  # a malformed line says nothing about the default route
    if destination != 0 or mask != 0 or not flags & RTF_UP or flags & RTF_REJECT:
        return None
    if not flags & RTF_GATEWAY or gateway == 0:
        return metric, None
    # The kernel prints the address's raw memory as a native-endian integer, so packing it back
    # in native order restores the network-order bytes on little- and big-endian hosts alike.
    return metric, socket.inet_ntoa(struct.pack("=I", gateway))
