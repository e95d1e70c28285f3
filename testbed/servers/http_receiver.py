"""A real HTTP(S) server that records every request and answers as scripted: a webhook receiver.

In-process::

    with HttpReceiver() as receiver:                       # 127.0.0.1, an ephemeral port
        receiver.script("/hook", Reply(status=500), Reply(status=200, json={"id": "T-1"}))
        requests.post(receiver.url("/hook"), json={}, timeout=1)     # answered 500
        requests.post(receiver.url("/hook"), json={}, timeout=1)     # answered 200, and after
        assert receiver.requests[0].header("Idempotency-Key") == "..."

``script(path, *replies)``: the requests to ``path`` get the replies in turn, the last one
again for every further request. A ``Reply`` has a status, a JSON (or raw) body, headers
(Retry-After, Location, ...) and a delay before answering. Any other path answers 200 with
``{"ok": true, "received": N}``.

As a script (foreground, stops on SIGTERM or Ctrl-C; prints "listening on ADDRESS:PORT" once
ready), appending each request as a JSON line to FILE: a LAN webhook receiver for the
end-to-end tests in network namespaces::

    python testbed/servers/http_receiver.py --listen 10.0.0.80:8080 --log FILE [--cert F --key F]
        [--reject PATH=STATUS ...]   (PATH answered STATUS, the request's headers quoted back)

A JSON line: {"at": ISO time, "method", "path", "headers": {name: value}, "body": text}
(or "body_base64" when the body is not UTF-8). Needs only the standard library.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import ssl
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

if __package__:
    from .http_server import HttpServer, _Server
    from .running import add_tls_arguments, listen_address, serve_in_foreground, server_tls
else:  # run as a script: its own folder is on sys.path, the testbed package may not be
    from http_server import HttpServer, _Server  # type: ignore[import-not-found,no-redef]
    from running import (  # type: ignore[import-not-found,no-redef]
        add_tls_arguments,
        listen_address,
        serve_in_foreground,
        server_tls,
    )

MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """What to answer: ``json`` (serialized) or ``body`` (bytes as given), after ``delay`` s."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Add the request's own headers to the JSON body (an API that quotes the request back in
    # its error: the client must not show that to its users, credentials included).
    echo_headers: bool = False


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as it arrived."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    at: datetime
    # The address the request came from (a client bound to a source address shows it here).
    client: str = ""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def as_record(self) -> dict[str, Any]:
        """The JSON line the script writes for this request."""
        record: dict[str, Any] = {
            "at": self.at.isoformat(),
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "client": self.client,
        }
        try:
            record["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return record


class _ReceiverServer(_Server):
    receiver: HttpReceiver


class _ReceiverServer6(_ReceiverServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ReceiverServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # every request is in .requests (and the log file); stderr stays quiet

    def _receive(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY_BYTES))
        request = ReceivedRequest(
            method=self.command,
            path=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            at=datetime.now(UTC),
            client=str(self.client_address[0]),
        )
        reply = self.server.receiver._arrived(request)
        if reply.delay and self.server.stopping.wait(reply.delay):
            self.close_connection = True
            return  # stopping: the client gets no answer, as from a hung server
        if reply.body is not None:
            payload = reply.body
        elif reply.echo_headers:
            # The credentials first, where a client that shows the start of an error sees them.
            payload = json.dumps({"authorization": request.header("Authorization"),
                                  **(reply.json or {}),
                                  "request_headers": dict(request.headers)}).encode("utf-8")
        elif reply.json is not None:
            payload = json.dumps(reply.json).encode("utf-8")
        else:
            payload = b""
        try:
            self.send_response(reply.status)
            if (reply.json is not None or reply.echo_headers) \
                    and "Content-Type" not in reply.headers:
                self.send_header("Content-Type", "application/json")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client gave up (its timeout came first)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _receive


class HttpReceiver(HttpServer):
    """A threaded HTTP server on ``host``:``port`` (port 0: any free port, see ``.port``).

    ``tls``: a server-side ``ssl.SSLContext`` with its certificate, to serve HTTPS.
    ``log``: a file to append each request to, as a JSON line. Starts, serves and stops as
    ``HttpServer`` does; only what it answers differs.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        log: Path | None = None,
    ) -> None:
        # Not HttpServer.__init__: that one binds the server to its own fixed handler.
        server_class = _ReceiverServer6 if ":" in host else _ReceiverServer
        self._server = server_class((host, port), _Handler)
        self._server.stopping = threading.Event()
        self._server.tls = tls
        self._server.receiver = self
        self.host = str(self._server.server_address[0])
        self.port = int(self._server.server_address[1])
        self.scheme = "https" if tls else "http"
        self._thread = None
        self.log = log
        self.requests: list[ReceivedRequest] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._changed = threading.Condition()

    def script(self, path: str, *replies: Reply) -> None:
        """Answer requests to ``path`` (query string ignored) with ``replies`` in turn."""
        if not replies:
            raise ValueError("script() needs at least one Reply")
        with self._changed:
            self._scripts[path] = list(replies)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The first ``count`` requests, waiting up to ``timeout`` s; AssertionError if fewer."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.requests) >= count, timeout)
            assert arrived, f"{len(self.requests)} of {count} requests arrived in {timeout} s"
            return list(self.requests[:count])

    def _arrived(self, request: ReceivedRequest) -> Reply:
        """Record ``request`` (and log it); return the reply it gets."""
        with self._changed:
            self.requests.append(request)
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(request.as_record(), ensure_ascii=False) + "\n")
            self._changed.notify_all()
            replies = self._scripts.get(request.path.partition("?")[0])
            if not replies:
                return Reply(json={"ok": True, "received": len(self.requests)})
            return replies.pop(0) if len(replies) > 1 else replies[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A webhook receiver that logs every request.")
    parser.add_argument(
        "--listen", type=listen_address("127.0.0.1:8080"), required=True, help="ADDRESS:PORT"
    )
    parser.add_argument("--log", type=Path, required=True, help="append requests here (JSON lines)")
    add_tls_arguments(parser)
    parser.add_argument("--reject", action="append", default=[], metavar="PATH=STATUS",
                        help="answer requests to PATH with STATUS and a JSON error quoting "
                             "the request's headers back (repeatable)")
    arguments = parser.parse_args(argv)

    host, port = arguments.listen
    tls = server_tls(arguments.cert, arguments.key)
    receiver = HttpReceiver(host, port, tls=tls, log=arguments.log)
    for rule in arguments.reject:
        path, _, status = rule.partition("=")
        if not path.startswith("/") or not status.isdigit():
            parser.error(f"--reject {rule!r}: write PATH=STATUS, for example /hook=401")
        receiver.script(path, Reply(status=int(status), json={"error": "rejected"},
                                    echo_headers=True))
    return serve_in_foreground(receiver, receiver.serve_forever)


if __name__ == "__main__":
    sys.exit(main())
