"""Probes bound to an uplink: every ping, DNS query and web check leaves from the uplink's
source address and/or through its interface; a binding the kernel refuses is a failed probe,
never an exception. On loopback: 127.0.0.2 is one of this host's addresses, ``lo`` its
interface."""

from __future__ import annotations

import asyncio
import socket

import pytest

from testbed.servers.dns_server import DnsServer
from testbed.servers.http_server import HttpServer
from watchdog.binding import Binding, create_connection, outbound, outbound_for
from watchdog.config.schema import DnsCheck, HttpCheck
from watchdog.probes.dns import query
from watchdog.probes.http import fetch
from watchdog.probes.ping import detect_ping_mode, ping

SOURCE = "127.0.0.2"
NO_SUCH_INTERFACE = "wd-nothing0"


def test_a_bound_ping_leaves_from_the_source_and_the_interface() -> None:
    privileged = detect_ping_mode()
    for binding in (Binding(source=SOURCE), Binding(interface="lo"),
                    Binding(interface="lo", source=SOURCE)):
        result = asyncio.run(ping("ping", "local", "127.0.0.1", count=1, timeout=1.0,
                                  privileged=privileged, binding=binding))
        assert result.ok, (binding, result)


def test_a_ping_through_a_missing_interface_fails_with_the_reason() -> None:
    result = asyncio.run(ping("ping", "local", "127.0.0.1", count=1, timeout=0.5,
                              privileged=detect_ping_mode(),
                              binding=Binding(interface=NO_SUCH_INTERFACE)))
    assert not result.ok and result.error == "no such device"


def test_a_bound_dns_query_comes_from_the_source(dns_server: DnsServer) -> None:
    check = DnsCheck(name="resolver", server=dns_server.host, port=dns_server.port)
    result = asyncio.run(query(check, timeout=1.0,
                               binding=Binding(interface="lo", source=SOURCE)))
    assert result.ok, result
    assert dns_server.last_client == SOURCE
    unbound = asyncio.run(query(check, timeout=1.0))
    assert unbound.ok and dns_server.last_client == "127.0.0.1"


def test_a_dns_query_through_a_missing_interface_fails() -> None:
    check = DnsCheck(name="resolver", server="127.0.0.53", port=53)
    result = asyncio.run(query(check, timeout=0.5, binding=Binding(NO_SUCH_INTERFACE)))
    assert not result.ok and result.error == "no such device"


def test_a_bound_web_check_comes_from_the_source(http_server: HttpServer) -> None:
    check = HttpCheck(name="echo", url=http_server.url("/ip"), expect_body=f"ip={SOURCE}\n")
    assert fetch(check, timeout=2.0, binding=Binding(interface="lo", source=SOURCE)).ok
    unbound = fetch(check, timeout=2.0)
    assert not unbound.ok and unbound.error == f"body does not contain 'ip={SOURCE}\\n'"


def test_a_web_check_through_a_missing_interface_fails(http_server: HttpServer) -> None:
    check = HttpCheck(name="site", url=http_server.url("/ok"))
    result = fetch(check, timeout=1.0, binding=Binding(interface=NO_SUCH_INTERFACE))
    assert not result.ok and result.received == 0


@pytest.mark.parametrize(("expected", "regex", "error"), [
    ("ok", False, None),
    ("nope", False, "body does not contain 'nope'"),
    (r"^ok$", True, None),
    (r"^o+k{2}$", True, "body does not match '^o+k{2}$'"),
])
def test_a_web_check_may_expect_its_body(http_server: HttpServer, expected: str, regex: bool,
                                         error: str | None) -> None:
    check = HttpCheck(name="portal", url=http_server.url("/ok"), expect_body=expected,
                      expect_body_regex=regex)
    result = fetch(check, timeout=2.0)
    assert (result.ok, result.error, result.received) == (error is None, error, 1)


def test_a_bound_connection_comes_from_the_source(http_server: HttpServer) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = server.getsockname()
        with create_connection(address, 1.0, Binding(interface="lo", source=SOURCE)) as sock:
            peer, _ = server.accept()
            with peer:
                assert peer.getpeername()[0] == SOURCE
                assert sock.getsockname()[0] == SOURCE


def test_messages_are_bound_only_inside_outbound_and_only_towards_a_default_route(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    binding = Binding(interface="wwan0")
    routes = {"192.0.2.25": False, "203.0.113.25": True}
    monkeypatch.setattr("watchdog.probes.gateway.takes_default_route",
                        lambda address: routes[address])
    assert outbound_for("203.0.113.25") is None
    with outbound(binding):
        assert outbound_for("203.0.113.25") == binding
        assert outbound_for("192.0.2.25") is None  # a LAN relay keeps its own route
    assert outbound_for("203.0.113.25") is None
