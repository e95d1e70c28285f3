"""One heartbeat against a real HTTP receiver on loopback: what arrives, what is judged, and
that no answer ever shows the URL (the secret)."""

from __future__ import annotations

import time

import pytest

from testbed.servers.http_receiver import HttpReceiver, Reply
from tests.channels.conftest import HOST, SLACK, TIMEOUT
from watchdog import __version__
from watchdog.binding import Binding
from watchdog.heartbeats.pings import Ping
from watchdog.heartbeats.styles import request_for
from watchdog.heartbeats.transport import send

UUID = "5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11"
TOKEN = "Tk3n9xQ"


def hc_url(receiver: HttpReceiver) -> str:
    return receiver.url(f"/ping/{UUID}")


def test_healthchecks_receives_the_body_on_the_signals_path(receiver: HttpReceiver) -> None:
    receiver.script(f"/ping/{UUID}/fail", Reply(body=b"OK"))
    request = request_for("healthchecks", hc_url(receiver), Ping("fail", "DOWN\ncause é"))
    assert request is not None
    answer = send(request, timeout=2.0)
    assert (answer.ok, answer.answer, answer.error) == (True, "HTTP 200 OK", None)
    [arrived] = receiver.requests
    assert (arrived.method, arrived.path) == ("POST", f"/ping/{UUID}/fail")
    assert arrived.body.decode() == "DOWN\ncause é"
    assert arrived.header("Content-Type") == "text/plain; charset=utf-8"
    assert arrived.header("User-Agent") == f"connectivity-watchdog/{__version__}"


def test_uptime_kuma_receives_a_get_and_its_refusal_in_a_200_counts_as_one(
    receiver: HttpReceiver,
) -> None:
    path = f"/api/push/{TOKEN}"
    receiver.script(path, Reply(json={"ok": True}),
                    Reply(json={"ok": False, "msg": "Monitor not found or not active."}))
    request = request_for("uptime_kuma", receiver.url(path + "?status=up&msg=OK&ping="),
                          Ping("up", "UP since 14:02", rtt_ms=11.8))
    assert request is not None
    taken = send(request, timeout=2.0)
    refused = send(request, timeout=2.0)
    assert taken.ok and taken.answer == 'HTTP 200 {"ok": true}'
    assert not refused.ok
    assert refused.error == (f"http://{HOST}:{receiver.port} refused the heartbeat: "
                             "Monitor not found or not active.")
    first = receiver.requests[0]
    assert first.method == "GET" and first.body == b""
    assert first.path == f"{path}?status=up&msg=UP+since+14%3A02&ping=12"


@pytest.mark.parametrize(("reply", "words"), [
    (Reply(status=404, body=b"not found"), "refused the request with HTTP 404 Not Found "
                                           "(not found): check the url"),
    (Reply(status=500), "answered HTTP 500 Internal Server Error"),
    (Reply(status=302, headers={"Location": f"/elsewhere/{UUID}"}),
     "a redirect not followed"),
])
def test_a_refusal_is_not_taken_and_says_why_without_the_url(
    receiver: HttpReceiver, reply: Reply, words: str
) -> None:
    receiver.script(f"/ping/{UUID}", reply)
    request = request_for("healthchecks", hc_url(receiver), Ping("up", "fine"))
    assert request is not None
    answer = send(request, timeout=2.0)
    assert not answer.ok and answer.error is not None
    assert words in answer.error
    assert answer.answer.startswith(f"HTTP {reply.status}")
    assert UUID not in answer.error + answer.answer


def test_a_service_that_does_not_answer_costs_the_timeout_and_no_more(
    silent_port: int,
) -> None:
    request = request_for("healthchecks", f"http://{HOST}:{silent_port}/ping/{UUID}",
                          Ping("up", "fine"))
    assert request is not None
    began = time.monotonic()
    answer = send(request, timeout=TIMEOUT)
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert not answer.ok and answer.answer == ""
    assert answer.error == f"http://{HOST}:{silent_port} did not answer within {TIMEOUT:g} s"


def test_a_dead_service_and_an_unusable_source_address_are_said_plainly(
    closed_port: int,
) -> None:
    request = request_for("healthchecks", f"http://{HOST}:{closed_port}/ping/{UUID}",
                          Ping("up", "fine"))
    assert request is not None
    refused = send(request, timeout=2.0)
    assert refused.error == f"http://{HOST}:{closed_port} refused the connection"
    # An address this host does not have (a link's own, not configured): nothing leaves.
    unbound = send(request, timeout=2.0, binding=Binding(source="192.0.2.77"))
    assert not unbound.ok and unbound.error is not None
    assert "Cannot assign requested address" in unbound.error
    assert UUID not in unbound.error


def test_a_source_address_is_the_one_the_connection_leaves_from(receiver: HttpReceiver) -> None:
    request = request_for("healthchecks", hc_url(receiver), Ping("up", "fine"))
    assert request is not None
    assert send(request, timeout=2.0, binding=Binding(source="127.0.0.5")).ok
    assert send(request, timeout=2.0).ok
    assert [arrived.client for arrived in receiver.requests] == ["127.0.0.5", "127.0.0.1"]
