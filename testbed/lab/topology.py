"""Where everything is in the lab: three network namespaces, office ↔ router ↔ internet.

::

    office 192.0.2.10/24 ── wd-lan ── 192.0.2.1/24 router 198.51.100.1/30 ── wd-wan ──
        198.51.100.2/30 internet, with the "internet hosts" as /32 addresses on its loopback:
        ping targets 203.0.113.1-3, resolvers 203.0.113.53 and .54 (UDP 53),
        web server 203.0.113.80 (TCP 80)

Only documentation ranges are used. No namespace has a route out of the 192.0.2.0/24,
198.51.100.0/30, 203.0.113.0/24 triangle. The interfaces are called ``wd-lan``/``wd-wan`` so
that a command that missed its namespace fails instead of touching the host.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

Node = Literal["office", "router", "internet"]
NODES: tuple[Node, ...] = ("office", "router", "internet")
LossDirection = Literal["up", "down", "both"]

OFFICE_ADDRESS = "192.0.2.10"
GATEWAY_ADDRESS = "192.0.2.1"
LAN_NETWORK = "192.0.2.0/24"
ROUTER_WAN_ADDRESS = "198.51.100.1"
INTERNET_WAN_ADDRESS = "198.51.100.2"
WAN_PREFIX = 30
INTERNET_NETWORK = "203.0.113.0/24"
PING_TARGETS = ("203.0.113.1", "203.0.113.2", "203.0.113.3")
DNS_SERVERS = ("203.0.113.53", "203.0.113.54")
DNS_PORT = 53
HTTP_SERVER = "203.0.113.80"
HTTP_PORT = 80
# What testbed/servers/dns_server.py answers for any name in its default mode.
DNS_ANSWER = "192.0.2.10"
INTERNET_HOSTS = (*PING_TARGETS, *DNS_SERVERS, HTTP_SERVER)

LAN_INTERFACE = "wd-lan"
WAN_INTERFACE = "wd-wan"


def check_internet_host(address: str) -> None:
    """Raise ``ValueError`` unless ``address`` is a host address of the lab's internet."""
    network = ipaddress.ip_network(INTERNET_NETWORK)
    host = ipaddress.ip_address(address)
    if host not in network or host in (network.network_address, network.broadcast_address):
        raise ValueError(f"{address} is not a host address in {INTERNET_NETWORK}, the lab's "
                         "internet")

