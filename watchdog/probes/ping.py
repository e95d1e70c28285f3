"""ICMP echo probes through icmplib, and the start-up check of how this host lets us ping.

Two socket modes exist on Linux. Unprivileged ICMP datagram sockets (allowed by the sysctl
``net.ipv4.ping_group_range``) get a kernel-chosen echo id per socket and only ever see their own
replies. Raw sockets (root or CAP_NET_RAW) see every ICMP packet on the host and must match replies
by id and sequence themselves. ``detect_ping_mode`` picks one at start-up; ``ping`` uses it.

icmplib's own ``async_ping`` swallows every error and reports it as plain loss, and drops a reply
it reads after its time limit even when the reply arrived in time. So ``ping`` uses icmplib for
sockets and packets and runs the exchange itself: it can say why a probe failed ("unreachable",
"blocked by local firewall"), and it judges a reply by when the kernel received it, not by when
a busy event loop got round to reading it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import sys
from typing import Any

from icmplib import (
    DestinationUnreachable,
    ICMPError,
    ICMPLibError,
    ICMPRequest,
    ICMPv4Socket,
    ICMPv6Socket,
    SocketPermissionError,
    TimeExceeded,
    TimeoutExceeded,
)
from icmplib.utils import unique_identifier

from watchdog.binding import Binding
from watchdog.clock import monotonic, utcnow
from watchdog.errors import SetupError
from watchdog.probes.results import ProbeResult
from watchdog.vocabulary import ProbeKind

# Short reasons for people and for the classifier; any other failure gets a short text of its own.
ERROR_TIMEOUT = "timeout"
ERROR_UNREACHABLE = "unreachable"
ERROR_TTL_EXCEEDED = "ttl exceeded"
ERROR_FIREWALL = "blocked by local firewall"
ERROR_NOT_PERMITTED = "ping not permitted"
ERROR_BAD_ADDRESS = "not an IP address"

# Linux socket options that the socket module of Python 3.11 does not name.
_IP_RECVERR = 11
_IPV6_RECVERR = 25
_SOL_RAW = 255
_ICMP_FILTER = 1
# ICMPv4 types a raw socket still needs: echo reply, destination unreachable, time exceeded,
# parameter problem. Everything else (our own echo requests on loopback, other programs'
# traffic) is dropped by the kernel before it fills the socket's receive buffer.
_ICMP_TYPES_WANTED = (0, 3, 11, 12)
# Bytes read per packet: an echo reply, or an ICMP error quoting our request with its IP header.
_PACKET_SIZE = 1024
# A fixed payload of the usual size (56 bytes, as ping(8) sends): icmplib's default draws a
# random one per request, which costs more CPU than the rest of the send at 500 targets.
_PAYLOAD = (b"connectivity-watchdog " * 3)[:56]
# The sweep after the deadline reads at most this many packets (raw sockets see everyone's).
_SWEEP_LIMIT = 4096
# Read the receive timestamp of the last packet read from a socket (struct timespec).
_SIOCGSTAMPNS = 0x8907
_TIMESPEC = struct.Struct("@ll")
# How far the wall clock and the monotonic clock may disagree over one round trip.
_CLOCK_TOLERANCE_MS = 1.0
# ``ee_origin`` values of ``struct sock_extended_err``: the error came in an ICMP or ICMPv6 packet.
_ORIGIN_ICMP = 2
_ORIGIN_ICMP6 = 3


def detect_ping_mode(need_ipv6: bool = False) -> bool:
    """Return the ``privileged`` flag to pass to ``ping`` on this host.

    Opens (and closes) sockets only; no packet is sent. Tries unprivileged datagram sockets
    first, then raw sockets; ``need_ipv6`` also requires the mode to open ICMPv6 sockets.
    Raises ``SetupError`` (one sentence with both fixes) when neither is permitted: that is a
    setup problem of this host, never an outage.
    """
    socket_classes = (ICMPv4Socket, ICMPv6Socket) if need_ipv6 else (ICMPv4Socket,)
    for privileged in (False, True):
        if all(_may_open(socket_class, privileged) for socket_class in socket_classes):
            return privileged
    raise SetupError(
        f"Cannot send pings: this process (group {os.getgid()}) may neither open ICMP datagram "
        "sockets nor raw sockets; allow its group with "
        '`sysctl -w net.ipv4.ping_group_range="0 2147483647"` (and persist it in '
        "/etc/sysctl.d/), or give the service CAP_NET_RAW "
        "(AmbientCapabilities=CAP_NET_RAW in its systemd unit)."
    )


def _may_open(socket_class: Any, privileged: bool) -> bool:
    try:
        socket_class(None, privileged).close()
    except SocketPermissionError:
        return False
    except ICMPLibError:
        # Not a question of permission (a host without IPv6, say): the probe itself will
        # report that error against its target.
        return True
    return True


async def ping(
    kind: ProbeKind,
    name: str,
    address: str,
    *,
    count: int,
    timeout: float,
    privileged: bool,
    binding: Binding | None = None,
) -> ProbeResult:
    """Send ``count`` echo requests to ``address`` at once and wait up to ``timeout`` seconds,
    through ``binding`` (None: the default route).

    ``name`` becomes the result's ``target``. ``address`` must be an IP address (names are never
    resolved here). The result is ok when at least one reply came back in time; ``rtt_ms`` is
    the best round trip; ``sent`` is ``count`` (every request we tried to send, so a host with
    no route counts as full loss) and ``received`` the replies. On failure ``error`` is
    "timeout", "unreachable", "ttl exceeded", "blocked by local firewall" or another short
    reason. Never raises. Its only wait is a receive bounded by the timeout, followed by a
    non-blocking read of what already arrived, so it returns about ``timeout`` after it starts.
    """
    at = utcnow()
    try:
        rtts, error = await _Exchange(address, count, timeout, privileged, binding).run()
    except Exception as unexpected:  # a probe reports, it never raises
        rtts, error = [], _reason(unexpected)
    return ProbeResult(
        kind=kind,
        target=name,
        address=address,
        ok=bool(rtts),
        at=at,
        rtt_ms=round(min(rtts), 3) if rtts else None,
        sent=count,
        received=len(rtts),
        error=None if rtts else error or ERROR_TIMEOUT,
    )


class _Exchange:
    """The echo requests of one probe on one socket, and the replies and errors they draw."""

    def __init__(self, address: str, count: int, timeout: float, privileged: bool,
                 binding: Binding | None = None) -> None:
        self.address = address
        self.binding = binding
        self.count = count
        self.timeout = timeout
        self.privileged = privileged
        self.rtts: list[float] = []
        self.errors: list[str] = []
        # sequence -> (monotonic, wall-clock) send times of the requests still unanswered.
        self.waiting: dict[int, tuple[float, float]] = {}
        # In raw mode every socket sees every reply: a fresh id per socket keeps concurrent
        # probes apart. In unprivileged mode the kernel replaces it with the socket's own id.
        self.ident: int = unique_identifier()
        self.icmp: Any = None
        self.queued_errors = False
        self.stamped = False

    async def run(self) -> tuple[list[float], str | None]:
        """Round trips in ms of the replies, and the first failure seen (None: only silence)."""
        try:
            version = ipaddress.ip_address(self.address).version
        except ValueError:
            return [], ERROR_BAD_ADDRESS
        deadline = monotonic() + self.timeout
        socket_class = ICMPv6Socket if version == 6 else ICMPv4Socket
        source = (self.binding.source or None) if self.binding else None
        with socket_class(source, self.privileged) as self.icmp:
            self.icmp.blocking = False
            sock: socket.socket = self.icmp.sock
            if self.binding is not None and self.binding.interface:
                Binding(self.binding.interface).apply(sock)  # the source is bound already
            self.queued_errors = _tune(sock, version, self.privileged)
            self.stamped = _enable_receive_timestamps(sock)
            self._send_all()
            loop = asyncio.get_running_loop()
            while self.waiting:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        packet = await loop.sock_recv(sock, _PACKET_SIZE)
                except TimeoutError:
                    break
                except OSError as error:
                    self._socket_error(error)
                    continue
                self._take(packet, monotonic())
            # With hundreds of probes in one event loop, the loop may get round to this socket
            # only after the deadline while the replies sit in it, received in time: read what
            # the kernel already holds before calling anything lost.
            self._sweep()
        return self.rtts, self.errors[0] if self.errors else None

    def _send_all(self) -> None:
        for sequence in range(self.count):
            if self.queued_errors and sequence:
                # A pending ICMP error about an earlier request would otherwise make this
                # send fail in its place; reading the error queue clears it.
                _read_error_queue(self.icmp.sock, self.waiting, self.errors)
            request = ICMPRequest(
                destination=self.address, id=self.ident, sequence=sequence, payload=_PAYLOAD
            )
            before_send = monotonic()
            try:
                self.icmp.send(request)
            except ICMPLibError as error:
                self.errors.append(_reason(error))
                continue
            # request.time: icmplib's wall-clock reading just before sendto().
            self.waiting[sequence] = (before_send, request.time)
            self.ident = request.id

    def _sweep(self) -> None:
        for _ in range(_SWEEP_LIMIT):
            if not self.waiting:
                return
            try:
                packet = self.icmp.sock.recv(_PACKET_SIZE)
            except BlockingIOError:
                return
            except OSError as error:
                self._socket_error(error)
                continue
            self._take(packet, monotonic())

    def _take(self, packet: bytes, arrived: float) -> None:
        """Match one packet read from the socket against the requests still waiting."""
        # icmplib's parser (internal, but what its own sockets use) also digs our request's id
        # and sequence out of an ICMP error quoting it.
        reply = self.icmp._parse_reply(packet=packet, source=None, current_time=0.0)
        if reply is None or reply.id != self.ident or reply.sequence not in self.waiting:
            return  # another probe's packet (raw mode) or a late duplicate
        sent_monotonic, sent_wall = self.waiting.pop(reply.sequence)
        try:
            reply.raise_for_status()
        except ICMPError as error:
            self.errors.append(_reason(error))
            return
        rtt = _round_trip(self.icmp.sock, self.stamped, sent_monotonic, sent_wall, arrived)
        if rtt <= self.timeout * 1000:
            self.rtts.append(rtt)  # a reply found by the sweep may still have come too late

    def _socket_error(self, error: OSError) -> None:
        # With IP_RECVERR an ICMP error about one of our requests surfaces as a socket error,
        # and its details wait in the error queue. That queue must be read: while it holds
        # anything, the socket polls as ready and the receive loop would spin.
        if self.queued_errors and _read_error_queue(self.icmp.sock, self.waiting, self.errors):
            return
        self.errors.append(_reason(error))
        self.waiting.popitem()  # cannot tell which request failed; retire one


def _enable_receive_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each packet this socket receives; returns whether it can.

    The first SIOCGSTAMPNS on a socket switches stamping on (and fails with ENOENT, as
    nothing was received yet); any other error means there are no timestamps here.
    """
    if sys.platform != "linux":
        return False
    try:
        fcntl.ioctl(sock.fileno(), _SIOCGSTAMPNS, bytes(_TIMESPEC.size))
    except OSError as error:
        return error.errno == errno.ENOENT
    return True


