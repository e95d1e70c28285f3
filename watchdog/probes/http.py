"""HTTP(S) checks through requests, with one overall deadline per check.

requests' own timeouts apply to each socket operation, so a server that sends a byte now and
then never trips them. Each check therefore carries a deadline: a timer that shuts down the
check's connection when the time is up, whatever phase it is in (TLS handshake, status line,
headers, body). A connection comes under the deadline as soon as its TCP connection exists;
connecting itself is bounded by the connect timeout, which is the check's whole timeout.
"""

from __future__ import annotations

import contextlib
import errno
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import DEFAULT_POOLBLOCK
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from watchdog import __version__
from watchdog.binding import Binding
from watchdog.clock import monotonic, utcnow
from watchdog.config.schema import HttpCheck
from watchdog.http_binding import BoundAdapter
from watchdog.probes.results import ProbeResult

USER_AGENT = f"connectivity-watchdog/{__version__}"
# Bytes asked from the socket per read while reading (at most max_body_bytes of) the body.
READ_CHUNK = 16 * 1024

ERROR_TIMEOUT = "timeout"
ERROR_REFUSED = "connection refused"
ERROR_RESET = "connection reset"
ERROR_UNREACHABLE = "unreachable"
ERROR_NAME = "name not resolved"
ERROR_UNTRUSTED = "TLS certificate not trusted"
ERROR_NAME_MISMATCH = "TLS certificate name mismatch"
ERROR_EXPIRED = "TLS certificate expired"
ERROR_TLS = "TLS error"
ERROR_BAD_URL = "invalid URL"
ERROR_CONNECTION = "connection failed"


@dataclass(frozen=True, slots=True)
class Fetched:
    """One GET: the status (None: no answer), the time to the headers, the body kept (empty
    unless asked for) and what went wrong (None: an answer came, whatever its status)."""

    status: int | None
    rtt_ms: float | None
    body: bytes
    error: str | None


def get(url: str, *, timeout: float, limit: int, keep_body: bool = False,
        binding: Binding | None = None) -> Fetched:
    """GET ``url`` once, without following redirects, within ``timeout`` seconds overall,
    through ``binding`` (None: the default route).

    TLS is verified (``REQUESTS_CA_BUNDLE`` is honoured). At most ``limit`` bytes of the body
    are read: kept (decoded from any content encoding) with ``keep_body``, else dropped as
    sent. ``error`` is "timeout", "connection refused", "TLS certificate not trusted", "name
    not resolved" or another short reason. Never raises; blocks at most ``timeout`` (plus
    the moment it takes a shut-down socket to wake its reader).
    """
    deadline = _Deadline(timeout)
    rtt_ms: float | None = None
    status: int | None = None
    body = b""
    error: str | None = None
    # One session per call, not a shared one: every check then measures a fresh connection
    # (a pooled keep-alive connection could outlive an outage or hide a failing handshake),
    # no state is shared between the threads that run checks concurrently (requests does not
    # promise a thread-safe Session), and the deadline knows every socket the check opened.
    # The price, one TCP and TLS handshake per check, is what a probe wants to measure anyway.
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    for prefix in ("http://", "https://"):
        session.mount(prefix, _DeadlineAdapter(binding))
    _current.deadline = deadline
    deadline.start()
    started = monotonic()
    try:
        with session, session.get(
            url, allow_redirects=False, stream=True, timeout=(timeout, timeout)
        ) as response:
            rtt_ms = round((monotonic() - started) * 1000, 3)
            status = response.status_code
            body = _read_body(response, limit, keep=keep_body)
    except Exception as failure:  # a probe reports, it never raises
        error = _reason(failure)
    finally:
        _current.deadline = None
        # Finishing after the deadline is a timeout, even when the shut-down socket made the
        # read end quietly instead of raising.
        if deadline.finish():
            error = ERROR_TIMEOUT
    return Fetched(status, rtt_ms, body, error)


def fetch(check: HttpCheck, *, timeout: float, binding: Binding | None = None) -> ProbeResult:
    """GET ``check.url`` once (see ``get``) and judge the answer.

    The result is ok when the status is in ``check.expect_status``, or is any 2xx/3xx when
    that list is empty, and, with ``check.expect_body``, when the body's first
    ``check.max_body_bytes`` contain that text (or match it as a regular expression with
    ``check.expect_body_regex``); ``rtt_ms`` is the time to the response headers and
    ``received`` is 1 when the server answered at all (even with an unwanted status).
    ``error`` is "HTTP 503", "body does not contain 'Success'", "timeout", "connection
    refused", "TLS certificate not trusted", "name not resolved" or another short reason.
    Never raises.
    """
    at = utcnow()
    fetched = get(check.url, timeout=timeout, limit=check.max_body_bytes,
                  keep_body=bool(check.expect_body), binding=binding)
    status, error = fetched.status, fetched.error
    if error is None and status is not None:
        wanted = status in check.expect_status if check.expect_status else 200 <= status < 400
        if not wanted:
            error = f"HTTP {status}"
    if error is None and check.expect_body:
        error = body_mismatch(fetched.body, check.expect_body, regex=check.expect_body_regex)
    return ProbeResult(
        kind="http",
        target=check.name,
        address=check.url,
        ok=error is None,
        at=at,
        rtt_ms=fetched.rtt_ms,
        error=error,
        received=0 if status is None else 1,
    )


