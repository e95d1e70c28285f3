"""DNS checks: one query over UDP to one resolver, through dnspython's asyncio API.

The resolver is asked directly (not through the system's resolver configuration), so each
check measures that one server.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from datetime import datetime

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
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
    sock: DatagramSocket | None = None
    try:
        if binding is not None:
            sock = await _bound_socket(check.server, binding)
        # ignore_unexpected: a datagram from another address is a stray (or a spoof), not the
        # resolver's answer; keep waiting for the real one as a stub resolver would.
        response = await asyncio.wait_for(
            dns.asyncquery.udp(
                message, check.server, timeout=timeout, port=check.port, ignore_unexpected=True,
                sock=sock,
            ),
            timeout + DNS_GRACE,
        )
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
    finally:
        if sock is not None:
            await sock.close()  # type: ignore[no-untyped-call]  # dnspython leaves it open
    return _result(check, at, rtt_ms, received, error)


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
