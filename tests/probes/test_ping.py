"""ping() and detect_ping_mode() against real sockets: loopback, private namespaces, a router."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import UTC

import pytest

from tests.environment import require, unavailable
from watchdog.errors import SetupError
from watchdog.probes.ping import detect_ping_mode, ping
from watchdog.probes.results import ProbeResult
from watchdog.vocabulary import ProbeKind

from .netns import (
    ROUTER_ADDRESS,
    SILENT_ADDRESS,
    SKIP_REASON,
    UNREACHABLE_ADDRESS,
    IsolatedNetwork,
)

TIMEOUT = 0.3
BOTH_MODES = pytest.mark.parametrize("privileged", [False, True], ids=["datagram", "raw"])


def run_ping(address: str, *, privileged: bool, count: int = 2, timeout: float = TIMEOUT,
             kind: ProbeKind = "ping") -> ProbeResult:
    return asyncio.run(ping(kind, "target", address, count=count, timeout=timeout,
                            privileged=privileged))


def timed(network: IsolatedNetwork, address: str, **options: object) -> tuple[ProbeResult, float]:
    started = time.monotonic()
    result = network.call(run_ping, address, **options)
    return result, time.monotonic() - started


def test_it_reports_every_reply_from_loopback_with_the_best_round_trip(
    host_ping_mode: bool,
) -> None:
    result = run_ping("127.0.0.1", privileged=host_ping_mode, count=3, kind="gateway")

    assert result.ok and result.error is None
    assert (result.kind, result.target, result.address) == ("gateway", "target", "127.0.0.1")
    assert (result.sent, result.received) == (3, 3)
    assert result.rtt_ms is not None and 0 <= result.rtt_ms < 100
    assert result.at.tzinfo is UTC


@BOTH_MODES
def test_it_reports_replies_in_either_socket_mode(isolated_network: IsolatedNetwork,
                                                   privileged: bool) -> None:
    result = isolated_network.call(run_ping, "127.0.0.1", privileged=privileged)

    assert result.ok and (result.sent, result.received) == (2, 2)


def test_it_pings_ipv6_addresses(isolated_network: IsolatedNetwork) -> None:
    result = isolated_network.call(run_ping, "::1", privileged=False)

    assert result.ok and result.received == 2


@BOTH_MODES
def test_it_reports_a_timeout_when_nothing_answers(isolated_network: IsolatedNetwork,
                                                   privileged: bool) -> None:
    isolated_network.add_router()

    result, elapsed = timed(isolated_network, SILENT_ADDRESS, privileged=privileged)

    assert not result.ok and result.error == "timeout"
    assert (result.sent, result.received, result.rtt_ms) == (2, 0, None)
    assert TIMEOUT - 0.05 < elapsed < TIMEOUT + 0.6


@BOTH_MODES
def test_it_reports_a_router_saying_unreachable_without_waiting(
    isolated_network: IsolatedNetwork, privileged: bool
) -> None:
    isolated_network.add_router()

    result, elapsed = timed(isolated_network, UNREACHABLE_ADDRESS, privileged=privileged,
                            timeout=2.0)

    assert not result.ok and result.error == "unreachable"
    assert (result.sent, result.received) == (2, 0)
    assert elapsed < 1.0  # the ICMP error ends the wait, not the 2 s timeout


@BOTH_MODES
def test_it_reaches_a_gateway_in_another_namespace(isolated_network: IsolatedNetwork,
                                                    privileged: bool) -> None:
    isolated_network.add_router()

    result = isolated_network.call(run_ping, ROUTER_ADDRESS, privileged=privileged)

    assert result.ok and result.received == 2


def test_it_counts_a_probe_with_one_reply_of_two_as_answered(
    isolated_network: IsolatedNetwork,
) -> None:
    require(None if shutil.which("nft") else "needs nft (nftables) to drop every other reply")
    isolated_network.sh(
        "nft add table inet loss && nft add chain inet loss input "
        "'{ type filter hook input priority 0; }' && "
        "nft add rule inet loss input icmp type echo-reply numgen inc mod 2 == 0 drop"
    )

    result = isolated_network.call(run_ping, "127.0.0.1", privileged=False)

    assert result.ok and result.error is None
    assert (result.sent, result.received) == (2, 1)


def test_it_names_a_local_firewall_that_blocks_the_request(
    isolated_network: IsolatedNetwork,
) -> None:
    require(None if shutil.which("nft") else "needs nft (nftables) to block the request")
    isolated_network.sh(
        "nft add table inet block && nft add chain inet block output "
        "'{ type filter hook output priority 0; }' && "
        "nft add rule inet block output ip daddr 127.0.0.9 drop"
    )

    result = isolated_network.call(run_ping, "127.0.0.9", privileged=False)

    assert not result.ok and result.error == "blocked by local firewall"


def test_it_reports_unreachable_at_once_in_a_namespace_without_routes() -> None:
    """A fresh namespace has only loopback: the kernel refuses to send, nothing leaves."""
    require(SKIP_REASON if os.geteuid() != 0 or shutil.which("unshare") is None else None)
    program = textwrap.dedent("""
        import asyncio, json, time
        from watchdog.probes.ping import ping
        out = {}
        for privileged in (False, True):
            started = time.monotonic()
            result = asyncio.run(ping("ping", "doc", "192.0.2.1", count=2, timeout=2.0,
                                      privileged=privileged))
            out[str(privileged)] = [result.ok, result.error, result.sent, result.received,
                                    time.monotonic() - started]
        print(json.dumps(out))
    """)
    script = (
        'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 2147483647" && '
        'exec "$0" -c "$1"'
    )
    done = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", script, sys.executable, program],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if done.returncode and "Operation not permitted" in done.stderr:
        unavailable(f"{SKIP_REASON} ({done.stderr.strip()})")
    assert done.returncode == 0, done.stderr

    for ok, error, sent, received, elapsed in json.loads(done.stdout).values():
        assert (ok, error, sent, received) == (False, "unreachable", 2, 0)
        assert elapsed < 1.0


def test_it_reports_an_address_that_is_not_an_ip_instead_of_resolving_it() -> None:
    result = run_ping("example.invalid", privileged=False)

    assert not result.ok and result.error == "not an IP address"


def test_it_prefers_unprivileged_sockets_when_the_group_may_use_them(
    isolated_network: IsolatedNetwork,
) -> None:
    assert isolated_network.call(detect_ping_mode) is False
    assert isolated_network.call(detect_ping_mode, need_ipv6=True) is False


def test_it_falls_back_to_raw_sockets_when_only_capabilities_allow_ping(
    strict_network: IsolatedNetwork,
) -> None:
    assert strict_network.call(detect_ping_mode) is True


def test_it_explains_both_fixes_when_ping_is_not_permitted_at_all() -> None:
    """No ping group and no CAP_NET_RAW: a setup error naming both fixes, not an outage."""
    require(SKIP_REASON if os.geteuid() != 0 or not (shutil.which("unshare")
                                                      and shutil.which("setpriv")) else None)
    program = textwrap.dedent("""
        from watchdog.errors import SetupError
        from watchdog.probes.ping import detect_ping_mode
        try:
            detect_ping_mode()
        except SetupError as error:
            print(error.exit_code, error, sep="|")
        else:
            print("no error")
    """)
    done = subprocess.run(
        # A fresh namespace keeps the kernel default ("1 0": no group may use ping sockets);
        # dropping CAP_NET_RAW from the bounding set takes raw sockets away from root too.
        ["unshare", "--net", "--", "setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw",
         sys.executable, "-c", program],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if done.returncode and "Operation not permitted" in done.stderr:
        unavailable(f"{SKIP_REASON} ({done.stderr.strip()})")
    assert done.returncode == 0, done.stderr
    exit_code, message = done.stdout.strip().split("|", 1)

    assert int(exit_code) == SetupError.exit_code
    assert "net.ipv4.ping_group_range" in message and "CAP_NET_RAW" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
