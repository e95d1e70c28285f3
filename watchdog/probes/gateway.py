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
_DESTINATION, _GATEWAY, _FLAGS, _METRIC, _MASK = 1, 2, 3, 6, 7


def default_gateway(route_file: str = PROC_ROUTE) -> str | None:
    """Return the gateway address of the IPv4 default route with the lowest metric.

    Takes the path of a file in ``/proc/net/route`` format. Returns None when there is no
    usable default route: none at all, only rejecting ones, or the best one has no gateway
    (a point-to-point link such as PPP, where there is no router to probe). A missing or
    unreadable file also gives None: the caller then says "no default route". Never raises.
    """
    try:
        with open(route_file, encoding="ascii", errors="replace") as lines:
            rows = [line.split() for line in lines]
    except OSError:
        return None

    best: tuple[int, str | None] | None = None
    for row in rows[1:]:  # the first line is the column header
        parsed = _parse_default_route(row)
        if parsed is not None and (best is None or parsed[0] < best[0]):
            best = parsed
    return best[1] if best else None


def gateway_to_probe(
    gateway: GatewayConfig, lookup: Callable[[], str | None] = default_gateway
) -> str | None:
    """The gateway address a link's cycle probes: the configured ``gateway.address``, else
    the default route's (``lookup``, read again every cycle: it may change); None when
    gateway probing is disabled or there is no default route."""
    if not gateway.enabled:
        return None
    return gateway.address or lookup()


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
