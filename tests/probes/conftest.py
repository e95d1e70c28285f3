"""Fixtures for the probe tests: real DNS and HTTP(S) servers on loopback, private namespaces."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from testbed.servers.dns_server import DnsServer
from testbed.servers.http_server import HttpServer
from tests.environment import unavailable

from .netns import SKIP_REASON, IsolatedNetwork, NamespaceUnavailable

DNS_HOST = "127.0.0.53"
HTTP_HOST = "127.0.0.1"
# Environment variables that would send test requests elsewhere or change what TLS trusts.
PROXY_AND_CA_VARIABLES = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def clean_http_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy and no CA bundle from the environment unless a test sets one."""
    for name in PROXY_AND_CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """A DNS server on 127.0.0.53 in mode "answer"; set ``.mode`` to change its behaviour."""
    with DnsServer(host=DNS_HOST, port=0, mode="answer") as server:
        yield server


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpServer]:
    """HTTP on 127.0.0.1 (stateless: one per test module)."""
    with HttpServer(host=HTTP_HOST) as server:
        yield server


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA's certificate as a PEM file, for REQUESTS_CA_BUNDLE."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


def _https_server(tls_ca: trustme.CA, *names: str) -> HttpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert(*names).configure_cert(context)
    return HttpServer(host=HTTP_HOST, tls=context)


@pytest.fixture(scope="module")
def https_server(tls_ca: trustme.CA) -> Iterator[HttpServer]:
    """HTTPS on 127.0.0.1 with a certificate from the test CA for 127.0.0.1 and localhost."""
    with _https_server(tls_ca, HTTP_HOST, "localhost") as server:
        yield server


@pytest.fixture(scope="module")
def https_server_for_other_name(tls_ca: trustme.CA) -> Iterator[HttpServer]:
    """HTTPS on 127.0.0.1 whose certificate (from the test CA) names only localhost."""
    with _https_server(tls_ca, "localhost") as server:
        yield server


def _isolated(ping_group_range: str | None) -> Iterator[IsolatedNetwork]:
    try:
        network = IsolatedNetwork(ping_group_range).__enter__()
    except NamespaceUnavailable as why:
        unavailable(f"{SKIP_REASON} ({why})")
    try:
        yield network
    finally:
        network.__exit__(None, None, None)


@pytest.fixture
def isolated_network() -> Iterator[IsolatedNetwork]:
    """A private network namespace where unprivileged ping is allowed (needs root)."""
    yield from _isolated("0 2147483647")


@pytest.fixture
def strict_network() -> Iterator[IsolatedNetwork]:
    """A private network namespace with the kernel's default: nobody may use ping sockets."""
    yield from _isolated(None)
