"""default_gateway(): the IPv4 default route's gateway, from files in /proc/net/route format."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from watchdog.probes.gateway import default_gateway, takes_default_route

from .netns import ROUTER_ADDRESS, IsolatedNetwork

FIXTURES = Path(__file__).parent / "fixtures"

# The kernel writes addresses in the host's byte order; these files come from x86 hosts.
pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="fixtures are little-endian")


def gateway_of(fixture: str) -> str | None:
    return default_gateway(str(FIXTURES / fixture))


def test_it_reads_the_gateway_of_the_default_route() -> None:
    assert gateway_of("route_one_default.txt") == "192.168.1.1"


def test_it_picks_the_default_route_with_the_lowest_metric() -> None:
    assert gateway_of("route_two_defaults.txt") == "10.0.0.1"


@pytest.mark.parametrize("fixture", ["route_no_default.txt", "route_empty.txt"])
def test_it_reports_no_gateway_without_a_default_route(fixture: str) -> None:
    assert gateway_of(fixture) is None


def test_it_reports_no_gateway_when_the_best_default_is_a_point_to_point_link() -> None:
    assert gateway_of("route_point_to_point.txt") is None


def test_it_skips_rejecting_routes_and_lines_it_cannot_read() -> None:
    assert gateway_of("route_reject_and_garbage.txt") == "192.168.2.1"


def test_it_reports_no_gateway_when_the_route_table_cannot_be_read(tmp_path: Path) -> None:
    assert default_gateway(str(tmp_path / "missing")) is None


def test_it_reads_the_kernel_routing_table(isolated_network: IsolatedNetwork) -> None:
    isolated_network.add_router()

    # /proc/net follows the process's namespace; this thread's own is under thread-self.
    found = isolated_network.call(default_gateway, "/proc/thread-self/net/route")

    assert found == ROUTER_ADDRESS


def test_it_finds_no_gateway_in_a_namespace_with_only_loopback(
    isolated_network: IsolatedNetwork,
) -> None:
    assert isolated_network.call(default_gateway, "/proc/thread-self/net/route") is None


def test_an_uplink_reads_the_default_route_through_its_own_interface() -> None:
    route = str(FIXTURES / "route_two_defaults.txt")
    assert default_gateway(route, interface="wlan0") == "192.168.1.254"
    assert default_gateway(route, interface="eth0") == "10.0.0.1"
    assert default_gateway(route, interface="wwan0") is None


@pytest.mark.parametrize(("address", "default"), [
    ("203.0.113.25", True),    # only the default routes match
    ("10.1.2.3", False),       # eth0's 10.0.0.0/8
    ("192.168.1.20", False),   # wlan0's LAN
    ("2001:db8::25", True),    # not listed here: counted as the default route's
])
def test_it_tells_whether_an_address_goes_through_a_default_route(address: str,
                                                                   default: bool) -> None:
    assert takes_default_route(address, str(FIXTURES / "route_two_defaults.txt")) is default


def test_an_address_with_no_route_at_all_counts_as_the_default_routes(tmp_path: Path) -> None:
    assert takes_default_route("203.0.113.25", str(FIXTURES / "route_no_default.txt"))
    assert takes_default_route("203.0.113.25", str(tmp_path / "missing"))
