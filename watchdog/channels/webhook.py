"""JSON to an HTTP endpoint (a webhook, a chat service, a REST ticket API): one request.

``post_json`` sends one body and returns the answer (``WebhookResponse``), or raises
``DeliveryError`` whose ``permanent`` flag tells the outbox whether a retry can help;
``extract`` reads a value such as an external ticket id out of the answer.

Every request carries ``Content-Type: application/json``, ``User-Agent:
connectivity-watchdog/<version>`` and ``Idempotency-Key: <key>``: the key is the same on every
attempt of one message, so a receiver can drop the duplicate that a crash between sending and
recording may cause. Redirects are not followed (a webhook that moved is a configuration to
fix, and a redirect must not carry the token elsewhere). Proxies, CA bundles and .netrc from
the environment are ignored: what is sent where, with which credentials, is the configuration
and nothing else.

Signature (when ``hmac_secret`` is set), for receivers to verify::

    X-Watchdog-Timestamp: 1767225600
    X-Watchdog-Signature: sha256=<hex>

where ``<hex>`` is the lowercase hex HMAC-SHA256, keyed with the shared secret (UTF-8), of
the timestamp's decimal digits, one ".", then the body exactly as received (bytes)::

    signed = timestamp.encode("ascii") + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    valid = hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) <= 300

The timestamp (Unix seconds) is the time of this attempt, so a retry is signed afresh and a
receiver may refuse old replays; the signed body is what tells it the event's own time. The
signature header's name can be changed (``signature_header``); the timestamp header's cannot.

Timeouts: ``WebhookSettings.timeout`` bounds connecting and each read from the socket.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import hmac
import json
import math
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from watchdog import __version__
from watchdog.binding import outbound_for
from watchdog.channels.errors import (
    MASK,
    DeliveryError,
    causes,
    masked_repr,
    origin,
    quote,
    untrusted_certificate,
)
from watchdog.http_binding import BoundAdapter

USER_AGENT: Final = f"connectivity-watchdog/{__version__}"
# Seconds to connect and per read. A webhook answers at once or is in trouble.
DEFAULT_TIMEOUT: Final = 10.0
# At most this much of an answer is read: enough for any REST reply carrying a ticket id.
BODY_LIMIT: Final = 64 * 1024
READ_CHUNK: Final = 16 * 1024
METHODS: Final = ("POST", "PUT", "PATCH")
SIGNATURE_HEADER: Final = "X-Watchdog-Signature"
TIMESTAMP_HEADER: Final = "X-Watchdog-Timestamp"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
# In a configured header value, where the token goes ("Authorization: Token {token}").
TOKEN_PLACEHOLDER: Final = "{token}"
# Statuses that mean "not now": request timeout, too early, too many requests (and all 5xx).
TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})
# What to check for a refusal that a person has to fix.
STATUS_HINTS: Final = {
    400: "check the body template",
    401: "check the token or credentials",
    403: "check the token or credentials",
    404: "check the url",
    405: "check the url and method",
    410: "check the url",
    413: "the body is too large for the receiver",
    415: "the receiver does not take JSON here",
    422: "check the body template",
}


@dataclass(frozen=True, kw_only=True, repr=False)
class WebhookSettings:
    """Where and how to send JSON.

    ``method``: POST, PUT or PATCH. ``headers``: sent with every request; a value may contain
    ``{token}``, replaced by ``token``. ``token``: sent as ``Authorization: Bearer <token>``
    unless a header places it. ``hmac_secret``: signs each request (see the module's doc).
    ``ca_file``: a PEM file of the CA to trust instead of the system's. ``timeout``: seconds
    to connect and per read. ``repr`` masks the token, the secret, header values and the
    URL's path and query (a Slack or ntfy URL is itself a credential). ``path_is_secret``:
    whether the record of an attempt (``WebhookResponse.server``) hides the URL's path too
    (a webhook's) or shows it (a REST API's, whose credential is the token); the userinfo
    and the query are never shown.
    """

    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    hmac_secret: str | None = None
    signature_header: str = SIGNATURE_HEADER
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    path_is_secret: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {self.timeout}")
        _check_url(self.url)

    def __repr__(self) -> str:
        return masked_repr(
            self,
            ["token", "hmac_secret"],
            {
                "url": repr(_masked_url(self.url)),
                "headers": repr({name: MASK for name in self.headers}),
            },
        )


@dataclass(frozen=True)
class WebhookResponse:
    """A 2xx answer: its status, the start of its body as text, and that body parsed as JSON.

    ``body_text``: at most ``BODY_LIMIT`` bytes, decoded by the declared charset (UTF-8 by
    default, undecodable bytes replaced). ``json``: the parsed body, or None when it is empty,
    not JSON, or longer than the limit. ``headers``: the response headers, names lowercased
    (a REST API may give the new ticket's address in ``location``). The proof of delivery:
    ``server``, the URL as an attempt's record shows it (``shown_url``), and ``reply``, the
    status line and the start of the body on one line, secrets masked
    ("HTTP 201 Created {"id": "HD-1"}").
    """

    status: int
    body_text: str
    json: Any | None
    headers: Mapping[str, str] = field(default_factory=dict)
    server: str = ""
    reply: str = ""


class MissingPath(KeyError):
    """``extract`` found nothing at ``path``; ``str()`` says where the walk stopped."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(path)
        self.path = path
        self.detail = detail

    def __str__(self) -> str:
        return f"nothing at {self.path!r} in the answer: {self.detail}"


def post_json(
    settings: WebhookSettings,
    body: bytes | dict[str, Any] | list[Any],
    *,
    idempotency_key: str,
    now: datetime,
    url: str | None = None,
) -> WebhookResponse:
    """Send ``body`` to ``url`` (default ``settings.url``) with ``settings.method``.

    ``body``: bytes are sent exactly as given (a rendered template); a dict or list is
    serialized as compact UTF-8 JSON. ``idempotency_key``: the message's key, the same on
    every attempt. ``now`` (aware): the time of this attempt, for the signature's timestamp
    and for a Retry-After given as a date.

    Returns the answer when its status is 2xx. Raises ``DeliveryError``: transient for
    connection errors, timeouts, 408, 425, 429 and 5xx (``retry_after`` set from a
    Retry-After header), permanent for other 4xx, for 3xx (redirects are not followed), an
    untrusted certificate or an invalid configuration. Reasons name the server by scheme,
    host and port only, never the URL's path, and never contain the token or the secret;
    the error's ``server`` is the URL as ``shown_url`` shows it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    target = url if url is not None else settings.url
    try:
        return _post(settings, body, idempotency_key, now, target)
    except DeliveryError as error:
        if error.server is None:
            error.server = shown_url(target, path_is_secret=settings.path_is_secret)
        raise


def _post(settings: WebhookSettings, body: bytes | dict[str, Any] | list[Any],
          idempotency_key: str, now: datetime, target: str) -> WebhookResponse:
    """``post_json`` itself, to ``target``."""
    try:
        _check_url(target)
    except ValueError as error:  # settings.url was checked; this is the url given here
        raise DeliveryError(str(error), permanent=True) from None
    where = origin(target)
    payload = _encode(body)
    headers = _request_headers(settings, payload, idempotency_key, now)
    if settings.ca_file is not None and not os.path.isfile(settings.ca_file):
        raise DeliveryError(f"ca_file {settings.ca_file} is not a file: point it at the PEM "
                            "certificate of the CA that signed the server's certificate",
                            permanent=True)
    # While the primary uplink is down, a receiver out on the internet is reached through the
    # uplink that works (``watchdog.binding``); one on the LAN keeps its own route.
    binding = outbound_for(urlsplit(target).hostname or "")
    try:
        with requests.Session() as session:
            # Only the configuration decides where requests go and what they carry: no proxy,
            # CA bundle or .netrc from the environment (.netrc would replace our Authorization).
            session.trust_env = False
            if binding is not None:
                for prefix in ("http://", "https://"):
                    session.mount(prefix, BoundAdapter(binding))
            with session.request(
                settings.method,
                target,
                data=payload,
                headers=headers,
                timeout=(settings.timeout, settings.timeout),
                allow_redirects=False,
                stream=True,
                verify=settings.ca_file or True,
            ) as response:
                raw, complete = read_bounded(response)
    except requests.RequestException as error:
        # Not chained: requests' messages quote the URL, whose path may be the credential.
        raise transport_error(error, where, settings.timeout) from None
    except OSError as error:  # requests wraps network errors; this is a local failure
        raise DeliveryError(f"cannot send to {where} ({error.strerror or type(error).__name__})",
                            permanent=False) from None
    answered = outcome(response, raw, complete, where=where, now=now,
                       secrets=(settings.token, settings.hmac_secret))
    return dataclasses.replace(
        answered, server=shown_url(target, path_is_secret=settings.path_is_secret))


def outcome(response: requests.Response, raw: bytes, complete: bool, *, where: str,
            now: datetime, secrets: tuple[str | None, ...]) -> WebhookResponse:
    """The answer for a 2xx status, else the DeliveryError its status calls for.

    ``raw``: the body as ``read_bounded`` read it (``complete``: all of it); ``where``: the
    server as ``origin`` names it; ``secrets``: what to mask in a quoted body."""
    text = _decode(raw, response.encoding)
    status = response.status_code
    said = f"HTTP {status} {response.reason or ''}".rstrip()
    if 200 <= status < 300:
        parsed = _parse_json(raw) if complete else None
        names = {name.lower(): value for name, value in response.headers.items()}
        reply = f"{said} {quote(text, secrets)}".rstrip()
        return WebhookResponse(status=status, body_text=text, json=parsed, headers=names,
                               reply=reply)
    excerpt = f" ({quote(text, secrets)})" if text.strip() else ""
    if 300 <= status < 400:
        location = response.headers.get("Location") or ""
        if urlsplit(location).hostname:
            moved = f" to {origin(location)}"  # not the path: it may be a credential
        else:
            moved = " to another path" if location else ""
        raise DeliveryError(
            f"{where} answered {said}{moved}, a redirect not followed: "
            "point the url at the final address",
            permanent=True,
        )
    if status in TRANSIENT_STATUSES or 500 <= status < 600:
        retry_after = _retry_after(response.headers.get("Retry-After"), now)
        wait = "" if retry_after is None else f", retry after {retry_after:g} s"
        raise DeliveryError(f"{where} answered {said}{excerpt}{wait}", permanent=False,
                            retry_after=retry_after)
    hint = STATUS_HINTS.get(status)
    raise DeliveryError(
        f"{where} refused the request with {said}{excerpt}" + (f": {hint}" if hint else ""),
        permanent=True,
    )


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def extract(json_value: Any, path: str) -> Any:
    """The value at a dotted ``path`` in a parsed JSON answer.

    Each step is an object key or, in a list, an index from 0: ``"id"``, ``"data.ticket.id"``,
    ``"items.0.key"``. A present null gives None. Keys that contain dots cannot be reached.
    Raises ``MissingPath`` (a KeyError whose ``args[0]`` and ``.path`` are the path) when a
    step is missing; ValueError for an empty path.
    """
    if not path:
        raise ValueError("the path to a value is empty")
    current = json_value
    done: list[str] = []
    for step in path.split("."):
        at = ".".join(done) or "the answer"
        if isinstance(current, dict):
            if step not in current:
                raise MissingPath(path, f"{at} has no key {step!r}")
            current = current[step]
        elif isinstance(current, list):
            if not (step.isascii() and step.isdigit()) or int(step) >= len(current):
                raise MissingPath(path, f"{at} is a list of {len(current)}, without {step!r}")
            current = current[int(step)]
        else:
            raise MissingPath(path, f"{at} is {_json_kind(current)}, not an object or a list")
        done.append(step)
    return current


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{_masked_url(url)!r} is not an http:// or https:// URL with a host")


def shown_url(url: str, *, path_is_secret: bool = True) -> str:
    """``url`` as a record of where a message went: without its userinfo, its query ("?***")
    or its fragment, and, when ``path_is_secret``, without its path ("/***")."""
    parts = urlsplit(url)
    path = parts.path
    if path_is_secret and path not in ("", "/"):
        path = f"/{MASK}"
    return f"{origin(url)}{path}" + (f"?{MASK}" if parts.query else "")


def _masked_url(url: str) -> str:
    parts = urlsplit(url)
    hidden = parts.path not in ("", "/") or parts.query or parts.username
    return f"{origin(url)}/{MASK}" if hidden else origin(url)


def _encode(body: bytes | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise DeliveryError(f"the webhook body cannot be written as JSON ({error})",
                            permanent=True) from error


def _request_headers(
    settings: WebhookSettings, payload: bytes, idempotency_key: str, now: datetime
) -> CaseInsensitiveDict[str]:
    """Our headers, the configured ones (token placed), then the key and the signature."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    headers["User-Agent"] = USER_AGENT
    headers["Content-Type"] = "application/json"
    token_placed = False
    for name, template in settings.headers.items():
        if TOKEN_PLACEHOLDER in template:
            if settings.token is None:
                raise DeliveryError(f"header {name} uses {TOKEN_PLACEHOLDER} but no token is "
                                    "configured: set the token or fix the header",
                                    permanent=True)
            headers[name] = template.replace(TOKEN_PLACEHOLDER, settings.token)
            token_placed = True
        else:
            headers[name] = template
    if settings.token is not None and not token_placed:
        if "Authorization" in headers:
            raise DeliveryError(
                f"both a token and an Authorization header are configured: write "
                f"{TOKEN_PLACEHOLDER} where the token goes in the header, or drop one",
                permanent=True,
            )
        headers["Authorization"] = f"Bearer {settings.token}"
    headers[IDEMPOTENCY_HEADER] = idempotency_key
    if settings.hmac_secret is not None:
        timestamp = int(now.timestamp())
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[settings.signature_header] = sign(settings.hmac_secret, timestamp, payload)
    for name, value in headers.items():
        # Checked here, because requests' own error would quote the value: maybe the token.
        if any(mark in name + value for mark in "\r\n\0") or not _latin1(name + value):
            raise DeliveryError(f"header {name} has a line break or a character HTTP headers "
                                "cannot carry: fix its value (or the token's file)",
                                permanent=True)
    return headers


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def read_bounded(response: requests.Response) -> tuple[bytes, bool]:
    """At most ``BODY_LIMIT`` bytes of the (decompressed) body, and whether that was all."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(READ_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > BODY_LIMIT:
            return b"".join(chunks)[:BODY_LIMIT], False
    return b"".join(chunks), True


def _decode(raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def _parse_json(raw: bytes) -> Any | None:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def transport_error(
    error: requests.RequestException, where: str, timeout: float
) -> DeliveryError:
    """The request to ``where`` (``origin``: no secret path) did not get an answer within
    ``timeout`` seconds per step: say why, and whether a retry can help."""
    chain = list(causes(error))
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return untrusted_certificate(where, cause)
    # Connection failures come first: urllib3's NewConnectionError is also a "timeout" class.
    if any(isinstance(cause, ConnectionRefusedError) for cause in chain):
        return DeliveryError(f"{where} refused the connection", permanent=False)
    if any(isinstance(cause, ConnectionResetError) for cause in chain):  # RemoteDisconnected too
        return DeliveryError(f"{where} closed the connection without an answer", permanent=False)
    if any(isinstance(cause, urllib3.exceptions.NameResolutionError | socket.gaierror)
           for cause in chain):
        return DeliveryError(f"cannot resolve the host of {where}", permanent=False)
    if isinstance(error, requests.Timeout) or any(
        isinstance(cause, urllib3.exceptions.ReadTimeoutError | TimeoutError) for cause in chain
    ):
        return DeliveryError(f"{where} did not answer within {timeout:g} s",
                             permanent=False)
    if isinstance(error, requests.exceptions.SSLError):
        if any(isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError) for cause in chain):
            return DeliveryError(f"{where} closed the connection during the TLS handshake",
                                 permanent=False)
        return DeliveryError(
            f"the TLS handshake with {where} failed: check that the url's scheme matches "
            "what the server speaks, and ca_file",
            permanent=True,
        )
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema
                  | requests.exceptions.MissingSchema | requests.exceptions.InvalidHeader):
        return DeliveryError(f"the request to {where} is invalid ({type(error).__name__}): "
                             "check the url and headers", permanent=True)
    for cause in chain:
        if isinstance(cause, OSError) and cause.strerror:
            return DeliveryError(f"cannot reach {where} ({cause.strerror})", permanent=False)
    return DeliveryError(f"the request to {where} failed ({type(error).__name__})",
                         permanent=False)
