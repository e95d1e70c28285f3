"""How each kind of outside service is spoken to: the request for one ``Ping``. Pure.

``healthchecks`` (healthchecks.io, or a self-hosted healthchecks): the check's ping URL
(``https://hc-ping.com/<uuid>``, or ``…/<ping key>/<slug>``) signals success; ``/start``,
``/fail`` and ``/log`` appended to its path signal the start, a failure, and a note that
changes nothing. Each is a POST whose body, plain UTF-8 text of at most ``BODY_LIMIT`` bytes,
the service keeps with the event and shows in its notifications. A query the URL was given
(``?create=1``) is kept.

``uptime_kuma``: a push monitor's URL, ``https://kuma.example/api/push/<token>``, as its page
shows it (with ``?status=up&msg=OK&ping=`` or without: the query is ours). Each heartbeat is a
GET with ``status=up`` or ``down``, ``msg`` (one line, at most ``MESSAGE_LIMIT`` characters)
and ``ping`` (the median round trip in ms, when known). Kuma has no start and no note: those
are not sent to it.

A request's ``repr`` shows the server only: the URL's path and query are the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from watchdog.channels.errors import MASK, origin

if TYPE_CHECKING:
    from watchdog.config.schema import HeartbeatStyle
    from watchdog.heartbeats.pings import Ping

# healthchecks.io keeps up to 100 kB of a ping's body, a self-hosted one less by default
# (PING_BODY_LIMIT): our bodies are a few lines, cut here if a cause ever grows long.
BODY_LIMIT: Final = 10_000
# Kuma's message travels in the URL's query: one line, kept short.
MESSAGE_LIMIT: Final = 300
HEALTHCHECKS_SUFFIXES: Final = {"up": "", "start": "/start", "fail": "/fail", "log": "/log"}
KUMA_STATUSES: Final = {"up": "up", "fail": "down"}
KUMA_PUSH_PATH: Final = "/api/push/"


@dataclass(frozen=True, slots=True, repr=False)
class HeartbeatRequest:
    """One HTTP request: ``method``, the full ``url`` (a secret) and the ``body`` (POST)."""

    method: Literal["GET", "POST"]
    url: str
    body: bytes | None = None

    def __repr__(self) -> str:
        size = "no body" if self.body is None else f"{len(self.body)} bytes"
        return f"HeartbeatRequest({self.method} {origin(self.url)}/{MASK}, {size})"


def request_for(style: HeartbeatStyle, url: str, ping: Ping) -> HeartbeatRequest | None:
    """The request that says ``ping`` to the service at ``url``; None when ``style`` has no
    word for it (Uptime Kuma: a start or a note)."""
    if style == "healthchecks":
        parts = urlsplit(url)
        path = parts.path.rstrip("/") + HEALTHCHECKS_SUFFIXES[ping.signal]
        return HeartbeatRequest("POST", urlunsplit(parts._replace(path=path)), _body(ping.message))
    status = KUMA_STATUSES.get(ping.signal)
    if status is None:
        return None
    query = {"status": status, "msg": _one_line(ping.message)}
    if ping.rtt_ms is not None:
        query["ping"] = f"{ping.rtt_ms:.0f}"
    return HeartbeatRequest("GET", urlunsplit(urlsplit(url)._replace(query=urlencode(query))))


def url_problem(style: HeartbeatStyle, url: str) -> str | None:
    """What is wrong with ``url`` for ``style`` (a sentence with the fix that never quotes the
    URL: it is the secret), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ("is not an http(s) URL with a host; copy the ping URL the service shows, for "
                "example https://hc-ping.com/<uuid> or https://kuma.example/api/push/<token>")
    kuma = KUMA_PUSH_PATH in parts.path
    if style == "uptime_kuma" and not kuma:
        return (f"is not an Uptime Kuma push URL (…{KUMA_PUSH_PATH}<token>); copy it from the "
                "push monitor's page, or set style = \"healthchecks\" for a healthchecks URL")
    if style == "healthchecks" and kuma:
        return "is an Uptime Kuma push URL; set style = \"uptime_kuma\""
    return None


def _body(message: str) -> bytes:
    encoded = message.encode("utf-8")
    if len(encoded) <= BODY_LIMIT:
        return encoded
    return encoded[:BODY_LIMIT].decode("utf-8", errors="ignore").encode("utf-8")


def _one_line(message: str) -> str:
    line = " | ".join(part.strip() for part in message.splitlines() if part.strip())
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"
