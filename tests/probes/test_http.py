"""fetch() against real HTTP and HTTPS servers on loopback, well- and ill-behaved."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from testbed.servers.http_server import HttpServer
from watchdog.config.schema import HttpCheck
from watchdog.probes.http import fetch
from watchdog.probes.results import ProbeResult

from .netns import IsolatedNetwork

# Tests that expect the deadline to strike use the short timeout; the others the long one, so
# that a slow TLS handshake on a busy test machine does not turn into a timeout.
TIMEOUT = 0.3
LONG_TIMEOUT = 2.0
# What "within the timeout" allows for a thread to wake up and a socket to close.
SLACK = 0.5


def get(url: str, *, expect_status: list[int] | None = None, max_body_bytes: int = 65536,
        timeout: float = LONG_TIMEOUT) -> tuple[ProbeResult, float]:
    check = HttpCheck(name="site", url=url, expect_status=expect_status or [],
                      max_body_bytes=max_body_bytes)
    started = time.monotonic()
    result = fetch(check, timeout=timeout)
    return result, time.monotonic() - started


@pytest.mark.parametrize("path", ["/ok", "/204", "/redirect", "/status/301"])
def test_it_accepts_any_2xx_or_3xx_when_no_status_is_expected(http_server: HttpServer,
                                                              path: str) -> None:
    result, _ = get(http_server.url(path))

    assert result.ok and result.error is None
    assert (result.kind, result.target, result.address) == ("http", "site", http_server.url(path))
    assert result.rtt_ms is not None and 0 <= result.rtt_ms < 200
    assert (result.sent, result.received) == (1, 1)


@pytest.mark.parametrize("status", [404, 500, 503])
def test_it_reports_an_error_status(http_server: HttpServer, status: int) -> None:
    result, _ = get(http_server.url(f"/status/{status}"))

    assert not result.ok and result.error == f"HTTP {status}"
    assert result.received == 1 and result.rtt_ms is not None


def test_it_accepts_only_the_expected_statuses_when_given(http_server: HttpServer) -> None:
    unexpected, _ = get(http_server.url("/ok"), expect_status=[204])
    expected, _ = get(http_server.url("/status/503"), expect_status=[503])

    assert not unexpected.ok and unexpected.error == "HTTP 200"
    assert expected.ok


def test_it_does_not_follow_redirects(http_server: HttpServer) -> None:
    result, _ = get(http_server.url("/redirect"), expect_status=[200])

    assert result.error == "HTTP 302"


def test_it_reports_a_timeout_when_the_server_never_answers(http_server: HttpServer) -> None:
    result, elapsed = get(http_server.url("/hang"), timeout=TIMEOUT)

    assert not result.ok and result.error == "timeout"
    assert result.rtt_ms is None
    assert elapsed < TIMEOUT + SLACK


@pytest.mark.parametrize("path", ["/trickle", "/trickle?interval=0.05", "/trickle-headers"])
def test_it_stops_a_server_that_trickles_bytes_at_the_deadline(http_server: HttpServer,
                                                               path: str) -> None:
    """Every read gets a byte before the socket timeout: only the overall deadline ends it."""
    result, elapsed = get(http_server.url(path), timeout=TIMEOUT)

    assert not result.ok and result.error == "timeout"
    assert elapsed < TIMEOUT + SLACK


def test_it_reads_no_more_of_a_big_body_than_allowed(http_server: HttpServer) -> None:
    result, elapsed = get(http_server.url("/big"), max_body_bytes=65536)
    headers_only, _ = get(http_server.url("/big"), max_body_bytes=0)

    assert result.ok and headers_only.ok
    assert elapsed < LONG_TIMEOUT  # 8 MiB would not be read that fast


def test_it_reports_a_refused_connection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on that port any more.

    result, _ = get(f"http://127.0.0.1:{port}/")

    assert not result.ok and result.error == "connection refused"
    assert result.received == 0


def test_it_trusts_a_certificate_from_the_configured_ca_bundle(
    https_server: HttpServer, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))

    result, _ = get(https_server.url("/ok"))

    assert result.ok, result.error


def test_it_reports_an_untrusted_certificate(https_server: HttpServer) -> None:
    result, _ = get(https_server.url("/ok"))

    assert not result.ok and result.error == "TLS certificate not trusted"


def test_it_reports_a_certificate_for_another_name(
    https_server_for_other_name: HttpServer, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))

    result, _ = get(https_server_for_other_name.url("/ok"))

    assert not result.ok and result.error == "TLS certificate name mismatch"


def test_it_stops_a_hanging_https_server_at_the_deadline(
    https_server: HttpServer, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))

    result, elapsed = get(https_server.url("/trickle?interval=0.05"), timeout=TIMEOUT)

    assert result.error == "timeout" and elapsed < TIMEOUT + SLACK


def test_it_stops_a_tls_handshake_that_never_completes_at_the_deadline() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()

        result, elapsed = get(f"https://127.0.0.1:{silent.getsockname()[1]}/", timeout=TIMEOUT)

    assert result.error == "timeout" and elapsed < TIMEOUT + SLACK


def test_it_reports_a_name_that_does_not_resolve(isolated_network: IsolatedNetwork) -> None:
    """Resolved inside a private namespace: the query cannot reach any real name server."""
    result, _ = isolated_network.call(get, "http://watchdog-test.invalid/")

    assert not result.ok and result.error == "name not resolved"


def test_it_leaves_no_thread_behind(http_server: HttpServer) -> None:
    before = threading.active_count()

    get(http_server.url("/ok"))
    get(http_server.url("/hang"), timeout=TIMEOUT)

    time.sleep(0.05)  # let the cancelled deadline timers finish exiting
    assert threading.active_count() <= before + 1  # + at most the server's /hang handler
