"""DNS checks: one question over UDP to one resolver, through dnspython's asyncio API.

The resolver is asked directly (not through the system's resolver configuration), so each
check measures that one server. Like a stub resolver, the check retransmits within its
timeout: a lost datagram is not a dead resolver. With 30 % loss each way a round trip fails
half the time, so a single query would call DNS down every other check; dnspython's
``udp()`` sends once and waits the whole timeout, so the query is sent here ``DNS_ATTEMPTS``
times, evenly spread (at 0, T/4, T/2, 3T/4 for a timeout T), from one socket with one query
id: an answer to any of them, even a late one to the first, ends the check.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from datetime import datetime

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from dns._asyncbackend import DatagramSocket

from watchdog.binding import Binding
from watchdog.clock import monotonic, utcnow
from watchdog.config.schema import DnsCheck
from watchdog.probes.results import ProbeResult

# ``query`` gives up this long after its own timeout even if dnspython does not.
DNS_GRACE = 0.25
# How many times the query is sent within the timeout (none after an answer). At 51 % loss
# per round trip a check then fails with 0.51⁴ ≈ 7 %, and three failing checks in a row (a
# DNS outage) come once in ~3 000.
DNS_ATTEMPTS = 4

ERROR_TIMEOUT = "timeout"
ERROR_MALFORMED = "malformed reply"
ERROR_NO_ANSWER = "no answer"
ERROR_TRUNCATED = "truncated reply"
ERROR_UNREACHABLE = "unreachable"


async def query(check: DnsCheck, *, timeout: float,
                binding: Binding | None = None) -> ProbeResult:
    """Ask ``check.server``:``check.port`` for the ``check.record`` records of ``check.query``,
    through ``binding`` (None: the default route).

    Ok only when the reply comes within ``timeout`` seconds with rcode NOERROR and at least one
    answer RRset of the asked type. Otherwise ``error`` is "timeout", the rcode ("NXDOMAIN",
    "SERVFAIL", "REFUSED"), "no answer", "malformed reply" or another short reason. ``received``
    is 1 when the server answered at all. Never raises.
    """
    at = utcnow()
    rtt_ms: float | None = None
    received = 0
    try:
        rdtype = dns.rdatatype.from_text(check.record)
        message = dns.message.make_query(check.query, rdtype)
    except dns.exception.DNSException as bad_input:
        return _result(check, at, None, 0, f"invalid query: {bad_input}"[:80])
    started = monotonic()
    try:
        response = await asyncio.wait_for(
            _ask(message, check, timeout, binding), timeout + DNS_GRACE)
    except (dns.exception.Timeout, TimeoutError):
        error: str | None = ERROR_TIMEOUT
    except dns.exception.DNSException:
        # Unparsable bytes, a reply to another question, a bad id: all say the same to us.
        error = ERROR_MALFORMED
    except OSError as failure:
        error = _os_reason(failure)
    except Exception as unexpected:  # a probe reports, it never raises
        error = (str(unexpected) or type(unexpected).__name__)[:80]
    else:
        rtt_ms = round((monotonic() - started) * 1000, 3)
        received = 1
        error = _verdict(response, rdtype)
    return _result(check, at, rtt_ms, received, error)


async def _ask(message: dns.message.Message, check: DnsCheck, timeout: float,
               binding: Binding | None) -> dns.message.Message:
    """Send ``message`` to the resolver every ``timeout / DNS_ATTEMPTS`` seconds until a reply
    comes (the caller bounds the whole), from one socket bound as ``binding`` says (None: the
    default route); return the first reply to it.

    Raises what dnspython raises for a reply that does not parse or answers another question,
    and ``OSError`` for what the socket reports.
    """
    family = dns.inet.af_for_address(check.server)
    destination = dns.inet.low_level_address_tuple((check.server, check.port), family)
    wire = message.to_wire()
    backend = dns.asyncbackend.get_default_backend()
    # Not connected, as dnspython's own udp() does with asyncio: an answer is matched by its
    # source address (ignore_unexpected) and by its id.
    if binding is None:
        opened: DatagramSocket = await backend.make_socket(  # type: ignore[no-untyped-call]
            family, socket.SOCK_DGRAM)
    else:
        opened = await _bound_socket(check.server, binding)
    async with opened as sock:
        # ignore_unexpected: a datagram from another address is a stray (or a spoof), not the
        # resolver's answer; keep waiting for the real one as a stub resolver would.
        reply = asyncio.ensure_future(dns.asyncquery.receive_udp(
            sock, destination, ignore_unexpected=True, query=message))
        try:
            for _ in range(DNS_ATTEMPTS):
                await dns.asyncquery.send_udp(sock, wire, destination)
                done, _pending = await asyncio.wait({reply}, timeout=timeout / DNS_ATTEMPTS)
                if done:
                    break
            response: dns.message.Message = (await reply)[0]
        finally:
            reply.cancel()
    if not message.is_response(response):
        raise dns.query.BadResponse
    return response


async def _bound_socket(server: str, binding: Binding) -> DatagramSocket:
    """A UDP socket for ``server``'s family, bound as ``binding`` says, in dnspython's form.

    dnspython's own sockets take a source address but no interface, so the socket is made
    here and handed to its asyncio backend; the caller closes it.
    """
    from dns._asyncio_backend import _DatagramProtocol, _DatagramSocket

    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        binding.apply(sock)
        transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            _DatagramProtocol, sock=sock)
    except BaseException:
        sock.close()
        raise
    bound: DatagramSocket = _DatagramSocket(family, transport, protocol)  # type: ignore[no-untyped-call]
    return bound


def _verdict(response: dns.message.Message, rdtype: dns.rdatatype.RdataType) -> str | None:
    """None when the reply answers the question, else why not."""
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        return dns.rcode.to_text(rcode)
    # Compare types only, not owner names: behind a CNAME the records belong to its target.
    if any(
        rrset.rdtype == rdtype and rrset.rdclass == dns.rdataclass.IN for rrset in response.answer
    ):
        return None
    if response.flags & dns.flags.TC:
        return ERROR_TRUNCATED
    return ERROR_NO_ANSWER


def _os_reason(failure: OSError) -> str:
    if failure.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return ERROR_UNREACHABLE
    if isinstance(failure, ConnectionRefusedError):
        return "connection refused"
    return (failure.strerror or str(failure) or type(failure).__name__).lower()[:80]


def _result(
    check: DnsCheck, at: datetime, rtt_ms: float | None, received: int, error: str | None
) -> ProbeResult:
    return ProbeResult(
        kind="dns",
        target=check.name,
        address=check.server,
        ok=error is None,
        at=at,
        rtt_ms=rtt_ms,
        received=received,
        error=error,
    )
