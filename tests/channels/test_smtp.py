"""send_email and build_email against a real SMTP server (aiosmtpd) on loopback.

The outcome tables are read like apprise's: what the server is and does, what the client is
configured with, and what must come out (delivered, or a DeliveryError and its permanence).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal

import pytest
import trustme

from testbed.servers.smtp_server import HOST, SmtpServer, TlsMode
from watchdog.channels import (
    EMAIL_POLICY,
    DeliveryError,
    SmtpSettings,
    build_email,
    make_message_id,
    send_email,
)
from watchdog.channels.smtp import Security, SmtpReceipt

from .conftest import LONG_TIMEOUT, SLACK, TIMEOUT, printed

SENDER = "watchdog@office.test"
ISP = "support@isp.test"
BOSS = "boss@office.test"
RAISED_AT = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
# An id of the length Exchange gives, longer than a header line: the case that breaks threading.
EXCHANGE_ID = "<AM0PR01MB1234567890ABCDEF0123456789ABCDEF@AM0PR01MB1234.eurprd01.prod.outlook.com>"


def message(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "sender": f"Connectivity watchdog <{SENDER}>",
        "to": [ISP],
        "subject": "[WD-2026-0007] Line 0123456789 down",
        "text_body": "The line is down.\n",
        "message_id": make_message_id("ticket:WD-2026-0007:open", "office.test"),
        "date": RAISED_AT,
    }
    fields.update(overrides)
    return build_email(**fields)


def settings_for(server: SmtpServer, security: Security, **overrides: Any) -> SmtpSettings:
    fields: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": security,
        "sender": SENDER,
        "timeout": LONG_TIMEOUT,
        "ca_file": server.ca_file,
    }
    fields.update(overrides)
    return SmtpSettings(**fields)


@pytest.fixture
def plain_server(smtp_servers: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_servers()


# -- outcome tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A server, a client configuration, and what must come of sending one message."""

    name: str
    server_tls: TlsMode
    security: Security
    server_auth: bool = False
    login: bool = False
    password: str | None = None  # None: the server's own
    trust: Literal["server", "stranger"] = "server"
    prepare: Callable[[SmtpServer], None] | None = None
    permanent: bool | None = None  # None: delivered
    reason: str = ""  # a piece of the reason (or of the acceptance text)


DELIVERED = [
    Case("STARTTLS and login", "starttls", "starttls", server_auth=True, login=True),
    Case("implicit TLS and login", "implicit", "tls", server_auth=True, login=True),
    Case("implicit TLS without login", "implicit", "tls"),
    Case("STARTTLS without login", "starttls", "starttls"),
    Case("a clear-text relay on the LAN", "none", "none"),
]

FAILED = [
    Case("wrong password", "starttls", "starttls", server_auth=True, login=True,
         password="wrong-password", permanent=True, reason="fix the username or password"),
    Case("wrong password over implicit TLS", "implicit", "tls", server_auth=True, login=True,
         password="wrong-password", permanent=True, reason="535"),
    Case("untrusted certificate (STARTTLS)", "starttls", "starttls", trust="stranger",
         permanent=True, reason="not trusted"),
    Case("untrusted certificate (implicit TLS)", "implicit", "tls", trust="stranger",
         permanent=True, reason="set ca_file"),
    Case("STARTTLS required, not offered", "none", "starttls", permanent=True,
         reason="does not offer STARTTLS"),
    Case("implicit TLS against a clear-text port", "none", "tls", permanent=True,
         reason="TLS handshake"),
    Case("login required, none configured", "starttls", "starttls", server_auth=True,
         permanent=True, reason="530 5.7.0 Authentication required: it wants a login"),
    Case("451 try later", "none", "none", prepare=lambda s: s.fail_next("451 4.3.0 Try later"),
         permanent=False, reason="451 4.3.0 Try later"),
    Case("550 mailbox unavailable", "none", "none",
         prepare=lambda s: s.fail_next("550 5.1.1 Mailbox unavailable"), permanent=True,
         reason="550 5.1.1"),
    Case("553 mailbox name not allowed", "starttls", "starttls",
         prepare=lambda s: s.fail_next("553 5.1.3 Not allowed"), permanent=True, reason="553"),
    Case("554 transaction failed", "none", "none",
         prepare=lambda s: s.fail_next("554 5.7.1 Rejected"), permanent=True, reason="554"),
    Case("421 and hang up", "starttls", "starttls",
         prepare=lambda s: s.fail_next("421 4.3.2 Shutting down", disconnect=True),
         permanent=False, reason="421"),
    Case("every recipient refused for good", "none", "none",
         prepare=lambda s: s.refuse_recipient(ISP), permanent=True,
         reason=f"refused every recipient: {ISP} (550"),
    Case("every recipient refused for now", "none", "none",
         prepare=lambda s: s.refuse_recipient(ISP, "450 4.2.1 Mailbox busy"), permanent=False,
         reason="450 4.2.1"),
]