def _round_trip(
    sock: socket.socket,
    stamped: bool,
    sent_monotonic: float,
    sent_wall: float,
    arrived_monotonic: float,
) -> float:
    """Round trip in ms of the reply just read from ``sock``.

    The kernel's receive timestamp is preferred: the time at which the event loop got round to
    this socket includes the work done for every other probe meanwhile, which at 500 targets
    on loopback adds 30 to 80 ms to a 0.05 ms round trip. The stamp is wall-clock time, so it
    is only trusted when it falls inside the monotonic interval; a clock step during the probe
    falls back to that monotonic interval rather than giving a negative or huge round trip.
    """
    measured = (arrived_monotonic - sent_monotonic) * 1000
    if stamped:
        with contextlib.suppress(OSError):
            raw = fcntl.ioctl(sock.fileno(), _SIOCGSTAMPNS, bytes(_TIMESPEC.size))
            seconds, nanoseconds = _TIMESPEC.unpack(raw)
            kernel = float(seconds + nanoseconds / 1e9 - sent_wall) * 1000
            if 0 <= kernel <= measured + _CLOCK_TOLERANCE_MS:
                return kernel
    return measured


def _read_error_queue(
    sock: socket.socket, waiting: dict[int, tuple[float, float]], errors: list[str]
) -> int:
    """Read every queued ICMP error (IP_RECVERR) and retire the requests they name.

    Each entry carries the header of our echo request (so its sequence number) and a
    ``sock_extended_err`` saying what came back. Returns how many waiting requests it retired.
    """
    retired = 0
    while True:
        try:
            data, ancillary, _flags, _source = sock.recvmsg(64, 512, socket.MSG_ERRQUEUE)
        except OSError:  # BlockingIOError when the queue is empty
            return retired
        errors.append(_extended_error_reason(ancillary))
        if len(data) >= 8:
            (sequence,) = struct.unpack_from("!H", data, 6)
            if waiting.pop(sequence, None) is not None:
                retired += 1


