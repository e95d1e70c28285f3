"""The web checks take from the environment what requests took: the same proxy for each URL,
the same CA bundle, the same .netrc login. Each case is asked of requests itself too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import requests.utils

from watchdog.probes import http_environment
from watchdog.probes.http_environment import InvalidProxy, Proxy, proxy_for

URLS = (
    "http://203.0.113.80/204",
    "https://www.example.com/",
    "http://intranet.example.com:8080/health",
    "https://example.org/",
    "http://10.1.2.3/",
    "http://[2001:db8::7]:8080/",
)

ENVIRONMENTS: tuple[dict[str, str], ...] = (
    {},
    {"http_proxy": "proxy.lan:3128"},
    {"HTTPS_PROXY": "http://proxy.lan:3128", "http_proxy": "http://other:8080"},
    {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:2"},
    {"HTTP_PROXY": "http://upper:1", "http_proxy": ""},
    {"ALL_PROXY": "http://all.lan:3128"},
    {"all_proxy": "http://all.lan:3128", "no_proxy": "example.com"},
    {"https_proxy": "http://user:p%40ss@proxy.lan:3128"},
    {"http_proxy": "http://user@proxy.lan:3128"},
    {"http_proxy": "http://p:3128", "no_proxy": "*"},
    {"http_proxy": "http://p:3128", "no_proxy": "*,foo"},
    {"http_proxy": "http://p:3128", "NO_PROXY": "10.0.0.0/8"},
    {"http_proxy": "http://p:3128", "no_proxy": "10.1.2.3, .example.com"},
    {"http_proxy": "http://p:3128", "no_proxy": "intranet.example.com:8080"},
    {"http_proxy": "http://p:3128", "no_proxy": "203.0.113.0/33,203.0.113.80"},
    {"http_proxy": "http://p:3128", "no_proxy": "", "NO_PROXY": "example.com"},
    {"http_proxy": "http://p:3128", "no_proxy": "2001:db8::7"},
    {"http_proxy": "http://p:3128", "REQUEST_METHOD": "GET"},
    {"HTTP_PROXY": "http://p:3128", "REQUEST_METHOD": "GET"},
    {"http_proxy": "http://p:3128", "no_proxy": "."},
)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy, CA or .netrc variable from the machine running the tests."""
    for name in [*os.environ]:
        if name.lower().endswith("_proxy") or name in (
                "REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC"):
            monkeypatch.delenv(name)
    return monkeypatch


def requests_proxy(url: str) -> Proxy | None:
    """The proxy requests would use for ``url``, with its Proxy-Authorization."""
    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
    if proxy is None:
        return None
    proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
    headers = requests.adapters.HTTPAdapter().proxy_headers(proxy)
    return Proxy(proxy, headers.get("Proxy-Authorization", ""))


@pytest.mark.parametrize("variables", ENVIRONMENTS, ids=lambda v: ",".join(
    f"{key}={value}" for key, value in v.items()) or "none")
def test_each_url_goes_through_the_proxy_requests_would_use(
    environment: pytest.MonkeyPatch, variables: dict[str, str],
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)
    for url in URLS:
        assert proxy_for(url) == requests_proxy(url), url


def test_a_proxy_without_a_host_is_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("http_proxy", "http://:3128")
    with pytest.raises(InvalidProxy):
        proxy_for("http://203.0.113.80/")


@pytest.mark.parametrize("variables", [
    {}, {"REQUESTS_CA_BUNDLE": "/etc/a.pem"}, {"CURL_CA_BUNDLE": "/etc/b.pem"},
    {"REQUESTS_CA_BUNDLE": "/etc/a.pem", "CURL_CA_BUNDLE": "/etc/b.pem"},
    {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "/etc/b.pem"},
])
def test_the_ca_bundle_is_the_one_requests_would_verify_with(
    environment: pytest.MonkeyPatch, variables: dict[str, str],
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)
    settings = requests.Session().merge_environment_settings(
        "https://example.com/", {}, False, None, None)
    expected = None if settings["verify"] is True else settings["verify"]
    assert http_environment.ca_bundle() == expected


def test_the_netrc_login_is_the_one_requests_would_send(
    environment: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine www.example.com login probe password s3cret\n"
                     "machine account.example.com account acct password pw\n"
                     "default login anyone password any\n")
    netrc.chmod(0o600)
    environment.setenv("NETRC", str(netrc))
    for url in ("https://www.example.com/", "https://account.example.com/x",
                "http://203.0.113.80/", "http://unlisted.example/"):
        assert http_environment.netrc_login(url) == requests.utils.get_netrc_auth(url), url
    environment.setenv("NETRC", str(tmp_path / "missing"))
    assert http_environment.netrc_login("https://www.example.com/") is None
    netrc.write_text("machine\n")
    environment.setenv("NETRC", str(netrc))
    assert http_environment.netrc_login("https://www.example.com/") is None
    assert requests.utils.get_netrc_auth("https://www.example.com/") is None


class Recorder:
    """An HTTP server on loopback that answers 204 to everything and keeps each request's
    line and headers."""

    def __init__(self) -> None:
        import http.server
        import threading

        seen: list[tuple[str, dict[str, str]]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.requestline, dict(self.headers.items())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.seen = seen
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def both_ways(url: str, recorder: Recorder) -> tuple[tuple[str, dict[str, str]], ...]:
    """What the recorder saw of a check of ``url`` and of requests' GET of it (its
    User-Agent set to ours, as the requests-based check did)."""
    from watchdog.config.schema import HttpCheck
    from watchdog.probes.http import USER_AGENT, fetch

    result = fetch(HttpCheck(name="site", url=url), timeout=2.0)
    assert result.ok, result.error
    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        session.get(url, allow_redirects=False, timeout=2.0).close()
    check, plain = recorder.seen[-2:]
    return check, plain


def test_a_check_sends_what_requests_sent(
    environment: pytest.MonkeyPatch, recorder: Recorder, tmp_path: Path,
) -> None:
    check, plain = both_ways(f"http://{recorder.address}/ok?x=1", recorder)
    assert check == plain
    assert check[1]["User-Agent"].startswith("connectivity-watchdog/")
    # A user and password in the URL: basic authentication, unless the .netrc has a login.
    check, plain = both_ways(f"http://probe:p%40ss@{recorder.address}/ok", recorder)
    assert check == plain and check[1]["Authorization"] == "Basic cHJvYmU6cEBzcw=="
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login from-netrc password pw\n")
    netrc.chmod(0o600)
    environment.setenv("NETRC", str(netrc))
    check, plain = both_ways(f"http://probe:p%40ss@{recorder.address}/ok", recorder)
    assert check == plain and check[1]["Authorization"] == "Basic ZnJvbS1uZXRyYzpwdw=="


def test_a_check_goes_through_the_environments_proxy_unless_exempted(
    environment: pytest.MonkeyPatch, recorder: Recorder,
) -> None:
    environment.setenv("http_proxy", f"http://user:pw@{recorder.address}")
    # 203.0.113.80 is reached only through the proxy (the recorder), which answers for it.
    check, plain = both_ways("http://203.0.113.80/204", recorder)
    assert check == plain
    assert check[0] == "GET http://203.0.113.80/204 HTTP/1.1"
    assert check[1]["Proxy-Authorization"] == "Basic dXNlcjpwdw=="
    environment.setenv("no_proxy", "127.0.0.0/8")
    check, plain = both_ways(f"http://{recorder.address}/direct", recorder)
    assert check == plain and check[0] == "GET /direct HTTP/1.1"