def run(case: Case, ca: trustme.CA, stranger_ca_file: str) -> tuple[SmtpServer, SmtpReceipt]:
    """Send one message as ``case`` says; return the server and its receipt."""
    with SmtpServer(tls=case.server_tls, auth=case.server_auth, ca=ca) as server:
        if case.prepare is not None:
            case.prepare(server)
        settings = settings_for(
            server,
            case.security,
            username=server.username if case.login else None,
            password=(case.password or server.password) if case.login else None,
            ca_file=stranger_ca_file if case.trust == "stranger" else server.ca_file,
        )
        return server, send_email(settings, message())


@pytest.mark.parametrize("case", DELIVERED, ids=lambda case: case.name)
def test_it_delivers(case: Case, tls_ca: trustme.CA, stranger_ca_file: str) -> None:
    server, accepted = run(case, tls_ca, stranger_ca_file)

    # The proof: the server's reply to the data, and the relay that gave it.
    assert re.fullmatch(r"250 OK queued as Q\d{4}", accepted.reply)
    assert accepted.server == f"{HOST}:{server.port}"
    [received] = server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == (ISP,)
    assert received.tls is (case.security != "none")
    assert received.login == (server.username if case.login else None)
    assert received.message["Subject"] == "[WD-2026-0007] Line 0123456789 down"


