"""A real SMTP server for tests (aiosmtpd), on 127.0.0.1 and an ephemeral port.

::

    with SmtpServer(tls="starttls", auth=True) as server:
        settings = SmtpSettings(host=server.host, port=server.port, security="starttls",
                                sender="watchdog@office.test", username=server.username,
                                password=server.password, ca_file=server.ca_file)
        send_email(settings, message)
        assert server.messages[0].message["Subject"] == "..."

Modes (``tls``): "none" (clear text), "starttls" (STARTTLS offered and required before any
mail command), "implicit" (TLS from the first byte, SMTPS). Certificates for 127.0.0.1 and
localhost come from a trustme CA (pass one to share it, else each server makes its own);
``ca_file`` is that CA's PEM file, for the client. ``auth=True`` requires a login (PLAIN or
LOGIN, only over TLS) with ``username``/``password`` before MAIL.

Failure injection: ``fail_next(reply, count, disconnect)`` answers the next messages' data
with ``reply`` ("451 ...", "550 ...", "421 ..." and hang up); ``refuse_recipient(address,
reply)`` refuses one RCPT. Accepted messages are recorded in ``messages`` (envelope, parsed
message, raw bytes, EHLO name, login, TLS) and answered "250 OK queued as <id>";
``wait_for(count)`` waits for mail sent by another process (the daemon).

As a script (foreground, stops on SIGTERM or Ctrl-C; prints "listening on ADDRESS:PORT" once
ready), appending each accepted message as a JSON line to FILE: the ISP's or management's mail
server "on the internet" of the end-to-end tests in network namespaces::

    python testbed/servers/smtp_server.py --listen 203.0.113.25:25 --log FILE [--data-delay S]

A JSON line: {"at": ISO time, "message_id", "subject", "from", "to": [envelope recipients],
"in_reply_to", "references", "date", "body": the text part}. ``--data-delay`` (``data_delay``
in-process) holds the answer to each message's data that many seconds *after* the message
is recorded (and logged): a slow server, so that a client can be killed while its message is
in flight, already received but not yet acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal, Self

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

if __package__:
    from .running import Running, listen_address, serve_in_foreground
else:  # run as a script: its own folder is on sys.path, the testbed package may not be
    from running import (  # type: ignore[import-not-found,no-redef]
        Running,
        listen_address,
        serve_in_foreground,
    )

TlsMode = Literal["none", "starttls", "implicit"]
HOST = "127.0.0.1"
# The name the server gives in its greeting: fixed, so aiosmtpd does not ask DNS (getfqdn).
SERVER_NAME = "smtp.watchdog.test"
USERNAME = "watchdog"
PASSWORD = "s3cret-password-42"
CERT_NAMES = (HOST, "localhost")
# Seconds an idle client may keep a session (aiosmtpd's default is 300).
SESSION_TIMEOUT = 30.0


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message as the server saw it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    helo: str | None
    login: str | None
    tls: bool
    # The client's address (the uplink a message left through shows here).
    peer: str | None = None


@dataclass(frozen=True)
class _Failure:
    reply: str
    disconnect: bool


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on port 0.

    Controller connects to ``self.port`` once the server is up (to build the SMTP object);
    with port 0 that would be port 0, so the port the kernel chose is read back first.
    """

    def _trigger_server(self) -> None:
        # aiosmtpd types it as an AbstractServer; asyncio's create_server makes it a Server.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer(Running):
    """A threaded aiosmtpd server; start with ``start()`` or ``with``."""

    def __init__(
        self,
        *,
        tls: TlsMode = "none",
        auth: bool = False,
        ca: trustme.CA | None = None,
        username: str = USERNAME,
        password: str = PASSWORD,
        host: str = HOST,
        port: int = 0,
        log: Path | None = None,
        data_delay: float = 0.0,
    ) -> None:
        self.tls = tls
        self.auth = auth
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.log = log
        self.data_delay = data_delay
        self.messages: list[ReceivedMessage] = []
        self.ehlo_names: list[str] = []
        self._failures: list[_Failure] = []
        self._refused: dict[str, str] = {}
        self._queue_number = 0
        self._changed = threading.Condition()
        self._files = tempfile.TemporaryDirectory(prefix="smtp-server-")
        self.ca_file: str | None = None
        server_context: ssl.SSLContext | None = None
        if tls != "none":
            ca = ca or trustme.CA()
            self.ca_file = str(Path(self._files.name) / "ca.pem")
            ca.cert_pem.write_to_path(self.ca_file)
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(*CERT_NAMES).configure_cert(server_context)
        self._controller = _Controller(
            _Handler(self),
            hostname=host,
            port=port,
            server_hostname=SERVER_NAME,
            ssl_context=server_context if tls == "implicit" else None,
            tls_context=server_context if tls == "starttls" else None,
            require_starttls=tls == "starttls",
            # Authentication is enforced at MAIL by the handler: aiosmtpd's auth_required
            # with auth_require_tls counts only STARTTLS as TLS, never an implicit TLS session.
            auth_require_tls=tls != "implicit",
            authenticator=self._authenticate,
            timeout=SESSION_TIMEOUT,
        )

    # -- control ---------------------------------------------------------------------------

    def start(self) -> Self:
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        self._controller.stop()
        self._files.cleanup()

    def fail_next(self, reply: str, count: int = 1, *, disconnect: bool = False) -> None:
        """Answer the data of the next ``count`` messages with ``reply`` (and hang up after)."""
        with self._changed:
            self._failures.extend([_Failure(reply, disconnect)] * count)

    def refuse_recipient(self, address: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """Answer RCPT TO for ``address`` with ``reply`` from now on."""
        with self._changed:
            self._refused[address.lower()] = reply

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """The first ``count`` messages, waiting up to ``timeout`` s; AssertionError if fewer."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
            assert arrived, f"{len(self.messages)} of {count} messages arrived in {timeout} s"
            return list(self.messages[:count])

    # -- the server's side (runs in the controller's event loop thread) --------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        valid = hmac.compare_digest(data.login, self.username.encode()) and hmac.compare_digest(
            data.password, self.password.encode()
        )
        return AuthResult(success=valid, handled=False, auth_data=self.username if valid else None)

    def _refusal(self, address: str) -> str | None:
        with self._changed:
            return self._refused.get(address.lower())

    def _next_failure(self) -> _Failure | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else None

    def _record(self, received: ReceivedMessage) -> str:
        with self._changed:
            self.messages.append(received)
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(log_record(received), ensure_ascii=False) + "\n")
            self._queue_number += 1
            self._changed.notify_all()
            return f"250 OK queued as Q{self._queue_number:04d}"


class _Handler:
    """aiosmtpd's hooks, delegating to the owning ``SmtpServer``."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # the 5-argument hook must set it itself
        with self.owner._changed:
            self.owner.ehlo_names.append(hostname)
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner.auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.owner._refusal(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.owner._next_failure()
        if failure is not None:
            if failure.disconnect and server.transport is not None:
                # Closed on the loop's next turn, after the reply has been written.
                server.loop.call_soon(server.transport.close)
            return failure.reply
        raw = envelope.original_content or b""
        transport = server.transport
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=BytesParser(policy=default_policy).parsebytes(raw),
            helo=session.host_name,
            login=session.auth_data if isinstance(session.auth_data, str) else None,
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            peer=session.peer[0] if isinstance(session.peer, tuple) else None,
        )
        reply = self.owner._record(received)
        if self.owner.data_delay > 0:
            await asyncio.sleep(self.owner.data_delay)  # received, not yet acknowledged
        return reply


def log_record(received: ReceivedMessage) -> dict[str, Any]:
    """The JSON line the script writes for an accepted message."""
    message = received.message
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return {
        "at": datetime.now(UTC).isoformat(),
        "message_id": _header(message, "Message-ID"),
        "subject": _header(message, "Subject"),
        "from": received.mail_from,
        "to": list(received.rcpt_tos),
        "in_reply_to": _header(message, "In-Reply-To"),
        "references": _header(message, "References"),
        "date": _header(message, "Date"),
        "body": text,
    }


def _header(message: EmailMessage, name: str) -> str | None:
    """A header's value without the folding whitespace the parser keeps: a long Message-ID
    arrives folded onto a second line and would read " <...>"."""
    value = message.get(name)
    return None if value is None else str(value).strip()



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An SMTP server that logs every message.")
    parser.add_argument(
        "--listen", type=listen_address("127.0.0.1:2525"), required=True, help="ADDRESS:PORT"
    )
    parser.add_argument("--log", type=Path, required=True,
                        help="append accepted messages here (JSON lines)")
    parser.add_argument("--data-delay", type=float, default=0.0, metavar="SECONDS",
                        help="answer each message's data this long after recording it")
    arguments = parser.parse_args(argv)
    host, port = arguments.listen
    server = SmtpServer(host=host, port=port, log=arguments.log,
                        data_delay=arguments.data_delay).start()
    return serve_in_foreground(server, threading.Event().wait)


if __name__ == "__main__":
    sys.exit(main())
