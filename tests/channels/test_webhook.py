"""post_json and extract against a real HTTP(S) receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from testbed.servers.http_receiver import HttpReceiver, Reply
from watchdog import __version__
from watchdog.channels import (
    DeliveryError,
    MissingPath,
    WebhookSettings,
    extract,
    post_json,
)

from .conftest import HOST, LONG_TIMEOUT, SLACK, TIMEOUT, printed

NOW = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
KEY = "notification:management:outage_started:42"
EVENT = {"event": "outage_started", "ticket": "WD-2026-0007", "state": "down",
         "started_at": "2026-03-14T09:26:53Z", "message": "Coupure de la ligne — été"}
TOKEN = "tok-9f8e7d6c5b4a"
SECRET = "shared-secret-0123456789"


def settings_for(receiver: HttpReceiver, path: str = "/hook", **overrides: Any) -> WebhookSettings:
    fields: dict[str, Any] = {"url": receiver.url(path), "timeout": LONG_TIMEOUT}
    fields.update(overrides)
    return WebhookSettings(**fields)


def send(settings: WebhookSettings, body: bytes | dict[str, Any] = EVENT, **kwargs: Any) -> Any:
    return post_json(settings, body, idempotency_key=KEY, now=NOW, **kwargs)


# -- what arrives --------------------------------------------------------------------------


def test_it_sends_the_body_and_its_headers(receiver: HttpReceiver) -> None:
    response = send(settings_for(receiver))

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.body == json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False).encode()
    assert request.json() == EVENT
    assert request.header("Content-Type") == "application/json"
    assert request.header("Idempotency-Key") == KEY
    assert request.header("User-Agent") == f"connectivity-watchdog/{__version__}"
    assert request.header("Authorization") is None
    assert request.header("X-Watchdog-Signature") is None
    assert response.status == 200
    assert response.json == {"ok": True, "received": 1}


def test_it_sends_a_rendered_body_byte_for_byte(receiver: HttpReceiver) -> None:
    rendered = b'{\n  "text": "Coupure de la ligne \xe2\x80\x94 WD-2026-0007"\n}\n'

    send(settings_for(receiver), rendered)

    assert receiver.requests[0].body == rendered


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_it_uses_the_configured_method_and_url(receiver: HttpReceiver, method: str) -> None:
    send(settings_for(receiver, method=method), url=receiver.url("/tickets/T-42"))

    assert [(r.method, r.path) for r in receiver.requests] == [(method, "/tickets/T-42")]


def test_it_signs_the_body_so_the_receiver_can_verify_it(receiver: HttpReceiver) -> None:
    send(settings_for(receiver, hmac_secret=SECRET))

    # Verified as the module's documentation tells a receiver to, from the raw request only.
    [request] = receiver.requests
    timestamp = request.header("X-Watchdog-Timestamp")
    signature = request.header("X-Watchdog-Signature")
    assert timestamp == str(int(NOW.timestamp()))
    assert signature is not None and timestamp is not None
    signed = timestamp.encode("ascii") + b"." + request.body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, signature)
    forged = "sha256=" + hmac.new(b"another secret", signed, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(forged, signature)


def test_it_names_the_signature_header_as_configured(receiver: HttpReceiver) -> None:
    send(settings_for(receiver, hmac_secret=SECRET, signature_header="X-Hub-Signature-256"))

    [request] = receiver.requests
    assert (request.header("X-Hub-Signature-256") or "").startswith("sha256=")
    assert request.header("X-Watchdog-Signature") is None


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, {"Authorization": f"Bearer {TOKEN}"}),
    ({"Authorization": "Token {token}"}, {"Authorization": f"Token {TOKEN}"}),
    ({"X-Gotify-Key": "{token}"}, {"X-Gotify-Key": TOKEN, "Authorization": None}),
])
def test_it_sends_the_token_where_configured(receiver: HttpReceiver, headers: dict[str, str],
                                             expected: dict[str, str | None]) -> None:
    send(settings_for(receiver, token=TOKEN, headers=headers))

    [request] = receiver.requests
    assert {name: request.header(name) for name in expected} == expected


def test_it_sends_custom_headers(receiver: HttpReceiver) -> None:
    send(settings_for(receiver, headers={"X-Team": "office", "Priority": "urgent",
                                         "Content-Type": "application/json; charset=utf-8"}))

    [request] = receiver.requests
    assert request.header("X-Team") == "office"
    assert request.header("Priority") == "urgent"
    assert request.header("Content-Type") == "application/json; charset=utf-8"
    assert request.header("Idempotency-Key") == KEY  # never replaced by configuration


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"token": TOKEN, "headers": {"Authorization": "Basic b2ZmaWNlOnB3"}},
     "both a token and an Authorization header"),
    ({"headers": {"X-Key": "{token}"}}, "no token is configured"),
    ({"token": "tok\nInjected: yes"}, "line break"),
    ({"headers": {"X-Note": "ünïcødé ✓"}}, "cannot carry"),
])
def test_it_refuses_a_broken_header_configuration(receiver: HttpReceiver,
                                                  overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver, **overrides))

    assert caught.value.permanent
    assert reason in str(caught.value)
    assert "tok" not in str(caught.value).replace("token", "")
    assert receiver.requests == []


# -- outcome table ---------------------------------------------------------------------------

IN_90_SECONDS = format_datetime(NOW + timedelta(seconds=90), usegmt=True)


@pytest.mark.parametrize(("reply", "permanent", "retry_after", "reason"), [
    (Reply(500), False, None, "HTTP 500 Internal Server Error"),
    (Reply(502, body=b"bad gateway"), False, None, "HTTP 502 Bad Gateway (bad gateway)"),
    (Reply(503, headers={"Retry-After": "120"}), False, 120.0, "retry after 120 s"),
    (Reply(429, headers={"Retry-After": "7"}), False, 7.0, "HTTP 429 Too Many Requests"),
    (Reply(429, headers={"Retry-After": IN_90_SECONDS}), False, 90.0, "retry after 90 s"),
    (Reply(429, headers={"Retry-After": "soon"}), False, None, "HTTP 429"),
    (Reply(429), False, None, "HTTP 429"),
    (Reply(408), False, None, "HTTP 408"),
    (Reply(425), False, None, "HTTP 425"),
    (Reply(400, json={"error": "field 'summary' is required"}), True, None,
     """HTTP 400 Bad Request ({"error": "field 'summary' is required"}): check the body"""),
    (Reply(401), True, None, "check the token"),
    (Reply(404), True, None, "HTTP 404 Not Found: check the url"),
    (Reply(409), True, None, "HTTP 409"),
    (Reply(301, headers={"Location": "https://hooks.example.test/new/secret-path"}), True, None,
     "to https://hooks.example.test, a redirect not followed: point the url at the final"),
    (Reply(302, headers={"Location": "/v2/hook"}), True, None,
     "HTTP 302 Found to another path, a redirect not followed"),
    (Reply(307), True, None, "HTTP 307 Temporary Redirect, a redirect not followed"),
], ids=lambda value: str(value.status) if isinstance(value, Reply) else None)
def test_it_classifies_answers(receiver: HttpReceiver, reply: Reply, permanent: bool,
                               retry_after: float | None, reason: str) -> None:
    receiver.script("/hook", reply)

    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver))

    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after
    assert reason in str(caught.value)
    assert str(caught.value).startswith(f"http://{HOST}:{receiver.port} ")


@pytest.mark.parametrize(("reply", "json_value"), [
    (Reply(200, json={"ok": True}), {"ok": True}),
    (Reply(201, json={"data": {"ticket": {"id": "T-42"}}}), {"data": {"ticket": {"id": "T-42"}}}),
    (Reply(202, body=b"accepted"), None),
    (Reply(204), None),
])
def test_it_returns_any_2xx_answer(receiver: HttpReceiver, reply: Reply, json_value: Any) -> None:
    receiver.script("/hook", reply)

    response = send(settings_for(receiver))

    assert response.status == reply.status
    assert response.json == json_value
    assert response.body_text == (reply.body.decode() if reply.body else response.body_text)


def test_it_reads_a_ticket_id_and_location_from_the_answer(receiver: HttpReceiver) -> None:
    receiver.script("/tickets", Reply(201, json={"data": {"ticket": {"id": 4711}}},
                                      headers={"Location": "/tickets/4711"}))

    response = send(settings_for(receiver, "/tickets"))

    assert extract(response.json, "data.ticket.id") == 4711
    assert response.headers["location"] == "/tickets/4711"


def test_it_reads_at_most_64_kib_of_an_answer(receiver: HttpReceiver) -> None:
    receiver.script("/hook", Reply(200, body=b"[" + b"1," * 100_000 + b"1]"))

    response = send(settings_for(receiver))

    assert len(response.body_text) == 64 * 1024
    assert response.json is None  # a cut JSON text is no JSON


def test_it_retries_as_scripted(receiver: HttpReceiver) -> None:
    receiver.script("/hook", Reply(503), Reply(200, json={"id": "T-1"}))

    with pytest.raises(DeliveryError):
        send(settings_for(receiver))
    response = send(settings_for(receiver))

    assert response.json == {"id": "T-1"}
    assert [r.header("Idempotency-Key") for r in receiver.requests] == [KEY, KEY]


# -- when there is no answer ---------------------------------------------------------------


def test_it_gives_up_on_a_slow_receiver_within_the_timeout(receiver: HttpReceiver) -> None:
    receiver.script("/hook", Reply(200, delay=5.0))
    started = time.monotonic()

    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver, timeout=TIMEOUT))

    assert time.monotonic() - started < TIMEOUT + SLACK
    assert not caught.value.permanent
    assert str(caught.value) == f"http://{HOST}:{receiver.port} did not answer within 0.3 s"


def test_it_gives_up_on_a_silent_port_within_the_timeout(silent_port: int) -> None:
    started = time.monotonic()

    with pytest.raises(DeliveryError) as caught:
        send(WebhookSettings(url=f"http://{HOST}:{silent_port}/hook", timeout=TIMEOUT))

    assert time.monotonic() - started < TIMEOUT + SLACK
    assert not caught.value.permanent
    assert "did not answer within 0.3 s" in str(caught.value)


@pytest.mark.parametrize(("fixture", "reason"), [
    ("closed_port", "refused the connection"),
    ("hang_up_port", "closed the connection without an answer"),
])
def test_it_reports_connection_failures_as_transient(request: pytest.FixtureRequest,
                                                     fixture: str, reason: str) -> None:
    port = request.getfixturevalue(fixture)

    with pytest.raises(DeliveryError) as caught:
        send(WebhookSettings(url=f"http://{HOST}:{port}/secret-path", timeout=LONG_TIMEOUT))

    assert not caught.value.permanent
    assert reason in str(caught.value)
    assert "secret-path" not in printed(caught.value)


# -- TLS -------------------------------------------------------------------------------------


def test_it_trusts_the_configured_ca(https_receiver: HttpReceiver, ca_file: str) -> None:
    response = send(settings_for(https_receiver, ca_file=ca_file))

    assert response.status == 200


@pytest.mark.parametrize(("trust", "reason"), [
    ("stranger", "is not trusted (unable to get local issuer certificate): set ca_file"),
    ("system", "is not trusted"),
    ("missing", "ca_file /nonexistent/ca.pem is not a file"),
])
def test_it_refuses_an_untrusted_certificate_for_good(
    https_receiver: HttpReceiver, stranger_ca_file: str, trust: str, reason: str
) -> None:
    ca_file = {"stranger": stranger_ca_file, "system": None, "missing": "/nonexistent/ca.pem"}
    with pytest.raises(DeliveryError) as caught:
        send(settings_for(https_receiver, ca_file=ca_file[trust]))

    assert caught.value.permanent
    assert reason in str(caught.value)
    assert https_receiver.requests == []


# -- secrets ---------------------------------------------------------------------------------


def test_it_keeps_secrets_out_of_repr() -> None:
    settings = WebhookSettings(url="https://hooks.slack.test/services/T000/B000/XXXXSECRET",
                               headers={"X-Api-Key": "key-SECRET"}, token="tok-SECRET",
                               hmac_secret="hmac-SECRET")

    shown = repr(settings)

    assert "SECRET" not in shown
    assert "url='https://hooks.slack.test/***'" in shown
    assert "headers={'X-Api-Key': '***'}" in shown
    assert "token=***" in shown and "hmac_secret=***" in shown
    assert "token=None" in repr(WebhookSettings(url="http://127.0.0.1:8080/"))


def test_its_answer_is_the_proof_of_delivery_with_the_secrets_masked(
    receiver: HttpReceiver,
) -> None:
    receiver.script("/tickets", Reply(201, json={"id": "T-42", "echo": TOKEN}))
    url = receiver.url("/tickets").replace("http://", "http://user:pass@") + "?key=SECRET"

    response = send(settings_for(receiver, path="/tickets", token=TOKEN, url=url))
    shown_path = send(settings_for(receiver, path="/tickets", url=url, path_is_secret=False))

    assert response.reply == 'HTTP 201 Created {"id": "T-42", "echo": "***"}'
    assert response.server == f"http://{HOST}:{receiver.port}/***?***"
    assert shown_path.server == f"http://{HOST}:{receiver.port}/tickets?***"
    for shown in (response.reply, response.server, shown_path.server):
        assert TOKEN not in shown and "SECRET" not in shown and "pass" not in shown


def test_a_refusal_names_the_url_it_went_to_without_its_secrets(receiver: HttpReceiver) -> None:
    receiver.script("/hook", Reply(503))

    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver, url=receiver.url("/hook") + "?token=SECRET"))

    assert caught.value.server == f"http://{HOST}:{receiver.port}/***?***"


def test_it_keeps_an_echoed_token_out_of_the_reason(receiver: HttpReceiver) -> None:
    receiver.script("/hook", Reply(401, body=f"invalid token {TOKEN}".encode()))

    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver, token=TOKEN))

    assert TOKEN not in str(caught.value)
    assert "(invalid token ***)" in str(caught.value)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"method": "GET"}, "method"),
    ({"url": "ftp://example.test/"}, "URL"),
    ({"url": "https:///no-host"}, "URL"),
    ({"timeout": -1}, "timeout"),
])
def test_it_rejects_impossible_settings(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        WebhookSettings(**{"url": "http://127.0.0.1:8080/", **overrides})


def test_it_refuses_an_invalid_url_given_per_call(receiver: HttpReceiver) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver), url="tickets/42/secret")

    assert caught.value.permanent
    assert "is not an http:// or https:// URL" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_it_needs_an_aware_time(receiver: HttpReceiver) -> None:
    with pytest.raises(ValueError, match="aware"):
        post_json(settings_for(receiver), EVENT, idempotency_key=KEY,
                  now=datetime(2026, 3, 14))  # naive


def test_it_refuses_a_body_that_is_not_json(receiver: HttpReceiver) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(settings_for(receiver), {"at": NOW})

    assert caught.value.permanent
    assert "cannot be written as JSON" in str(caught.value)


# -- extract ---------------------------------------------------------------------------------

ANSWER = {"id": "T-1", "data": {"ticket": {"id": 42, "url": None}},
          "items": [{"key": "OPS-7"}, {"key": "OPS-8"}], "count": 2}


@pytest.mark.parametrize(("path", "value"), [
    ("id", "T-1"),
    ("data.ticket.id", 42),
    ("data.ticket.url", None),
    ("items.0.key", "OPS-7"),
    ("items.1.key", "OPS-8"),
    ("items.1", {"key": "OPS-8"}),
])
def test_it_extracts_values_by_path(path: str, value: Any) -> None:
    assert extract(ANSWER, path) == value


@pytest.mark.parametrize(("path", "detail"), [
    ("ticket", "the answer has no key 'ticket'"),
    ("data.ticket.number", "data.ticket has no key 'number'"),
    ("items.2.key", "items is a list of 2, without '2'"),
    ("items.first.key", "items is a list of 2, without 'first'"),
    ("count.value", "count is a number, not an object or a list"),
    ("data.ticket.url.host", "data.ticket.url is null, not an object or a list"),
])
def test_it_names_the_path_it_cannot_find(path: str, detail: str) -> None:
    with pytest.raises(KeyError) as caught:
        extract(ANSWER, path)

    assert isinstance(caught.value, MissingPath)
    assert caught.value.args[0] == path
    assert str(caught.value) == f"nothing at {path!r} in the answer: {detail}"


def test_it_extracts_from_a_list_answer() -> None:
    assert extract([{"id": 7}], "0.id") == 7
