"""default_gateway(): the IPv4 default route's gateway, from files in /proc/net/route format."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from watchdog.probes.gateway import default_gateway

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
