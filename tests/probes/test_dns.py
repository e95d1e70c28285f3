"""query() against the real test DNS server on loopback, in every mode."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from testbed.servers.dns_server import DnsServer
from watchdog.config.schema import DnsCheck
from watchdog.probes.dns import DNS_ATTEMPTS, query
from watchdog.probes.results import ProbeResult

TIMEOUT = 0.3
# For queries that must be answered: room for a busy machine, far more than HOLD.
LONG_TIMEOUT = 3.0
# How long the server holds each answer when a test counts the queries out at once.
HOLD = 0.5


def ask(server: DnsServer, record: str = "A", name: str = "example.com") -> ProbeResult:
    check = DnsCheck(name="resolver", server=server.host, port=server.port, query=name,
                     record=record)  # type: ignore[arg-type]
    return asyncio.run(query(check, timeout=TIMEOUT))


@pytest.mark.parametrize("record", ["A", "AAAA", "MX", "NS", "TXT", "SOA"])
def test_it_reports_an_answer_of_the_asked_type(dns_server: DnsServer, record: str) -> None:
    result = ask(dns_server, record)

    assert result.ok and result.error is None
    assert (result.kind, result.target, result.address) == ("dns", "resolver", "127.0.0.53")
    assert result.rtt_ms is not None and 0 <= result.rtt_ms < 100
    assert (result.sent, result.received) == (1, 1)


@pytest.mark.parametrize(
    ("mode", "error"),
    [("nxdomain", "NXDOMAIN"), ("servfail", "SERVFAIL"), ("refused", "REFUSED"),
     ("empty", "no answer"), ("garbage", "malformed reply")],
)
def test_it_reports_what_is_wrong_with_the_reply(dns_server: DnsServer, mode: str,
                                                 error: str) -> None:
    dns_server.mode = mode

    result = ask(dns_server)

    assert not result.ok and result.error == error


def test_it_counts_an_error_answer_as_received(dns_server: DnsServer) -> None:
    dns_server.mode = "servfail"

    result = ask(dns_server)

    assert result.received == 1 and result.rtt_ms is not None


def test_it_reports_a_timeout_when_the_server_stays_silent(dns_server: DnsServer) -> None:
    dns_server.mode = "silent"
    started = time.monotonic()

    result = ask(dns_server)

    elapsed = time.monotonic() - started
    assert not result.ok and result.error == "timeout"
    assert (result.received, result.rtt_ms) == (0, None)
    assert TIMEOUT - 0.05 < elapsed < TIMEOUT + 0.6
    assert dns_server.queries == DNS_ATTEMPTS  # retransmitted within the timeout


def test_it_retransmits_within_its_timeout_like_a_stub_resolver() -> None:
    """Queries lost on the way: sent again every timeout / DNS_ATTEMPTS, the last one's
    answer still in time; once answered, nothing more is sent."""
    with DnsServer(host="127.0.0.53") as server:
        server.drop_next = DNS_ATTEMPTS - 1
        check = DnsCheck(name="resolver", server=server.host, port=server.port)
        result = asyncio.run(query(check, timeout=LONG_TIMEOUT))
        time.sleep(LONG_TIMEOUT / DNS_ATTEMPTS)  # room for a send that should not come
        arrivals = list(server.arrivals)
    assert result.ok and result.received == 1
    assert len(arrivals) == DNS_ATTEMPTS
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    spacing = LONG_TIMEOUT / DNS_ATTEMPTS
    assert all(spacing - 0.05 < gap < spacing + 0.3 for gap in gaps), gaps
    assert result.rtt_ms is not None and result.rtt_ms >= 1000 * spacing * (DNS_ATTEMPTS - 1)


def test_a_late_answer_to_the_first_query_ends_the_check() -> None:
    """The resolver holds its answer longer than the spacing: the answer to the first query
    counts, and the retransmissions sent meanwhile get no second look."""
    with DnsServer(host="127.0.0.53", hold=LONG_TIMEOUT / DNS_ATTEMPTS * 1.5) as server:
        check = DnsCheck(name="resolver", server=server.host, port=server.port)
        result = asyncio.run(query(check, timeout=LONG_TIMEOUT))
    assert result.ok
    assert result.rtt_ms is not None and result.rtt_ms < 1000 * LONG_TIMEOUT * 0.75
    assert server.queries == 2


def test_queries_wait_for_their_answers_together_not_one_after_another() -> None:
    """Five queries at once: the server holds each answer, and counts all five waiting at the
    same time (one after another it would count one); every answer then arrives."""
    async def five_at_once(server: DnsServer) -> list[ProbeResult]:
        check = DnsCheck(name="resolver", server=server.host, port=server.port)
        return list(await asyncio.gather(
            *(query(check, timeout=LONG_TIMEOUT) for _ in range(5))))

    with DnsServer(host="127.0.0.53", hold=HOLD) as server:
        results = asyncio.run(five_at_once(server))

    assert [result.ok for result in results] == [True] * 5
    assert server.queries == 5
    assert server.max_in_flight == 5


def test_it_follows_the_server_when_its_mode_changes(dns_server: DnsServer) -> None:
    first = ask(dns_server)
    dns_server.mode = "nxdomain"
    second = ask(dns_server)
    dns_server.mode = "answer"
    third = ask(dns_server)

    assert [first.ok, second.error, third.ok] == [True, "NXDOMAIN", True]


def test_it_asks_resolvers_over_ipv6() -> None:
    with DnsServer(host="::1") as server:
        result = ask(server, "AAAA")

    assert result.ok and result.address == "::1"


def test_it_reports_a_query_it_cannot_build_without_sending_it(dns_server: DnsServer) -> None:
    result = ask(dns_server, name="a" * 64 + ".example")

    assert not result.ok and result.error is not None
    assert result.error.startswith("invalid query")
    assert dns_server.queries == 0
