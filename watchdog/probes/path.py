"""Path checks: which way an uplink's traffic really leaves, behind a router that fails over
to its backup (a 4G) by itself.

Two ways to tell, each a probe of kind ``path`` (``[uplink.path]``):

- ``public_address``: a web echo service (``echo_url``) answers with the address it sees the
  request come from: the public address of the path in use (the router's, after its NAT).
  It must be one of ``expect_address`` (addresses or prefixes).
- ``hop``: an ICMP echo towards ``hop_target`` with a time-to-live of ``hop`` (2: the first
  router beyond the office's own) draws a "time exceeded" from that router, which belongs
  to the operator of the path in use. It must answer from ``expect_hop`` (prefixes).

A result is ok when the answer is the uplink's own path; ``ok=False`` with ``received=1``
when the answer came from elsewhere: the traffic takes another path ("another path: public
address 198.51.100.5"); ``received=0`` when there was no answer to judge (a timeout, an
error page, the target reached within ``hop`` hops): that says nothing about the path, so a
single failed check never makes the line look down (``link.classify.other_path``).

Like every probe: a hard timeout, never raises, bound to the uplink (``Binding``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from icmplib import ICMPLibError, ICMPRequest, ICMPv4Socket, SocketPermissionError
from icmplib.utils import unique_identifier

from watchdog.binding import Binding
from watchdog.clock import monotonic, utcnow
from watchdog.config.schema import PathCheckConfig
from watchdog.probes.http import get
from watchdog.probes.results import ProbeResult

PUBLIC_ADDRESS = "public-address"
HOP_NAME = "hop-{hop}"
# Bytes of the echo service's answer read: an address, or a short page around one.
ECHO_BODY_BYTES = 4096
# What may be an address in the echo's answer ("ip=198.51.100.7", "2001:db8::7\n", JSON).
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]{3,}")

ERROR_NO_ADDRESS = "no address in the answer"
ERROR_TIMEOUT = "timeout"
ERROR_TARGET_REACHED = "the target answered within the hop count"
# Linux socket option numbers Python 3.11 does not name (see probes.ping).
_IP_RECVERR = 11
_ORIGIN_ICMP = 2
_TIME_EXCEEDED = 11
_PACKET_SIZE = 1024
_SOCK_EXTENDED_ERR = struct.Struct("=IBBBBII")


@dataclass(frozen=True, slots=True)
class Prefixes:
    """Addresses or prefixes, as ``expect_address``/``expect_hop`` list them."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def of(cls, texts: Sequence[str]) -> Prefixes:
        return cls(tuple(ipaddress.ip_network(text, strict=False) for text in texts))

    def __contains__(self, address: object) -> bool:
        try:
            found = ipaddress.ip_address(str(address))
        except ValueError:
            return False
        return any(found in network for network in self.networks)


def public_address(check: PathCheckConfig, *, timeout: float,
                   binding: Binding | None = None) -> ProbeResult:
    """Ask ``check.echo_url`` which address the request came from; ok when it is one of
    ``check.expect_address`` (see the module for what a failure means). Blocking: the cycle
    runs it in a thread. Never raises."""
    at = utcnow()
    fetched = get(check.echo_url, timeout=timeout, limit=ECHO_BODY_BYTES, keep_body=True,
                  binding=binding)
    error = fetched.error
    seen: str | None = None
    if error is None and fetched.status is not None and not 200 <= fetched.status < 300:
        error = f"HTTP {fetched.status}"
    if error is None:
        seen = first_address(fetched.body.decode("utf-8", errors="replace"))
        error = ERROR_NO_ADDRESS if seen is None else None
    expected = seen is not None and seen in Prefixes.of(check.expect_address)
    if seen is not None and not expected:
        error = f"another path: public address {seen}"
    return ProbeResult(kind="path", target=PUBLIC_ADDRESS, address=check.echo_url,
                       ok=expected, at=at, rtt_ms=fetched.rtt_ms, error=error,
                       received=1 if seen is not None else 0)


def first_address(text: str) -> str | None:
    """The first IP address written in ``text`` (an echo service's answer), or None."""
    for token in _ADDRESS_LIKE.findall(text):
        try:
            return str(ipaddress.ip_address(token.strip(".:")))
        except ValueError:
            continue
    return None


