"""The daemon's read-only HTTP server (``[web]``): ``/metrics``, the status page at ``/`` and
the month's HTML report at ``/report/YYYY-MM.html``.

It never changes state: GET and HEAD only, every read through the CLI's read-only readers
(``mode=ro`` connections, so it keeps answering while the link is down and while the daemon
writes). It never shows a secret: the pages show states, targets' names and the ticket's
timeline, never the config's keys, addresses with credentials or the outbox's errors.

It never delays a probe cycle. It runs in threads of its own (one accepting, ``WORKERS``
serving), and the work per request is bounded:

- at most ``MAX_CONNECTIONS`` connections at once (being served or waiting for a worker); one
  more is answered 503 at once and closed;
- a connection lives at most ``CONNECTION_SECONDS`` whatever the client does (a slow client
  sending a byte at a time is cut off), one request per connection (HTTP/1.0), the request
  line and headers within the standard library's limits (64 KiB, 100 headers);
- what reads the database (a page, a scrape) is rendered in one thread, one at a time, and
  kept for a second or a few (``PAGE_SECONDS``, ``METRICS_SECONDS``): a flood of requests
  costs one render per period, the rest are copies;
- the month's report is built by a child process (``watchdog report --format html``), one at
  a time, kept ``REPORT_SECONDS``: the daemon never loads the report's libraries nor spends
  its CPU time on it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import parse_qs, urlsplit

from watchdog import clock, memory
from watchdog.config.schema import Config, parse_listen
from watchdog.errors import DatabaseError
from watchdog.logs import get_logger
from watchdog.vocabulary import LANGUAGES, Language

if TYPE_CHECKING:
    from watchdog.web.metrics import HeartbeatSent, MetricsPage

log = get_logger("watchdog.web")

# Threads serving connections (reading requests, writing answers); renders happen in one
# thread of their own (``RenderCache``).
WORKERS: Final = 4
MAX_CONNECTIONS: Final = 32
CONNECTION_SECONDS: Final = 10.0
# A read that waits longer than this for the client gives up (the connection's own limit
# above still holds).
READ_TIMEOUT: Final = 5.0
# How long a request waits for the render in progress before it gives up with 503.
RENDER_WAIT: Final = 8.0
PAGE_SECONDS: Final = 5.0
METRICS_SECONDS: Final = 0.5
REPORT_SECONDS: Final = 300.0
REPORT_TIMEOUT: Final = 60.0
# How many rendered answers are kept (pages per link and language, reports per month).
CACHE_ENTRIES: Final = 16
# A failed read is logged at most this often (a flood of requests must not flood the log).
LOG_EVERY: Final = 60.0
REPORT_PATH: Final = re.compile(r"/report/(\d{4}-\d{2})\.html")
HTML: Final = "text/html; charset=utf-8"
TEXT: Final = "text/plain; charset=utf-8"
# No script, no outside asset: the pages need inline styles and nothing else.
SECURITY_HEADERS: Final = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
     "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)


class Response(NamedTuple):
    status: int
    content_type: str
    body: bytes


class Busy(Exception):
    """The render in progress took longer than ``RENDER_WAIT``."""


class RenderCache:
    """Answers kept for a few seconds, each rendered by the cache's one thread.

    One thread bounds the CPU time (one render at a time, whatever the number of requests)
    and the memory: every read and render allocates in that thread's malloc arena, where
    workers rendering in turn would each grow an arena of their own.
    """

    def __init__(self, name: str, entries: int = CACHE_ENTRIES) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._entries: dict[Any, tuple[float, bytes]] = {}
        self._size = entries

    def get(self, key: Any, seconds: float, produce: Callable[[], bytes]) -> bytes:
        """The answer kept for ``key`` if younger than ``seconds``, else ``produce()`` (kept).

        Raises ``Busy`` when the renders before it take longer than ``RENDER_WAIT``, and
        whatever ``produce`` raises (nothing is kept then)."""
        try:
            return self._thread.submit(self._get, key, seconds, produce).result(
                timeout=RENDER_WAIT)
        except FutureTimeout:
            raise Busy from None

    def _get(self, key: Any, seconds: float, produce: Callable[[], bytes]) -> bytes:
        now = time.monotonic()
        kept = self._entries.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        try:
            body = produce()
        finally:
            _give_back_memory()
        if seconds > 0:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self._size:
                self._entries.pop(min(self._entries, key=lambda k: self._entries[k][0]))
            self._entries[key] = (time.monotonic() + seconds, body)
        return body

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)


def _give_back_memory() -> None:
    """Hand the memory a render freed back to the system.

    A render reads a few thousand rows and builds a page: a peak of a megabyte or two, freed
    at once, that glibc would keep in the render thread's arena for good. Trimming after each
    render (at most one every ``PAGE_SECONDS``) keeps the daemon's resident set what it is
    between renders."""
    memory.give_back()


def monthly_report(config: Config, label: str) -> bytes:
    """The month's HTML report of the default link, built by ``watchdog report`` in a child
    process. Raises ``LookupError`` when the month cannot be reported (not begun, no config
    file), ``RuntimeError`` when the child fails or takes longer than ``REPORT_TIMEOUT``."""
    if config.source is None:
        raise LookupError("no config file to build the report from")
    command = [sys.executable, "-m", "watchdog", "report", "--month", label, "--format",
               "html", "--config", str(config.source), "--database",
               str(config.storage.database)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=REPORT_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the report took longer than {REPORT_TIMEOUT:.0f} s") from None
    if done.returncode == 64:  # EX_USAGE: a month not begun yet
        raise LookupError(done.stderr.decode("utf-8", "replace").strip())
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode("utf-8", "replace").strip()
                           or f"exit {done.returncode}")
    return done.stdout


class WebServer:
    """The server: ``respond(target)`` answers a request (no socket needed, for tests);
    ``start()`` serves it on ``config.web.listen`` in threads of its own, ``stop()`` ends.

    ``heartbeat_sent`` gives when issue 10's dead-man's switch last sent its heartbeat (None:
    none yet); until the daemon has one, nothing is passed and ``/metrics`` leaves that series
    out. ``page_seconds``/``metrics_seconds``: how long a rendered answer is kept (0: never,
    so every request renders; the benchmark times that).
    """

    def __init__(
        self,
        config: Config,
        *,
        now: Callable[[], datetime] = clock.utcnow,
        heartbeat_sent: HeartbeatSent | None = None,
        page_seconds: float = PAGE_SECONDS,
        metrics_seconds: float = METRICS_SECONDS,
        report: Callable[[Config, str], bytes] = monthly_report,
    ) -> None:
        from watchdog.web.metrics import MetricsPage, WatchdogCollector

        self.config = config
        self.now = now
        self.page_seconds = page_seconds
        self.metrics_seconds = metrics_seconds
        self.report = report
        self.metrics: MetricsPage = MetricsPage(WatchdogCollector(config, now, heartbeat_sent))
        self.renders = RenderCache("web-render")
        self.reports = RenderCache("web-report")
        self._server: _HttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._logged_at = float("-inf")

    # -- the answers -----------------------------------------------------------------------

    def apply(self, config: Config) -> None:
        """Use ``config`` from the next request on (after SIGHUP). A new ``[web]`` (another
        address, or the server turned off or on) takes effect at the next restart."""
        if config.web != self.config.web:
            log.warning("config_reload_partial", key="web",
                        hint="a change to [web] takes effect at the next restart")
        self.config = config
        self.metrics.collector.config = config

    def respond(self, target: str) -> Response:
        """The answer to ``GET target`` (path and query). Never raises."""
        try:
            parts = urlsplit(target)
            try:
                query = parse_qs(parts.query, max_num_fields=8)
            except ValueError:  # more fields than any page of ours takes
                return Response(400, TEXT, b"Bad request: too many query fields.\n")
            if parts.path == "/metrics":
                from watchdog.web.metrics import CONTENT_TYPE

                body = self.renders.get(("metrics",), self.metrics_seconds,
                                        self.metrics.render)
                return Response(200, CONTENT_TYPE, body)
            if parts.path in ("/", "/index.html"):
                return self._page(query)
            found = REPORT_PATH.fullmatch(parts.path)
            if found is not None:
                return self._report(found.group(1))
            return Response(404, TEXT, b"Not found: this server has /, /metrics and "
                                       b"/report/YYYY-MM.html.\n")
        except Busy:
            return Response(503, TEXT, b"Busy: try again in a few seconds.\n")
        except DatabaseError as error:
            self._log_failure("web_read_failed", str(error))
            return Response(503, TEXT, f"The database cannot be read: {error}\n".encode())
        except Exception as error:  # a bug must not take the server (or the daemon) down
            self._log_failure("web_request_failed", f"{type(error).__name__}: {error}")
            return Response(500, TEXT, b"Internal error; the daemon's log says more.\n")

    def _page(self, query: dict[str, list[str]]) -> Response:
        from watchdog.web.page import PageRequest, render

        config = self.config
        names = [link.name for link in config.links]
        link = query.get("link", [names[0]])[0]
        language = query.get("lang", [config.site.language])[0]
        if link not in names or language not in LANGUAGES:
            return Response(404, TEXT, b"No such link or language.\n")
        request = PageRequest(link, _language(language))
        body = self.renders.get(("page", request), self.page_seconds,
                                lambda: render(config, request, self.now()).encode("utf-8"))
        return Response(200, HTML, body)

    def _report(self, label: str) -> Response:
        config = self.config
        try:
            body = self.reports.get(("report", label), REPORT_SECONDS,
                                    lambda: self.report(config, label))
        except LookupError as error:
            return Response(404, TEXT, f"No report for {label}: {error}\n".encode())
        except RuntimeError as error:
            self._log_failure("web_report_failed", str(error))
            return Response(503, TEXT, b"The report could not be built; the daemon's log "
                                       b"says why.\n")
        return Response(200, HTML, body)

    def _log_failure(self, event: str, error: str) -> None:
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.error(event, error=error)

    # -- serving ---------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the port the system chose for a listen address ending in :0)."""
        if self._server is None:
            raise RuntimeError("the web server is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Listen on ``[web] listen`` and serve in background threads. Raises ``OSError`` when
        the address cannot be bound (in use, not this machine's)."""
        host, port = parse_listen(self.config.web.listen)
        self._server = _HttpServer((host, port), self)
        serving = threading.Thread(target=self._server.serve_forever, name="web-accept",
                                   kwargs={"poll_interval": 0.5}, daemon=True)
        reaping = threading.Thread(target=self._server.reap, name="web-reaper", daemon=True)
        self._threads = [serving, reaping]
        for thread in self._threads:
            thread.start()
        log.info("web_started", listen=f"{host}:{self.address[1]}")

    def stop(self) -> None:
        """Stop accepting, drop the connections still open, end the threads."""
        server = self._server
        if server is None:
            return
        server.shutdown()
        server.closing.set()
        server.drop_all()
        server.pool.shutdown(wait=True, cancel_futures=True)
        server.server_close()
        self.renders.close()
        self.reports.close()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._server = None


def _language(text: str) -> Language:
    return "fr" if text == "fr" else "en"


def start_web(config: Config, *, heartbeat_sent: HeartbeatSent | None = None) -> WebServer | None:
    """The web server of ``config`` started, or None when ``[web]`` is off or cannot listen
    (logged with the fix: the watchdog keeps watching without its page)."""
    if not config.web.enabled:
        return None
    server = WebServer(config, heartbeat_sent=heartbeat_sent)
    try:
        server.start()
    except OSError as error:
        log.error("web_listen_failed", listen=config.web.listen, error=error.strerror or
                  str(error), hint="set [web] listen to a free port of one of this machine's "
                  "addresses, then restart the service; the watchdog goes on without its page")
        return None
    return server


class _HttpServer(HTTPServer):
    """An HTTP server with a bounded worker pool, a bounded number of connections and a
    lifetime per connection (see the module's doc)."""

    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], web: WebServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.web = web
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="web")
        self.closing = threading.Event()
        self._open: dict[socket.socket, float] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse DNS lookup of the address (``getfqdn``): on a
        site whose link is down, that lookup would wait on a resolver nobody can reach."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = len(self._open) >= MAX_CONNECTIONS
            if not full:
                self._open[request] = time.monotonic() + CONNECTION_SECONDS
        if full:
            _refuse(request)
            return
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request: socket.socket, client_address: Any) -> None:
        try:
            # A client that vanished mid-answer raises OSError: nothing to do about it.
            with contextlib.suppress(OSError):
                self.finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(request, None)
            self.shutdown_request(request)

    def reap(self) -> None:
        """Cut off every connection older than ``CONNECTION_SECONDS`` (``shutdown``, not
        ``close``: the worker reading it sees the end and closes it itself)."""
        while not self.closing.wait(0.5):
            now = time.monotonic()
            with self._open_lock:
                expired = [sock for sock, deadline in self._open.items() if deadline <= now]
            for sock in expired:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def drop_all(self) -> None:
        with self._open_lock:
            held = list(self._open)
        for sock in held:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Errors are the client's (a reset, a timeout): not worth a traceback on stderr."""


def _refuse(request: socket.socket) -> None:
    """503 to a connection over the limit, without reading it and without waiting on it."""
    with contextlib.suppress(OSError):
        request.setblocking(False)
        request.send(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                     b"Connection: close\r\nContent-Length: 5\r\n\r\nBusy\n")
    with contextlib.suppress(OSError):
        request.close()


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "connectivity-watchdog"
    sys_version = ""
    protocol_version = "HTTP/1.0"
    timeout = READ_TIMEOUT

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        response = self.server.web.respond(self.path)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """No line per request: a scrape every second would fill the journal."""
