"""The test servers also run as scripts (other tests start them inside namespaces)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testbed.servers import SERVERS_DIR
from watchdog.config.schema import DnsCheck, HttpCheck
from watchdog.probes.dns import query
from watchdog.probes.http import fetch


@contextmanager
def script(name: str, *arguments: str) -> Iterator[tuple[str, int]]:
    """Run a server script as the lab does, but away from the project: no PYTHON* variables,
    no user site, started from ``/``. It may import its own folder (the servers share
    ``running.py``) and installed libraries, nothing else of the project (not ``testbed``)."""
    process = subprocess.Popen(
        [sys.executable, "-E", "-s", str(SERVERS_DIR / name), *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), process.stderr.read() if process.stderr else ""
        host, _, port = line.split()[-1].rpartition(":")
        yield host.strip("[]"), int(port)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def ask(host: str, port: int) -> str | None:
    check = DnsCheck("resolver", host, port=port)
    return asyncio.run(query(check, timeout=0.5)).error


def test_it_serves_dns_as_a_script_until_sigterm() -> None:
    with script("dns_server.py", "--listen", "127.0.0.54:0", "--mode", "nxdomain") as (host, port):
        assert (host, ask(host, port)) == ("127.0.0.54", "NXDOMAIN")


def test_it_takes_the_dns_mode_from_a_file_while_running(tmp_path: Path) -> None:
    mode_file = tmp_path / "mode"
    with script("dns_server.py", "--listen", "127.0.0.54:0",
                "--mode-file", str(mode_file)) as (host, port):
        before = ask(host, port)
        mode_file.write_text("servfail\n")
        after = ask(host, port)

    assert (before, after) == (None, "SERVFAIL")


def test_it_serves_http_as_a_script_until_sigterm() -> None:
    with script("http_server.py", "--listen", "127.0.0.81:0") as (host, port):
        result = fetch(HttpCheck("site", f"http://{host}:{port}/status/204"), timeout=0.5)

    assert result.ok