async def hop(check: PathCheckConfig, target: str, *, timeout: float, privileged: bool,
              binding: Binding | None = None) -> ProbeResult:
    """Send one echo towards ``target`` with a time-to-live of ``check.hop`` and see which
    router says "time exceeded"; ok when it is in ``check.expect_hop`` (see the module for
    what a failure means). IPv4 only. Never raises; lasts at most ``timeout``."""
    at = utcnow()
    started = monotonic()
    try:
        answered, error = await _trace(target, check.hop, timeout, privileged, binding)
    except (OSError, ICMPLibError) as failure:
        answered = None
        error = "ping not permitted" if isinstance(failure, SocketPermissionError) else (
            str(getattr(failure, "strerror", None) or failure).lower()[:80])
    rtt_ms = round((monotonic() - started) * 1000, 3) if answered else None
    expected = answered is not None and answered in Prefixes.of(check.expect_hop)
    if answered is not None and not expected:
        error = f"another path: hop {check.hop} is {answered}"
    return ProbeResult(kind="path", target=HOP_NAME.format(hop=check.hop), address=target,
                       ok=expected, at=at, rtt_ms=rtt_ms, error=error,
                       received=1 if answered is not None else 0)


async def _trace(target: str, ttl: int, timeout: float, privileged: bool,
                 binding: Binding | None) -> tuple[str | None, str | None]:
    """(the router that said "time exceeded", None) or (None, why there is none)."""
    source = (binding.source or None) if binding else None
    deadline = monotonic() + timeout
    with ICMPv4Socket(source, privileged) as icmp:
        icmp.blocking = False
        sock: socket.socket = icmp.sock
        if binding is not None and binding.interface:
            Binding(binding.interface).apply(sock)
        if not privileged:
            # An unprivileged ping socket hears of ICMP errors only through its error queue.
            sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
        request = ICMPRequest(destination=target, id=unique_identifier(), sequence=0, ttl=ttl)
        icmp.send(request)
        loop = asyncio.get_running_loop()
        while (remaining := deadline - monotonic()) > 0:
            try:
                async with asyncio.timeout(remaining):
                    packet = await loop.sock_recv(sock, _PACKET_SIZE)
            except TimeoutError:
                break
            except OSError:
                # The error (EHOSTUNREACH for "time exceeded") is in the error queue.
                router = _time_exceeded_by(sock)
                if router is not None:
                    return router, None
                continue
            if not privileged:
                return None, ERROR_TARGET_REACHED  # only our own echo reply comes here
            router, reached = _parse_raw(packet, request.id)
            if router is not None:
                return router, None
            if reached:
                return None, ERROR_TARGET_REACHED
    return None, ERROR_TIMEOUT


def _time_exceeded_by(sock: socket.socket) -> str | None:
    """Read the error queue (IP_RECVERR): the router that said "time exceeded", if any."""
    while True:
        try:
            _data, ancillary, _flags, _address = sock.recvmsg(64, 512, socket.MSG_ERRQUEUE)
        except OSError:  # BlockingIOError: the queue is empty
            return None
        for level, kind, data in ancillary:
            if level != socket.IPPROTO_IP or kind != _IP_RECVERR or len(data) < 24:
                continue
            _errno, origin, icmp_type, _code, _pad, _info, _extra = (
                _SOCK_EXTENDED_ERR.unpack_from(data))
            # The offender's sockaddr_in follows the struct: family, port, address.
            if origin == _ORIGIN_ICMP and icmp_type == _TIME_EXCEEDED:
                return socket.inet_ntoa(data[20:24])


def _parse_raw(packet: bytes, ident: int) -> tuple[str | None, bool]:
    """A raw socket's packet (with its IP header): (the router whose "time exceeded" quotes
    our request ``ident``, whether it is our echo reply, the target reached)."""
    if len(packet) < 28:
        return None, False
    header = (packet[0] & 0x0F) * 4
    icmp_type = packet[header]
    if icmp_type == 0:
        return None, struct.unpack_from("!H", packet, header + 4)[0] == ident
    if icmp_type != _TIME_EXCEEDED or len(packet) < header + 8 + 28:
        return None, False
    quoted = header + 8  # the original IP header, then its ICMP header
    inner = quoted + (packet[quoted] & 0x0F) * 4
    if len(packet) < inner + 8 or struct.unpack_from("!H", packet, inner + 4)[0] != ident:
        return None, False
    return socket.inet_ntoa(packet[12:16]), False