@pytest.mark.parametrize("case", FAILED, ids=lambda case: case.name)
def test_it_classifies_failures(case: Case, tls_ca: trustme.CA, stranger_ca_file: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        run(case, tls_ca, stranger_ca_file)

    error = caught.value
    assert error.permanent is case.permanent, str(error)
    assert case.reason in str(error)
    assert error.server is not None and error.server.startswith(f"{HOST}:")
    assert "\n" not in str(error)
    assert "s3cret" not in printed(error) and "wrong-password" not in printed(error)


def test_it_reports_a_non_ascii_password_without_showing_it(tls_ca: trustme.CA) -> None:
    with SmtpServer(tls="starttls", auth=True, ca=tls_ca) as server:
        settings = settings_for(server, "starttls", username=server.username,
                                password="mot-de-passe-été")

        with pytest.raises(DeliveryError) as caught:
            send_email(settings, message())

    assert caught.value.permanent
    assert "non-ASCII characters" in str(caught.value)
    assert "été" not in printed(caught.value)


def test_it_refuses_to_log_in_without_encryption() -> None:
    with SmtpServer() as server:
        settings = settings_for(server, "none", username=server.username,
                                password=server.password)

        with pytest.raises(DeliveryError) as caught:
            send_email(settings, message())

        assert caught.value.permanent
        assert 'set security to "starttls" or "tls"' in str(caught.value)
        assert server.password not in str(caught.value)
        assert server.ehlo_names == []  # it never even connected


@pytest.mark.parametrize(("fixture", "security", "reason"), [
    ("closed_port", "none", "refused the connection"),
    ("hang_up_port", "starttls", "closed the connection while connecting"),
    ("hang_up_port", "tls", "closed the connection while connecting"),  # in the handshake
])
def test_it_reports_connection_failures_as_transient(
    request: pytest.FixtureRequest, fixture: str, security: Security, reason: str
) -> None:
    port = request.getfixturevalue(fixture)
    settings = SmtpSettings(host=HOST, port=port, security=security, sender=SENDER,
                            timeout=LONG_TIMEOUT)

    with pytest.raises(DeliveryError) as caught:
        send_email(settings, message())

    assert not caught.value.permanent
    assert str(caught.value).startswith(f"SMTP server {HOST}:{port} {reason}")


@pytest.mark.parametrize(("security", "waiting_for"), [
    ("starttls", "while waiting for its greeting"),  # the greeting never comes
    ("tls", "while connecting"),  # the TLS handshake never completes
])
def test_it_gives_up_on_a_silent_server_within_the_timeout(
    silent_port: int, security: Security, waiting_for: str
) -> None:
    settings = SmtpSettings(host=HOST, port=silent_port, security=security, sender=SENDER,
                            timeout=TIMEOUT)
    started = time.monotonic()

    with pytest.raises(DeliveryError) as caught:
        send_email(settings, message())

    assert time.monotonic() - started < TIMEOUT + SLACK
    assert not caught.value.permanent
    assert f"did not answer within {TIMEOUT:g} s {waiting_for}" in str(caught.value)


def test_it_reports_an_unreadable_ca_file_as_permanent() -> None:
    settings = SmtpSettings(host=HOST, port=25, security="starttls", sender=SENDER,
                            ca_file="/nonexistent/ca.pem")

    with pytest.raises(DeliveryError) as caught:
        send_email(settings, message())

    assert caught.value.permanent
    assert "ca_file /nonexistent/ca.pem" in str(caught.value)


def test_its_receipt_names_the_address_a_relay_named_by_host_name_was_reached_at(
    plain_server: SmtpServer,
) -> None:
    settings = replace(settings_for(plain_server, "none"), host="localhost")

    receipt = send_email(settings, message())

    assert receipt.server in (f"localhost:{plain_server.port} [127.0.0.1]",
                              f"localhost:{plain_server.port} [::1]")
    assert receipt.reply == "250 OK queued as Q0001"


# -- what arrives --------------------------------------------------------------------------


def test_it_counts_a_partly_refused_message_as_sent(plain_server: SmtpServer) -> None:
    plain_server.refuse_recipient(BOSS, "550 5.1.1 No such user")

    accepted = send_email(settings_for(plain_server, "none"),
                          message(to=[ISP], cc=[BOSS])).reply

    assert accepted.startswith("250 OK queued as Q0001")
    assert accepted.endswith(f"; refused: {BOSS} (550 5.1.1 No such user)")
    [received] = plain_server.messages
    assert received.rcpt_tos == (ISP,)
    assert received.message["Cc"] == BOSS


def test_it_sends_to_every_to_and_cc_address(plain_server: SmtpServer) -> None:
    send_email(settings_for(plain_server, "none"),
               message(to=[ISP, "noc@isp.test"], cc=[BOSS]))

    assert plain_server.messages[0].rcpt_tos == (ISP, "noc@isp.test", BOSS)


def test_it_keeps_threading_headers_intact(plain_server: SmtpServer) -> None:
    first = make_message_id("ticket:WD-2026-0007:open", "office.test")
    reminder = make_message_id("ticket:WD-2026-0007:escalation:4h", "office.test")
    closing = make_message_id("ticket:WD-2026-0007:close", "office.test")
    references = [first, EXCHANGE_ID, reminder]

    send_email(settings_for(plain_server, "none"), message(
        message_id=closing, in_reply_to=EXCHANGE_ID, references=references))

    [received] = plain_server.messages
    assert received.message["Message-ID"] == closing
    assert received.message["In-Reply-To"] == EXCHANGE_ID
    assert received.message["References"].split() == references
    # Raw, as a helpdesk that does not decode headers sees them: never an encoded word.
    headers = received.raw.split(b"\r\n\r\n")[0]
    assert b"=?" not in headers
    assert f"In-Reply-To: {EXCHANGE_ID}\r\n".encode() in headers


def test_it_keeps_threading_headers_of_a_message_stored_and_parsed_back(
    plain_server: SmtpServer,
) -> None:
    stored = message(in_reply_to=EXCHANGE_ID).as_bytes()
    for policy in (EMAIL_POLICY, None):  # ours, and what a careless reader would use
        parsed = (BytesParser(policy=policy) if policy else BytesParser()).parsebytes(stored)

        send_email(settings_for(plain_server, "none"), parsed)

        headers = plain_server.messages[-1].raw.split(b"\r\n\r\n")[0]
        assert f"In-Reply-To: {EXCHANGE_ID}\r\n".encode() in headers
        assert plain_server.messages[-1].message["Message-ID"] == message()["Message-ID"]


def test_it_carries_french_text_intact(plain_server: SmtpServer) -> None:
    subject = "[WD-2026-0007] Coupure de la ligne fibre — délai de rétablissement dépassé"
    body = ("Bonjour,\n\nLa ligne est coupée depuis le 14 mars à 10 h 26 (heure de Paris).\n"
            "Pénalités prévues au contrat : 150 € par jour.\n")
    html = "<p>La ligne est coupée depuis le <b>14 mars</b>. Coût : 150 €.</p>\n"

    send_email(settings_for(plain_server, "none"), message(
        sender="Veille connectivité <watchdog@office.test>", subject=subject, text_body=body,
        html_body=html))

    received = plain_server.messages[0].message
    assert received["Subject"] == subject
    assert received["From"].addresses[0].display_name == "Veille connectivité"
    # On the wire lines end in CRLF; a mail reader shows them as lines all the same.
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == body
    assert received.get_body(("html",)).get_content().replace("\r\n", "\n") == html
    assert plain_server.messages[0].raw.isascii()  # 7-bit safe: no relay can mangle it


def test_it_introduces_itself_with_the_configured_name(plain_server: SmtpServer) -> None:
    send_email(settings_for(plain_server, "none", helo_name="watchdog.office.test"),
               message())

    assert plain_server.ehlo_names == ["watchdog.office.test"]
    assert plain_server.messages[0].helo == "watchdog.office.test"


def test_it_masks_the_password_in_repr() -> None:
    settings = SmtpSettings(host="smtp.isp.test", port=587, security="starttls", sender=SENDER,
                            username="office", password="hunter2-s3cret")

    assert "hunter2" not in repr(settings)
    assert "password=***" in repr(settings)
    assert "password=None" in repr(replace(settings, password=None))


@pytest.mark.parametrize(("field", "value"), [
    ("security", "ssl"), ("port", 0), ("port", 70000), ("timeout", 0),
])
def test_it_rejects_impossible_settings(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SmtpSettings(**{"host": HOST, "port": 25, "security": "none",
                        "sender": SENDER, field: value})


# -- build_email and make_message_id -------------------------------------------------------


def test_it_builds_a_complete_message() -> None:
    paris = timezone(timedelta(hours=1))
    built = build_email(
        sender=SENDER, to=[ISP], cc=[BOSS], subject="Line down", text_body="Down.\n",
        message_id="<a.1@office.test>", in_reply_to="<a.0@office.test>",
        date=datetime(2026, 3, 14, 10, 26, 53, tzinfo=paris), headers={"X-Line-Id": "0123456789"},
    )

    assert built["Message-ID"] == "<a.1@office.test>"
    assert built["In-Reply-To"] == "<a.0@office.test>"
    assert built["References"] == "<a.0@office.test>"  # the parent, when no chain is given
    assert built["Date"] == "Sat, 14 Mar 2026 10:26:53 +0100"
    assert built["Auto-Submitted"] == "auto-generated"
    assert built["Cc"] == BOSS
    assert built["X-Line-Id"] == "0123456789"
    assert built.get_content_type() == "text/plain"


def test_it_lets_headers_replace_auto_submitted() -> None:
    built = message(headers={"Auto-Submitted": "no"})

    assert built.get_all("Auto-Submitted") == ["no"]


@pytest.mark.parametrize(("overrides", "error"), [
    ({"date": datetime(2026, 3, 14)}, ValueError),  # naive
    ({"message_id": "no-brackets@office.test"}, ValueError),
    ({"message_id": "<two words@office.test>"}, ValueError),
    ({"in_reply_to": "<été@office.test>"}, ValueError),
    ({"to": []}, ValueError),
    ({"to": ISP}, TypeError),
    ({"headers": {"Message-ID": "<x@y>"}}, ValueError),
    ({"headers": {"X-Note": "two\r\nlines"}}, ValueError),
])
def test_it_refuses_to_build_a_broken_message(overrides: dict[str, object],
                                              error: type[Exception]) -> None:
    with pytest.raises(error):
        message(**overrides)


@pytest.mark.parametrize("key", [
    "ticket:WD-2026-0007:open",
    "notification:management:outage_started:2026-03-14T09:26:53Z",
    "ÉCHEC réseau / été",
    "x" * 500,
    "!!!",
])
def test_it_makes_stable_safe_message_ids(key: str) -> None:
    made = make_message_id(key, "Office.Test")

    assert made == make_message_id(key, "Office.Test")
    assert made != make_message_id(key + "!", "Office.Test")
    assert re.fullmatch(r"<[a-z0-9.-]+@office\.test>", made)
    assert len(made) <= 80  # however long the key


@pytest.mark.parametrize(("key", "domain"), [
    ("", "office.test"), ("k", ""), ("k", "office test"), ("k", "-office.test"), ("k", "a>b"),
])
def test_it_refuses_unsafe_message_id_parts(key: str, domain: str) -> None:
    with pytest.raises(ValueError):
        make_message_id(key, domain)
