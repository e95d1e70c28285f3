"""One heartbeat request over HTTP: bounded by a timeout, never raising, its ``Answer``.

A heartbeat is sent once and judged: the service took it (a 2xx answer; for Uptime Kuma, one
that does not say ``"ok": false``) or not, and why, in one sentence that names the server by
scheme, host and port only (the URL's path and query are the secret). Nothing is retried
here: the next heartbeat, an interval later, says the state of then.

Like the webhooks (``channels.webhook``, whose answer handling this shares): redirects are
not followed, and proxies, CA bundles and .netrc from the environment are ignored.

``binding``: the uplink the connection leaves through (its interface and/or source address,
``watchdog.binding``) when it is not the default route's; None: the system chooses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests

from watchdog import clock
from watchdog.binding import Binding
from watchdog.channels.errors import DeliveryError, origin, quote
from watchdog.channels.webhook import USER_AGENT, outcome, read_bounded, transport_error
from watchdog.heartbeats.styles import HeartbeatRequest


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one heartbeat: ``ok`` when the service took it; ``answer`` what it said
    ("HTTP 200 OK"; empty when nothing answered); ``error`` why it did not count, or None."""

    ok: bool
    answer: str
    error: str | None = None


def send(request: HeartbeatRequest, *, timeout: float, binding: Binding | None = None,
         now: datetime | None = None) -> Answer:
    """Send ``request``, waiting at most ``timeout`` seconds to connect and for each read.

    ``now``: the time of sending (for a Retry-After date in a refusal); the clock's by
    default. Never raises: every failure is an ``Answer`` with ``ok`` False.
    """
    where = origin(request.url)
    headers = {"User-Agent": USER_AGENT}
    if request.body is not None:
        headers["Content-Type"] = "text/plain; charset=utf-8"
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy, CA bundle or .netrc from the environment
            if binding is not None:
                from watchdog.http_binding import BoundAdapter

                adapter = BoundAdapter(binding)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
            with session.request(request.method, request.url, data=request.body,
                                 headers=headers, timeout=(timeout, timeout),
                                 allow_redirects=False, stream=True) as response:
                raw, complete = read_bounded(response)
        answered = outcome(response, raw, complete, where=where,
                           now=now or clock.utcnow(), secrets=(request.url,))
    except DeliveryError as refused:  # a status that is not 2xx
        said = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
        return Answer(False, said, str(refused))
    except requests.RequestException as error:
        # Not chained or quoted: requests' messages hold the URL, whose path is the secret.
        return Answer(False, "", str(transport_error(error, where, timeout)))
    except (OSError, ValueError) as error:  # a local failure (no such source address...)
        detail = getattr(error, "strerror", None) or type(error).__name__
        return Answer(False, "", f"cannot send to {where} ({detail})")
    said = f"HTTP {answered.status}" + (f" {quote(answered.body_text, (request.url,))}"
                                        if answered.body_text.strip() else "")
    refusal = answered.json.get("msg") if isinstance(answered.json, dict) and (
        answered.json.get("ok") is False) else None
    if refusal is not None:  # Uptime Kuma: 200 with {"ok": false, "msg": "..."}
        return Answer(False, said, f"{where} refused the heartbeat: "
                      f"{quote(str(refusal), (request.url,))}")
    return Answer(True, said)
