"""The request for each signal in each style, and what a URL must look like: tables."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from watchdog.heartbeats.pings import Ping
from watchdog.heartbeats.styles import BODY_LIMIT, MESSAGE_LIMIT, request_for, url_problem

HC = "https://hc-ping.com/5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11"
KUMA = "https://kuma.example:3001/api/push/Tk3n9xQ?status=up&msg=OK&ping="
MESSAGE = "Office: DOWN (internet provider) since 14:02:05\nthe gateway answers"


@pytest.mark.parametrize(("signal", "path"), [
    ("up", "/5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11"),
    ("start", "/5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11/start"),
    ("fail", "/5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11/fail"),
    ("log", "/5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11/log"),
])
def test_healthchecks_gets_a_post_with_the_message_on_the_signals_path(
    signal: str, path: str
) -> None:
    request = request_for("healthchecks", HC + "/", Ping(signal, MESSAGE))  # type: ignore[arg-type]
    assert request is not None
    assert (request.method, urlsplit(request.url).path) == ("POST", path)
    assert request.body == MESSAGE.encode()


def test_a_healthchecks_slug_url_keeps_its_query() -> None:
    request = request_for("healthchecks", "https://hc-ping.com/ping-key/office?create=1",
                          Ping("fail", "x"))
    assert request is not None and request.url == (
        "https://hc-ping.com/ping-key/office/fail?create=1")


def test_a_long_body_is_cut_on_a_character_boundary() -> None:
    request = request_for("healthchecks", HC, Ping("fail", "é" * BODY_LIMIT))
    assert request is not None and request.body is not None
    assert len(request.body) <= BODY_LIMIT
    request.body.decode("utf-8")  # whole characters only


@pytest.mark.parametrize(("signal", "status"), [("up", "up"), ("fail", "down")])
def test_uptime_kuma_gets_a_get_whose_query_is_ours(signal: str, status: str) -> None:
    request = request_for("uptime_kuma", KUMA, Ping(signal, MESSAGE, rtt_ms=12.6))  # type: ignore[arg-type]
    assert request is not None and request.method == "GET" and request.body is None
    parts = urlsplit(request.url)
    assert (parts.netloc, parts.path) == ("kuma.example:3001", "/api/push/Tk3n9xQ")
    assert parse_qs(parts.query) == {
        "status": [status],
        "msg": ["Office: DOWN (internet provider) since 14:02:05 | the gateway answers"],
        "ping": ["13"],
    }


def test_uptime_kuma_hears_no_start_or_note_and_no_ping_without_a_round_trip() -> None:
    assert request_for("uptime_kuma", KUMA, Ping("start", "started")) is None
    assert request_for("uptime_kuma", KUMA, Ping("log", "stopping")) is None
    request = request_for("uptime_kuma", KUMA, Ping("fail", "x" * 1000))
    assert request is not None
    query = parse_qs(urlsplit(request.url).query)
    assert "ping" not in query and len(query["msg"][0]) == MESSAGE_LIMIT


def test_a_request_shows_the_server_never_the_url() -> None:
    request = request_for("uptime_kuma", KUMA, Ping("up", "fine"))
    assert repr(request) == "HeartbeatRequest(GET https://kuma.example:3001/***, no body)"
    assert "Tk3n9xQ" not in repr(request) and "Tk3n9xQ" not in str(request)


@pytest.mark.parametrize(("style", "url", "words"), [
    ("healthchecks", HC, None),
    ("healthchecks", "http://hc.office.lan:8000/ping/5b0b5bd9", None),
    ("uptime_kuma", KUMA, None),
    ("healthchecks", "hc-ping.com/5b0b5bd9", "is not an http(s) URL with a host"),
    ("healthchecks", "ftp://hc-ping.com/5b0b5bd9", "is not an http(s) URL with a host"),
    ("uptime_kuma", HC, "is not an Uptime Kuma push URL"),
    ("healthchecks", KUMA, "set style = \"uptime_kuma\""),
])
def test_a_url_that_cannot_be_right_is_explained_without_being_quoted(
    style: str, url: str, words: str | None
) -> None:
    problem = url_problem(style, url)  # type: ignore[arg-type]
    if words is None:
        assert problem is None
    else:
        assert problem is not None and words in problem
        assert "5b0b5bd9" not in problem and "Tk3n9xQ" not in problem