def body_mismatch(body: bytes, expected: str, *, regex: bool) -> str | None:
    """None when ``body`` (read as UTF-8, bad bytes replaced) contains ``expected``, or
    matches it as a regular expression with ``regex``; else a short reason."""
    text = body.decode("utf-8", errors="replace")
    if regex:
        return None if re.search(expected, text) else f"body does not match {expected[:40]!r}"
    return None if expected in text else f"body does not contain {expected[:40]!r}"


def _read_body(response: requests.Response, limit: int, *, keep: bool) -> bytes:
    """Read up to ``limit`` bytes of the body: kept and decoded with ``keep``, else dropped
    as sent (no decompression)."""
    remaining = limit
    kept: list[bytes] = []
    while remaining > 0:
        chunk = response.raw.read(min(READ_CHUNK, remaining), decode_content=keep)
        if not chunk:
            break
        remaining -= len(chunk)
        if keep:
            kept.append(chunk)
    return b"".join(kept)


class _Deadline:
    """Shuts down the connections of one check when its time is up.

    It keeps a duplicate of each connection's socket descriptor: shutting that down ends every
    blocked read on the connection, whether urllib3 is reading headers or body or the TLS
    handshake is still in progress (and wrapping, which detaches the original socket object).
    Owning the duplicates also means a descriptor it shuts down can never have been closed
    and reused by someone else in the meantime. ``watch`` runs in the check's thread,
    ``expire`` in the timer's; the lock orders them with ``finish``.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._finished = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, connected: socket.socket) -> None:
        """Take charge of a new connection's socket (called as soon as it is connected)."""
        with self._lock:
            if self._finished:
                return
            duplicate = connected.dup()
            self._sockets.append(duplicate)
            if self._expired:
                _shut_down(duplicate)

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._expired = True
            for duplicate in self._sockets:
                _shut_down(duplicate)

    def finish(self) -> bool:
        """End the watch and release the duplicates; returns whether the deadline came first."""
        self._timer.cancel()
        with self._lock:
            self._finished = True
            for duplicate in self._sockets:
                duplicate.close()
            self._sockets.clear()
            return self._expired


def _shut_down(duplicate: socket.socket) -> None:
    """End the connection: reads blocked on it return at once."""
    with contextlib.suppress(OSError):  # the peer may have closed it already
        duplicate.shutdown(socket.SHUT_RDWR)


class _CurrentDeadline(threading.local):
    deadline: _Deadline | None = None


# The deadline of the check running in this thread: connections find it here, since urllib3
# creates them deep inside the request with no way to pass it along.
_current = _CurrentDeadline()


class _DeadlineHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        connected = super()._new_conn()
        if _current.deadline is not None:
            _current.deadline.watch(connected)
        return connected


class _DeadlineHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        connected = super()._new_conn()  # before TLS: the handshake is covered too
        if _current.deadline is not None:
            _current.deadline.watch(connected)
        return connected


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _DeadlineHTTPConnectionPool,
    "https": _DeadlineHTTPSConnectionPool,
}


class _DeadlineAdapter(BoundAdapter):
    """requests' adapter whose connections (direct or through an HTTP proxy) obey a deadline
    and leave through the check's binding."""

    def init_poolmanager(
        self,
        connections: int,
        maxsize: int,
        block: bool = DEFAULT_POOLBLOCK,
        **pool_kwargs: Any,
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


def _reason(error: BaseException) -> str:
    """A short reason for people from whatever requests, urllib3 or the socket raised."""
    if isinstance(error, requests.exceptions.Timeout):
        return ERROR_TIMEOUT
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = f"{cause.verify_message or ''} {cause}".lower()
            if "mismatch" in message or "doesn't match" in message:
                return ERROR_NAME_MISMATCH
            if "expired" in message:
                return ERROR_EXPIRED
            return ERROR_UNTRUSTED
        if isinstance(cause, NameResolutionError | socket.gaierror):
            return ERROR_NAME
        if isinstance(cause, ConnectionRefusedError):
            return ERROR_REFUSED
        if isinstance(cause, ConnectionResetError):
            return ERROR_RESET
        if isinstance(cause, TimeoutError):
            return ERROR_TIMEOUT
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return ERROR_UNREACHABLE
    if isinstance(error, requests.exceptions.SSLError):
        return ERROR_TLS
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return ERROR_BAD_URL
    if isinstance(error, requests.exceptions.ConnectionError):
        return ERROR_CONNECTION
    return (str(error) or type(error).__name__)[:80]


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what lies behind it: chained exceptions, urllib3's ``reason``, wrapped args."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))
