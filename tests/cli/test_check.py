"""``watchdog check``: one probe cycle now, and its exit code: 0 up, 1 degraded, 2 down or cut
by a local fault. Run as the command, against loopback targets or inside a network namespace
of the test's own: nothing leaves the machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.servers.http_server import HttpServer
from tests.cli.conftest import LOOPBACK_CONFIG
from tests.environment import require

# Environment variables that would send the web check elsewhere.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                   "http_proxy", "https_proxy", "all_proxy", "no_proxy")
# In a network namespace of its own with only loopback up, as root: ping sockets allowed, then
# the check. Nothing but lo exists there, so no probe can leave the machine.
IN_EMPTY_NAMESPACE = (
    'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 2147483647" && exec "$@"'
)


def check(config: Path, *, namespace: bool = False) -> tuple[int, dict[str, Any]]:
    """``watchdog check --json`` (in an empty network namespace with ``namespace``): its exit
    code and what it printed."""
    command = [sys.executable, "-m", "watchdog", "check", "--json", "--config", str(config)]
    if namespace:
        command = ["unshare", "--net", "--", "sh", "-c", IN_EMPTY_NAMESPACE, "sh", *command]
    environment = {name: value for name, value in os.environ.items()
                   if name not in PROXY_VARIABLES}
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False,
                          env=environment)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def web() -> Iterator[HttpServer]:
    with HttpServer(host="127.0.0.1") as server:
        yield server


@pytest.mark.usefixtures("host_ping_mode")
def test_check_probes_now_and_exits_zero_when_up(config: Path) -> None:
    code, data = check(config)

    assert code == 0
    assert data["state"] == "up"
    assert [(t["kind"], t["name"], t["ok"]) for t in data["targets"]] == [
        ("gateway", "gateway", True), ("ping", "alpha", True), ("ping", "bravo", True)]
    assert not (config.parent / "watchdog.db").exists()  # a look, not a record


@pytest.mark.usefixtures("host_ping_mode")
def test_check_exits_one_when_the_link_is_degraded(config: Path, web: HttpServer) -> None:
    """Every ping answers, a web check does not get the status it expects: degraded."""
    config.write_text(config.read_text() + f'[[http]]\nname = "intranet"\n'
                      f'url = "{web.url("/status/500")}"\nexpect_status = [200]\n')

    code, data = check(config)

    assert code == 1
    assert data["state"] == "degraded"
    assert data["outage_kind"] is None
    failing = [(t["kind"], t["name"]) for t in data["targets"] if not t["ok"]]
    assert failing == [("http", "intranet")]


@pytest.mark.parametrize("gateway", ["192.0.2.1", ""], ids=["silent-gateway", "no-route"])
def test_check_exits_two_when_the_gateway_is_gone(config: Path, gateway: str) -> None:
    """The server is cut off on its own side (no answer from the gateway, or no default route
    to find one): ``lan_down``, a local fault, exit 2 as for ``down``."""
    require(None if os.geteuid() == 0 and shutil.which("unshare")
            else "needs root and unshare (util-linux) for a network namespace")
    config.write_text(LOOPBACK_CONFIG.replace('address = "127.0.0.1"', f'address = "{gateway}"')
                      .replace("127.0.0.2", "198.51.100.2").replace("127.0.0.3", "198.51.100.3"))

    code, data = check(config, namespace=True)

    assert code == 2
    assert (data["state"], data["outage_kind"]) == ("lan_down", "lan")
    assert not any(t["ok"] for t in data["targets"])