def _extended_error_reason(ancillary: list[tuple[int, int, bytes]]) -> str:
    """The reason in a ``struct sock_extended_err`` (errno, origin, ICMP type, ICMP code)."""
    for _level, kind, data in ancillary:
        if kind not in (_IP_RECVERR, _IPV6_RECVERR) or len(data) < 8:
            continue
        error_number, origin, icmp_type, _code = struct.unpack_from("=IBBB", data)
        if (origin, icmp_type) in ((_ORIGIN_ICMP, 11), (_ORIGIN_ICMP6, 3)):
            return ERROR_TTL_EXCEEDED
        return _reason(OSError(error_number, os.strerror(error_number)))
    return ERROR_UNREACHABLE


def _tune(sock: socket.socket, version: int, privileged: bool) -> bool:
    """Set Linux-only options that make failures visible and raw sockets less noisy.

    Best effort: without them a probe only loses detail. Returns whether ICMP errors now go
    to the socket's error queue (IP_RECVERR on an unprivileged socket).
    """
    if sys.platform != "linux":
        return False
    try:
        if not privileged:
            # Without IP_RECVERR the kernel drops ICMP errors for an unconnected ping socket, and
            # an unreachable host would look like a timeout.
            if version == 6:
                sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
            return True
        if version == 4:
            blocked = 0xFFFFFFFF
            for icmp_type in _ICMP_TYPES_WANTED:
                blocked &= ~(1 << icmp_type)
            sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("=I", blocked))
    except OSError:
        return False
    return False


def _reason(error: BaseException) -> str:
    """A short reason for people from an icmplib error or an OSError."""
    if isinstance(error, TimeoutExceeded | TimeoutError):
        return ERROR_TIMEOUT
    if isinstance(error, DestinationUnreachable):
        return ERROR_UNREACHABLE
    if isinstance(error, TimeExceeded):
        return ERROR_TTL_EXCEEDED
    if isinstance(error, ICMPError):
        return str(error).lower()
    if isinstance(error, SocketPermissionError):
        return ERROR_NOT_PERMITTED
    os_error = _os_error(error)
    if os_error is not None:
        if os_error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return ERROR_UNREACHABLE
        if os_error.errno == errno.EPERM:
            # sendto() fails with EPERM when a local netfilter rule drops or rejects the packet.
            return ERROR_FIREWALL
        if os_error.strerror:
            return os_error.strerror.lower()
    text = str(error) or type(error).__name__
    return text[:80]


def _os_error(error: BaseException) -> OSError | None:
    """The OSError behind ``error``: icmplib re-raises them as its own errors, losing errno."""
    seen: BaseException | None = error
    for _ in range(5):  # a short walk: the chain is one or two links long
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
