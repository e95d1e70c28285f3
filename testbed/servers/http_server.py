"""A real threaded HTTP(S) server for tests (stdlib ``http.server``), with misbehaving paths.

In-process::

    with HttpServer(host="127.0.0.1") as server:          # or tls=ssl_context for HTTPS
        requests.get(server.url("/ok"), timeout=1)

As a script (foreground, stops on SIGTERM or Ctrl-C; prints "listening on ADDRESS:PORT" once
ready)::

    python testbed/servers/http_server.py --listen 10.0.0.80:8080 [--cert FILE --key FILE]

Needs only the standard library: it runs where the test package is not importable.

Paths (GET):
- ``/ok``: 200 with a short body; ``/204``: 204 without a body; ``/status/NNN``: status NNN.
- ``/redirect``: 302 to ``/ok``.
- ``/hang``: reads the request and never answers (until the server stops).
- ``/trickle``: 200 and headers at once, then the body one byte a second
  (``?interval=SECONDS`` changes the pace).
- ``/trickle-headers``: the status line and headers themselves, one byte per interval (0.05 s).
- ``/big``: 200 with an 8 MiB body (``?bytes=N``: N bytes, e.g. a gigabyte, streamed).
- ``/ip``: 200 with the client's address, as a public-address echo service says it
  ("ip=198.51.100.1"); the path check of an uplink behind a failover router reads it.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Self
from urllib.parse import parse_qs, urlsplit

if __package__:
    from .running import (
        Running,
        add_tls_arguments,
        listen_address,
        serve_in_foreground,
        server_tls,
    )
else:  # run as a script: its own folder is on sys.path, the testbed package may not be
    from running import (  # type: ignore[import-not-found,no-redef]
        Running,
        add_tls_arguments,
        listen_address,
        serve_in_foreground,
        server_tls,
    )

BIG_BODY_BYTES: Final = 8 * 1024 * 1024
TRICKLE_BODY_BYTES: Final = 3600
TRICKLE_INTERVAL: Final = 1.0
TRICKLE_HEADERS_INTERVAL: Final = 0.05
# /hang holds a request at most this long, so a forgotten client cannot keep a thread forever.
HANG_SECONDS: Final = 60.0
# A client that connects over TLS must finish its handshake within this.
HANDSHAKE_TIMEOUT: Final = 5.0
CHUNK: Final = 64 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Set by HttpServer: wakes /hang and /trickle when the server stops.
    stopping: threading.Event
    tls: ssl.SSLContext | None

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread: done in accept() it
        # would let one silent client block every other connection.
        if self.tls is not None:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return  # the client rejected our certificate or went away
            request.settimeout(None)
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    quiet = True

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query)
        try:
            if path == "/ok":
                self._send(200, b"ok\n")
            elif path == "/204":
                self._send(204, b"")
            elif path.startswith("/status/") and path[8:].isdigit():
                self._send(int(path[8:]), f"status {path[8:]}\n".encode())
            elif path == "/redirect":
                self._send(302, b"moved\n", location="/ok")
            elif path == "/hang":
                self.server.stopping.wait(HANG_SECONDS)
                self.close_connection = True
            elif path == "/trickle":
                interval = float(query.get("interval", [TRICKLE_INTERVAL])[0])
                self._trickle_body(interval)
            elif path == "/trickle-headers":
                self._trickle_headers()
            elif path == "/big":
                self._big(int(query.get("bytes", [BIG_BODY_BYTES])[0]))
            elif path == "/ip":
                self._send(200, f"ip={self.client_address[0]}\n".encode())
            else:
                self._send(404, b"not found\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client gave up, as probes with deadlines do

    def _send(self, status: int, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        if status not in (204, 304):
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and status not in (204, 304):
            self.wfile.write(body)

    def _trickle_body(self, interval: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(TRICKLE_BODY_BYTES))
        self.end_headers()
        self.wfile.flush()
        for _ in range(TRICKLE_BODY_BYTES):
            self.wfile.write(b".")
            self.wfile.flush()
            if self.server.stopping.wait(interval):
                break
        self.close_connection = True

    def _trickle_headers(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Slow: " + b"." * 200 + b"\r\n\r\nok\n"
        for byte in head:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server.stopping.wait(TRICKLE_HEADERS_INTERVAL):
                break
        self.close_connection = True

    def _big(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"x" * CHUNK
        whole, rest = divmod(size, CHUNK)
        for _ in range(whole):
            self.wfile.write(chunk)
        self.wfile.write(chunk[:rest])


class _Server6(_Server):
    address_family = socket.AF_INET6


class _LoggingHandler(_Handler):
    quiet = False


class HttpServer(Running):
    """A threaded HTTP server on ``host``:``port`` (port 0: any free port, see ``.port``).

    ``tls``: a server-side ``ssl.SSLContext`` (with its certificate loaded) to serve HTTPS.
    Start with ``start()`` or ``with``; ``serve_forever()`` runs it in the calling thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        quiet: bool = True,
    ) -> None:
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler if quiet else _LoggingHandler)
        self._server.stopping = threading.Event()
        self._server.tls = tls
        self.host: str = self._server.server_address[0]  # type: ignore[assignment]
        self.port: int = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/") -> str:
        """The full URL of ``path`` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self) -> Self:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"http-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` or a signal handler raising."""
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving, release held requests and close the listening socket."""
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An HTTP(S) server for tests.")
    parser.add_argument(
        "--listen", type=listen_address("127.0.0.1:8080"), required=True, help="ADDRESS:PORT"
    )
    add_tls_arguments(parser)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    arguments = parser.parse_args(argv)

    host, port = arguments.listen
    tls = server_tls(arguments.cert, arguments.key)
    server = HttpServer(host, port, tls=tls, quiet=not arguments.verbose)
    return serve_in_foreground(server, server.serve_forever)


if __name__ == "__main__":
    sys.exit(main())
