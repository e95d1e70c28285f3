"""Email over SMTP: build one message, hand it to one server, say what happened.

``build_email`` makes the message (threading headers, UTF-8, a stable Message-ID) and
``send_email`` delivers it: connect, EHLO, STARTTLS or implicit TLS with a verifying TLS
context, login, send, QUIT. It returns the proof (``SmtpReceipt``): the server's acceptance
("250 OK queued as 4F2A") and the relay that gave it, for the ticket's timeline, or raises
``DeliveryError`` whose ``permanent`` flag tells the outbox whether a retry can help (and
whose ``server`` names the relay).

Timeouts: ``SmtpSettings.timeout`` bounds every socket operation (connecting, the TLS
handshake, each reply awaited), which is how smtplib applies it. Resolving the host name is
left to the system resolver and its own timeouts; a relay on the LAN is best named by address.

The outbox that stores a built message as bytes should parse it back with ``EMAIL_POLICY``;
``send_email`` serializes with it in any case, so threading headers are never mangled.
"""

from __future__ import annotations

import copy
import email.policy
import email.utils
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, NamedTuple, cast, get_args

from watchdog.binding import Binding, create_connection, outbound_for
from watchdog.channels.errors import (
    DeliveryError,
    causes,
    masked_repr,
    quote,
    untrusted_certificate,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

Security = Literal["starttls", "tls", "none"]
SECURITY_MODES: Final[tuple[str, ...]] = get_args(Security)
# Seconds per socket operation. Generous for a slow relay; the outbox retries anyway.
DEFAULT_TIMEOUT: Final = 30.0
# A Message-ID made from a key keeps this much of the key, readable, before its digest.
MESSAGE_ID_SLUG_CHARS: Final = 40
# Hex digits of SHA-256 in a made Message-ID: 80 bits, no collision among a site's messages.
MESSAGE_ID_DIGEST_CHARS: Final = 20

# What the steps of a session are called in reasons: "... while starting TLS".
CONNECTING: Final = "connecting"
GREETING: Final = "saying EHLO"
STARTING_TLS: Final = "starting TLS"
LOGGING_IN: Final = "logging in"
SENDING: Final = "sending the message"

# Headers build_email sets from its own arguments; ``headers`` may not replace them.
STRUCTURAL_HEADERS: Final = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To",
        "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    )
)

_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                     r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class _MessageIdListHeader(UnstructuredHeader, BaseHeader):
    """In-Reply-To and References: message ids, folded one per line and never encoded.

    The standard policy treats these headers as free text and RFC 2047-encodes any word longer
    than a line ("=?utf-8?q?=3CAM0PR01MB...?="); Exchange's ids are that long. A helpdesk that
    matches the raw header then no longer finds the thread, and the ISP opens a new ticket.
    """

    max_count: ClassVar[Literal[1] | None] = 1

    def fold(self, *, policy: Policy) -> str:
        ids = str(self).split()
        return f"{self.name}: {(policy.linesep + ' ').join(ids)}{policy.linesep}"


_HEADER_TYPES = HeaderRegistry()
for _name in ("message-id", "in-reply-to", "references"):
    _HEADER_TYPES.map_to_type(_name, _MessageIdListHeader)

# The policy of every message built here: email.policy.default, plus
# - cte_type "7bit": non-ASCII text goes quoted-printable, since smtplib never announces
#   8BITMIME and a strict relay may refuse raw 8-bit bodies;
# - threading headers that keep their ids intact (see _MessageIdListHeader).
EMAIL_POLICY: Final = email.policy.default.clone(cte_type="7bit", header_factory=_HEADER_TYPES)


