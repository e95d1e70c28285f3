"""Where everything is in the lab: three network namespaces, office ↔ router ↔ internet.

::

    office 192.0.2.10/24 ── wd-lan ── 192.0.2.1/24 router 198.51.100.1/30 ── wd-wan ──
        198.51.100.2/30 internet, with the "internet hosts" as /32 addresses on its loopback:
        ping targets 203.0.113.1-3, resolvers 203.0.113.53 and .54 (UDP 53),
        web server 203.0.113.80 (TCP 80)

A lab may also have a backup path to the same internet (``Lab(backup=...)``):

- ``"uplink"``: a second uplink of the office's own, through a 4G router (namespace
  ``mobile``): office 198.51.100.20/28 ── wd-4g ── 198.51.100.17/28 mobile 198.51.100.5/30 ──
  wd-wan ── wd-4g 198.51.100.6/30 internet. The office has two default routes (the fibre's
  first, the 4G's at metric 200) and a policy rule sending what leaves from 198.51.100.20 to
  the 4G's (as an admin would set it up for a source-bound uplink).
- ``"failover"``: the fibre router itself has the 4G path, 198.51.100.5/30 ── wd-4g ──
  198.51.100.6/30 internet, and fails over to it by itself (``LabFaults.fail_over``). It
  hides the office behind its WAN address (NAT), so the echo service sees 198.51.100.1
  through the fibre and 198.51.100.5 through the 4G; and the internet forwards to a far
  host, 203.0.113.254 (routed to an interface with nothing behind it), so a packet with a
  time-to-live of 2 dies at the internet's edge of the path it took: 198.51.100.2 or
  198.51.100.6.

Only documentation ranges are used. No namespace has a route out of the 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24 triangle. The interfaces are called ``wd-lan``/``wd-wan`` (and
``wd-4g``) so that a command that missed its namespace fails instead of touching the host.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

Node = Literal["office", "router", "internet", "mobile"]
NODES: tuple[Node, ...] = ("office", "router", "internet")
LossDirection = Literal["up", "down", "both"]
# The backup path of a lab: none, the office's own 4G uplink, or its router's failover.
Backup = Literal["uplink", "failover"]

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

# The backup path (4G), see the module's doc.
BACKUP_INTERFACE = "wd-4g"
BACKUP_OFFICE_ADDRESS = "198.51.100.20"
BACKUP_GATEWAY_ADDRESS = "198.51.100.17"
BACKUP_LAN_PREFIX = 28
BACKUP_LAN_NETWORK = "198.51.100.16/28"
BACKUP_WAN_ADDRESS = "198.51.100.5"
BACKUP_INTERNET_ADDRESS = "198.51.100.6"
# The office's policy table for what leaves from its 4G address.
BACKUP_TABLE = 200
BACKUP_METRIC = 200
# What the echo service sees of each path behind the failover router (its NAT).
FIBRE_PUBLIC_ADDRESS = ROUTER_WAN_ADDRESS
BACKUP_PUBLIC_ADDRESS = BACKUP_WAN_ADDRESS
# The prefixes of each path's operator at the internet's edge (the hop 2 of each path).
FIBRE_OPERATOR_PREFIX = "198.51.100.0/30"
BACKUP_OPERATOR_PREFIX = "198.51.100.4/30"
# A host beyond the internet's edge: traced with a time-to-live of 2, it names the path.
FAR_HOST = "203.0.113.254"
FAR_INTERFACE = "wd-far"
ECHO_PATH = "/ip"


def check_internet_host(address: str) -> None:
    """Raise ``ValueError`` unless ``address`` is a host address of the lab's internet."""
    network = ipaddress.ip_network(INTERNET_NETWORK)
    host = ipaddress.ip_address(address)
    if host not in network or host in (network.network_address, network.broadcast_address):
        raise ValueError(f"{address} is not a host address in {INTERNET_NETWORK}, the lab's "
                         "internet")

