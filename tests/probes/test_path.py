"""Path checks on loopback: the public address an echo service sees, and the router a
small time-to-live dies at; what they say, and when they say nothing."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from testbed.servers.http_server import HttpServer
from watchdog.binding import Binding
from watchdog.config.schema import PathCheckConfig
from watchdog.probes.path import _parse_raw, first_address, hop, public_address
from watchdog.probes.ping import detect_ping_mode


def echo_check(server: HttpServer, path: str = "/ip", *expected: str) -> PathCheckConfig:
    return PathCheckConfig(echo_url=server.url(path), expect_address=list(expected))


def test_the_public_address_on_the_lines_own_path_is_ok(http_server: HttpServer) -> None:
    result = public_address(echo_check(http_server, "/ip", "127.0.0.0/8"), timeout=2.0)
    assert (result.kind, result.target, result.ok, result.received) == (
        "path", "public-address", True, 1)


def test_another_public_address_is_another_path(http_server: HttpServer) -> None:
    check = echo_check(http_server, "/ip", "198.51.100.1", "127.0.0.1")
    bound = public_address(check, timeout=2.0, binding=Binding(source="127.0.0.2"))
    assert (bound.ok, bound.received, bound.error) == (
        False, 1, "another path: public address 127.0.0.2")


@pytest.mark.parametrize(("path", "error"), [
    ("/ok", "no address in the answer"),
    ("/status/503", "HTTP 503"),
])
def test_an_echo_that_does_not_answer_with_an_address_says_nothing(
    http_server: HttpServer, path: str, error: str
) -> None:
    result = public_address(echo_check(http_server, path, "198.51.100.1"), timeout=2.0)
    assert (result.ok, result.received, result.error) == (False, 0, error)


@pytest.mark.parametrize(("text", "address"), [
    ("198.51.100.7\n", "198.51.100.7"),
    ("fl=12f\nh=www.example\nip=198.51.100.7\nts=1.2\n", "198.51.100.7"),
    ('{"ip": "2001:db8::7"}', "2001:db8::7"),
    ("<html>Your address: 203.0.113.9.</html>", "203.0.113.9"),
    ("nothing here 1.2", None),
])
def test_it_reads_the_address_as_echo_services_write_it(text: str, address: str | None) -> None:
    assert first_address(text) == address


def test_a_target_reached_within_the_hop_count_says_nothing() -> None:
    check = PathCheckConfig(expect_hop=["198.51.100.0/24"], hop=2)
    result = asyncio.run(hop(check, "127.0.0.1", timeout=1.0, privileged=detect_ping_mode()))
    assert (result.target, result.ok, result.received) == ("hop-2", False, 0)
    assert result.error == "the target answered within the hop count"


def _packet(source: str, icmp: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                         socket.inet_aton(source), socket.inet_aton("192.0.2.10"))
    return header + icmp


def test_a_raw_sockets_time_exceeded_names_the_router_that_quotes_our_request() -> None:
    request = struct.pack("!BBHHH", 8, 0, 0, 4242, 0) + b"x" * 8
    quoted = _packet("192.0.2.10", request)[:28]
    exceeded = _packet("198.51.100.2", struct.pack("!BBHI", 11, 0, 0, 0) + quoted)
    assert _parse_raw(exceeded, 4242) == ("198.51.100.2", False)
    assert _parse_raw(exceeded, 4243) == (None, False)  # another program's
    reply = _packet("203.0.113.1", struct.pack("!BBHHH", 0, 0, 0, 4242, 0) + b"x" * 8)
    assert _parse_raw(reply, 4242) == (None, True)
