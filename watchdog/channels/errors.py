"""What a failed delivery tells the outbox, and how channels keep secrets out of what they show.

Every channel function either returns or raises ``DeliveryError``. The outbox retries only the
transient ones (healthchecks' ``permanent`` flag); ``str(error)`` is stored as the message's
last error and shown by ``watchdog outbox``, so it is one sentence for a person, with the fix
when there is one, and it never contains a password, a token or a secret URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    # For a type only: this module is on the config's import path (channels/provider.py),
    # which every command loads, and ssl costs start-up time ``watchdog status`` must not pay.
    import ssl

MASK: Final = "***"
# Server replies and response bodies quoted in a reason are cut to this many characters:
# enough to show "550 5.1.1 <x@example.com>: Recipient address rejected", not a whole page.
QUOTE_CHARS: Final = 200


class DeliveryError(Exception):
    """A message could not be delivered this time.

    ``reason``: one sentence for the outbox's last_error column (also ``str(error)``).
    ``permanent``: True when retrying cannot help until someone changes the configuration or
    the message (a refused address, a wrong password, an untrusted certificate); False when a
    later attempt may succeed (the link or the server is down, the server said "try later").
    ``retry_after``: seconds the receiver asked us to wait before the next attempt, if it said.
    ``server``: where the attempt went (``relay.lan:587``, a URL without its secrets), for the
    attempt's record; the transports set it, None when no server was involved.
    """

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None,
                 server: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.server = server

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        extra = "" if self.retry_after is None else f", retry_after={self.retry_after!r}"
        return f"{type(self).__name__}({self.reason!r}, permanent={self.permanent}{extra})"


def untrusted_certificate(server: str, error: ssl.SSLCertVerificationError) -> DeliveryError:
    """The permanent error for a certificate that does not verify (a person must act)."""
    return DeliveryError(
        f"the TLS certificate of {server} is not trusted ({error.verify_message}): set "
        "ca_file to the CA that signed it, or fix the server's certificate",
        permanent=True,
    )


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: how reasons name a server without its path or
    query, which may be the credential (a webhook's token, a heartbeat's ping URL)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        port = ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else host


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``***``.

    For text a channel does not control (a server's reply, a response body) that it quotes in
    a reason: a server that echoes what it was sent must not make us print a secret.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def quote(text: str | bytes, secrets: Iterable[str | None] = ()) -> str:
    """A server's words made fit for a one-line reason: decoded, on one line, bounded, redacted."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    line = " ".join(text.split())
    line = redact(line, secrets)
    if len(line) > QUOTE_CHARS:
        line = line[: QUOTE_CHARS - 1] + "…"
    return line


def masked_repr(
    instance: Any, masked: Iterable[str], shown: Mapping[str, str] | None = None
) -> str:
    """The dataclass repr of ``instance`` with the ``masked`` fields shown as ``***`` when set.

    ``shown`` gives the text to show for fields that are partly secret (a URL whose path is a
    token). A settings object ends up in logs and tracebacks; its secrets never do.
    """
    hidden = set(masked)
    parts = []
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if shown and field.name in shown:
            text = shown[field.name]
        elif field.name in hidden and value is not None:
            text = MASK
        else:
            text = repr(value)
        parts.append(f"{field.name}={text}")
    return f"{type(instance).__name__}({', '.join(parts)})"


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything behind it: ``__cause__``, ``__context__``, urllib3's ``reason``.

    Libraries wrap the socket error that says what happened (refused, timed out, certificate)
    two or three levels deep; classification looks at the whole chain.
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        behind = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending.extend(item for item in (*behind, *current.args) if isinstance(item, BaseException))