@dataclass(frozen=True, kw_only=True, repr=False)
class SmtpSettings:
    """Where and how to hand over mail.

    ``security``: "starttls" (plain connection upgraded with STARTTLS; refused if the server
    does not offer it), "tls" (implicit TLS from the first byte, usually port 465) or "none"
    (clear text, for a relay on the LAN; never combined with a login). ``ca_file``: a PEM file
    of the CA to trust *instead of* the system's, for a relay with a private certificate.
    ``helo_name``: the name given in EHLO; by default the host's name if it is fully qualified,
    else the address literal of our end of the connection. ``sender``: the envelope sender.
    ``timeout``: seconds per socket operation. The password is masked in ``repr``.
    """

    host: str
    port: int
    security: Security
    sender: str
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    helo_name: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, "
                             f"not {self.security!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {self.timeout}")

    def __repr__(self) -> str:
        return masked_repr(self, ["password"])

    @property
    def where(self) -> str:
        """``host:port`` as reasons name the server (``[::1]:25`` for IPv6)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class SmtpReceipt(NamedTuple):
    """A delivered message's proof: the server's ``reply`` to the data ("250 2.0.0 Ok: queued
    as 4F2A", with "; refused: ..." for recipients it turned away) and the ``server`` that
    gave it: ``host:port``, followed by the address connected to when the host is a name
    (``mail.office.lan:587 [192.0.2.25]``)."""

    reply: str
    server: str


class _Client(smtplib.SMTP):
    """smtplib's client that keeps the server's final answer to the message data, and
    connects through ``binding`` (an uplink's interface or source address; None: the
    default route).

    ``sendmail`` drops that answer, but it is the one worth recording: "250 OK queued as
    4F2A" is what a postmaster asks for when a message has to be traced.
    """

    data_reply: tuple[int, bytes] | None = None

    def __init__(self, *args: Any, binding: Binding | None = None, **kwargs: Any) -> None:
        self.binding = binding  # before smtplib's __init__, which connects
        super().__init__(*args, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        source = cast("tuple[str, int] | None", self.source_address)
        return create_connection((host, port), timeout, self.binding, source)

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        reply = super().data(msg)
        self.data_reply = reply
        return reply


class _TlsClient(_Client, smtplib.SMTP_SSL):
    """The same, over implicit TLS."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # SMTP_SSL's own would connect without the binding: wrap ours as it does.
        return self.context.wrap_socket(_Client._get_socket(self, host, port, timeout),
                                        server_hostname=host)


def send_email(settings: SmtpSettings, message: EmailMessage) -> SmtpReceipt:
    """Deliver ``message`` through the server in ``settings``; return the server's acceptance.

    The envelope sender is ``settings.sender``; the recipients are the message's To, Cc and
    Bcc addresses (Bcc is not transmitted). Returns the reply to the data, e.g.
    "250 OK queued as 4F2A", and the relay that gave it (``SmtpReceipt``); when the server
    refused some recipients but accepted others, the message counts as sent and the reply
    ends with "; refused: addr (550 ...)".

    Raises ``DeliveryError``: transient for what a later attempt may get through (connection
    refused or reset, timeouts, name resolution, network unreachable, the server hanging up,
    any 4xx reply such as 421 or 451); permanent for what needs a person (5xx replies such as
    550/553/554, a rejected login, an untrusted certificate, STARTTLS not offered, a login
    asked for without encryption). Its ``server`` is ``host:port``. The reason never
    contains the password.
    """
    try:
        return _hand_over(settings, message)
    except DeliveryError as error:
        if error.server is None:
            error.server = settings.where
        raise


def _hand_over(settings: SmtpSettings, message: EmailMessage) -> SmtpReceipt:
    """``send_email`` itself: one session with the relay."""
    if settings.username is not None and settings.security == "none":
        raise DeliveryError(
            f"refusing to send the password of {settings.username} to {settings.where} "
            'without encryption: set security to "starttls" or "tls"',
            permanent=True,
        )
    context = _tls_context(settings)
    step = CONNECTING
    client: _Client | None = None
    sent = False
    try:
        client = _connect(settings, context)
        step = GREETING
        client.ehlo_or_helo_if_needed()
        if settings.security == "starttls":
            step = STARTING_TLS
            client.starttls(context=context)
            client.ehlo_or_helo_if_needed()  # RFC 3207: forget the clear-text EHLO, ask again
        if settings.username is not None:
            step = LOGGING_IN
            client.login(settings.username, settings.password or "")
        step = SENDING
        refused = client.send_message(_with_policy(message), from_addr=settings.sender)
        sent = True
        return SmtpReceipt(_accepted(client.data_reply, refused), _server(settings, client))
    except UnicodeEncodeError:
        # Python 3.11's smtplib encodes commands and credentials as ASCII. Not chained: the
        # encoding error carries the whole string it failed on, the password included.
        if step == LOGGING_IN:
            reason = (f"cannot log in to SMTP server {settings.where}: the username or password "
                      "has non-ASCII characters, which Python 3.11's smtplib cannot send; "
                      "use an ASCII password")
        else:
            reason = (f"cannot talk to SMTP server {settings.where} while {step}: an address or "
                      "the EHLO name has non-ASCII characters that SMTP commands cannot carry")
        raise DeliveryError(reason, permanent=True) from None
    except (OSError, ValueError) as error:  # smtplib's and ssl's errors are OSErrors too
        raise _classify(error, step, settings) from error
    finally:
        if client is not None:
            _close(client, polite=sent)


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    """A verifying client context (certificate chain and host name), or None for "none"."""
    if settings.security == "none":
        return None
    try:
        return ssl.create_default_context(cafile=settings.ca_file)
    except OSError as error:  # a missing file, or one without a PEM certificate (ssl.SSLError)
        raise DeliveryError(
            f"cannot use ca_file {settings.ca_file} ({error.strerror or error}): point it at "
            "the PEM certificate of the CA that signed the server's certificate",
            permanent=True,
        ) from error


def _connect(settings: SmtpSettings, context: ssl.SSLContext | None) -> _Client:
    """Connect and read the greeting (smtplib raises SMTPConnectError unless it is 220)."""
    # A name must be given here: without one smtplib calls socket.getfqdn(), a reverse DNS
    # lookup that can hang for the resolver's whole timeout while the internet is down, before
    # even a LAN relay is greeted. The default EHLO name is chosen once connected.
    local_hostname = settings.helo_name or "localhost"
    # While the primary uplink is down, a relay out on the internet is reached through the
    # uplink that works (``watchdog.binding``); a LAN relay keeps its own route.
    binding = outbound_for(settings.host)
    client: _Client
    if settings.security == "tls":
        client = _TlsClient(settings.host, settings.port, local_hostname=local_hostname,
                            timeout=settings.timeout, context=context, binding=binding)
    else:
        client = _Client(settings.host, settings.port, local_hostname=local_hostname,
                         timeout=settings.timeout, binding=binding)
    if settings.helo_name is None and client.sock is not None:
        client.local_hostname = _default_helo_name(client.sock)
    return client


def _default_helo_name(connected: socket.socket) -> str:
    """The host's name if fully qualified, else our address literal (RFC 5321 §4.1.3)."""
    name = socket.gethostname()
    if "." in name:
        return name
    address = str(connected.getsockname()[0])
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _with_policy(message: EmailMessage) -> EmailMessage:
    """A shallow copy of ``message`` that serializes with ``EMAIL_POLICY``.

    A message the outbox parsed back from storage carries whatever policy it was parsed with;
    under the default one its long threading headers would be re-folded into encoded words.
    """
    outgoing = copy.copy(message)
    outgoing.policy = EMAIL_POLICY
    return outgoing


def _server(settings: SmtpSettings, client: _Client) -> str:
    """``host:port`` of the relay, and the address it was reached at when the host is a name
    (which a resolver, a hosts file or a failover could send elsewhere)."""
    try:
        address = str(client.sock.getpeername()[0]) if client.sock is not None else None
    except OSError:
        address = None
    if address is None or address == settings.host.strip("[]"):
        return settings.where
    return f"{settings.where} [{address}]"


def _accepted(reply: tuple[int, bytes] | None, refused: Mapping[str, tuple[int, bytes]]) -> str:
    code, text = reply if reply is not None else (250, b"")
    accepted = f"{code} {quote(text)}".rstrip()
    if not refused:
        return accepted
    listed = ", ".join(f"{address} ({_said(*answer)})" for address, answer in refused.items())
    return f"{accepted}; refused: {listed}"


def _close(client: _Client, *, polite: bool) -> None:
    """End the session: QUIT after a delivery, a plain close after a failure.

    QUIT after a failure could wait one more timeout on a server that has stopped answering,
    and a failure to QUIT must never turn a delivered message into an error.
    """
    if polite:
        with suppress(OSError):
            client.quit()
    client.close()


def _said(code: int, text: bytes | str, password: str | None = None) -> str:
    """A server's reply as a reason quotes it: "550 5.1.1 Mailbox unavailable"."""
    return f"{code} {quote(text, [password])}".rstrip()


def _temporary(code: int) -> bool:
    return 400 <= code < 500


def _classify(error: OSError | ValueError, step: str, settings: SmtpSettings) -> DeliveryError:
    """What went wrong, in one sentence, and whether trying again later can help."""
    server = f"SMTP server {settings.where}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        said = _said(error.smtp_code, error.smtp_error, settings.password)
        if _temporary(error.smtp_code):  # 454: the server cannot check credentials right now
            return DeliveryError(f"{server} could not check the login now ({said})",
                                 permanent=False)
        # Permanent: the server has judged these credentials, and retrying with the same
        # password cannot change its answer (it may get the account locked instead). The
        # user fixes the configuration; the outbox's next attempt after that starts afresh.
        return DeliveryError(
            f"{server} rejected the login of {settings.username} ({said}): "
            "fix the username or password",
            permanent=True,
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        if not error.recipients:
            return DeliveryError("the message has no To, Cc or Bcc address", permanent=True)
        answers = error.recipients.values()
        listed = ", ".join(f"{address} ({_said(*answer)})"
                           for address, answer in error.recipients.items())
        return DeliveryError(f"{server} refused every recipient: {listed}",
                             permanent=not any(_temporary(code) for code, _ in answers))
    if isinstance(error, smtplib.SMTPResponseException):
        said = _said(error.smtp_code, error.smtp_error, settings.password)
        if isinstance(error, smtplib.SMTPSenderRefused):
            reason = f"{server} refused the sender {settings.sender}: {said}"
        elif isinstance(error, smtplib.SMTPDataError):
            reason = f"{server} did not take the message: {said}"
        elif isinstance(error, smtplib.SMTPConnectError):
            reason = f"{server} turned the connection away: {said}"
        else:
            reason = f"{server} answered {said} while {step}"
        if error.smtp_code == 530 and settings.username is None:
            reason += ": it wants a login, set the username and password"
        return DeliveryError(reason, permanent=not _temporary(error.smtp_code))
    if isinstance(error, smtplib.SMTPNotSupportedError):
        if step == STARTING_TLS:
            return DeliveryError(
                f"{server} does not offer STARTTLS, so nothing was sent: use the port that "
                'offers it, or security = "tls" if this port expects implicit TLS',
                permanent=True,
            )
        if step == LOGGING_IN:
            return DeliveryError(
                f"{server} offers no login (AUTH) on this connection: check the port and "
                "security, or remove the username if the server needs none",
                permanent=True,
            )
        return DeliveryError(f"{server} cannot take this message: {error}", permanent=True)
    # smtplib reports a reply that never came as "disconnected", with the timeout behind it.
    timed_out = any(isinstance(cause, TimeoutError) for cause in causes(error))
    hung_up = isinstance(error, smtplib.SMTPServerDisconnected) and not timed_out
    if hung_up or isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError
                             | ConnectionResetError):
        return DeliveryError(f"{server} closed the connection while {step}", permanent=False)
    if isinstance(error, ssl.SSLCertVerificationError):
        return untrusted_certificate(server, error)
    if isinstance(error, ssl.SSLError):
        # A protocol mismatch does not heal: typically implicit TLS against a port that speaks
        # clear text first ("wrong version number").
        return DeliveryError(
            f"the TLS handshake with {server} failed ({error.reason or error}): check "
            'security ("tls" for implicit TLS, usually port 465; "starttls", usually 587)',
            permanent=True,
        )
    if timed_out:
        hint = ""
        if isinstance(error, smtplib.SMTPServerDisconnected) and step == CONNECTING:
            step = "waiting for its greeting"
            if settings.security != "tls":
                hint = ' (if this port expects implicit TLS, usually 465, set security = "tls")'
        return DeliveryError(
            f"{server} did not answer within {settings.timeout:g} s while {step}{hint}",
            permanent=False,
        )
    if isinstance(error, socket.gaierror):
        return DeliveryError(f"cannot resolve the SMTP host {settings.host} ({error.strerror})",
                             permanent=False)
    if isinstance(error, ConnectionRefusedError):
        return DeliveryError(f"{server} refused the connection", permanent=False)
    if isinstance(error, smtplib.SMTPException):  # no usable AUTH mechanism, AUTH loop, ...
        return DeliveryError(f"{server} failed while {step}: {error}", permanent=True)
    if isinstance(error, OSError):  # unreachable, reset, no route: the network's state
        return DeliveryError(f"cannot reach {server} ({error.strerror or error})",
                             permanent=False)
    return DeliveryError(f"cannot send through {server}: {error}", permanent=True)


def build_email(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    text_body: str,
    html_body: str | None = None,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    date: datetime,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A complete message, ready for ``send_email`` (and for storing: ``as_bytes()``).

    ``message_id`` is used exactly as given (``make_message_id``), so a message sent again
    after a crash carries the same id and the receiver can recognise it. ``in_reply_to`` and
    ``references`` thread follow-ups under the first message; when only ``in_reply_to`` is
    given, References is set to it. ``date`` (aware) is the Date header; the outbox passes the
    time it leaves (a days-old Date is what spam filters reject), and the body states when
    the event happened. Subject, names and bodies may be any Unicode text.
    ``html_body`` adds an HTML alternative to the text. ``headers`` adds headers or replaces
    ``Auto-Submitted: auto-generated`` (RFC 3834), which asks responders not to auto-reply.

    Raises ValueError for an aware-less date, a malformed message id, no To address, a
    header that build_email sets itself, or a line break in a header value; TypeError for a
    single string where a list of addresses belongs.
    """
    for addresses in (to, cc, references):
        if isinstance(addresses, str):
            raise TypeError("to, cc and references take a list of strings, not one string")
    if not to:
        raise ValueError("an email needs at least one To address")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware")
    for value in (message_id, in_reply_to, *references):
        if value is not None and not is_message_id(value):
            raise ValueError(f"{value!r} is not a message id like <local@domain>")
    for name in headers or {}:
        if name.lower() in STRUCTURAL_HEADERS:
            raise ValueError(f"header {name} is set from build_email's own arguments")
    if in_reply_to is not None and not references:
        references = [in_reply_to]

    message = EmailMessage(policy=EMAIL_POLICY)
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = message_id
    if in_reply_to is not None:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        del message[name]
        message[name] = value
    message.set_content(text_body)
    if html_body is not None:
        message.add_alternative(html_body, subtype="html")
    return message


def is_message_id(value: str) -> bool:
    """Whether ``value`` has the shape ``<local@domain>`` in printable ASCII without spaces."""
    return value.isascii() and _MESSAGE_ID.fullmatch(value) is not None


def make_message_id(key: str, domain: str) -> str:
    """A stable Message-ID ``<slug.digest@domain>`` for an idempotency key.

    The same key always gives the same id, different keys different ids (the digest is
    SHA-256 of the key), and only letters, digits, dots and hyphens appear, so the id survives
    any mail system. The slug is a readable start of the key ("ticket-wd-2026-0007-open").
    Raises ValueError for an empty key or a domain that is not a host name.
    """
    if not key:
        raise ValueError("a Message-ID needs a non-empty key")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"{domain!r} is not a domain name a Message-ID can use "
                         "(letters, digits, dots and hyphens)")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:MESSAGE_ID_DIGEST_CHARS]
    slug = _NOT_SLUG.sub("-", key.lower()).strip("-")[:MESSAGE_ID_SLUG_CHARS].rstrip("-")
    local = f"{slug}.{digest}" if slug else digest
    return f"<{local}@{domain.lower()}>"
