"""The whole delivery path on loopback: a store with the incident service, real servers, a
fake clock.

``rig`` is a factory: ``rig()`` builds a config (``watchdog.config.parse_config`` on TOML
written to the test's directory) whose ``[[smtp]]`` relay is a real aiosmtpd server with
STARTTLS and AUTH (trustme CA in ``ca_file``, the password in ``password_file``), with:

- ``isp``: ``[[tickets.email]]`` to the ISP's helpdesk (``support@isp.example``);
- ``it``: ``[[tickets.email]]`` to the office's IT, for ``lan`` outages only;
- ``helpdesk``: ``[[tickets.rest]]`` on the HTTP receiver (``POST /tickets`` answers
  ``{"id": "HD-1"}``; follow-ups go to ``/tickets/HD-1/comments`` and ``/tickets/HD-1/close``);
- ``management``: ``[[notify.email]]`` to two managers;
- ``lan-hook``: ``[[notify.webhook]]`` on the HTTP receiver, signed with an HMAC secret.

The rig records synthetic probe cycles through ``Store.record_cycle`` (the incident service
runs inside each cycle's transaction) and moves its clock with them; ``deliver()`` runs one
``Deliverer.deliver_all`` pass at the clock's time. Nothing sleeps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import socket
import sqlite3
import struct
import threading
import tomllib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import pytest
import trustme

from testbed.servers.http_receiver import HttpReceiver, ReceivedRequest, Reply
from testbed.servers.smtp_server import HOST, ReceivedMessage, SmtpServer
from tests.store.store_helpers import T0, at, cycle
from watchdog.config import Config, parse_config
from watchdog.config.zone import site_zone
from watchdog.delivery.senders import build_senders
from watchdog.delivery.worker import Deliverer
from watchdog.incidents.service import IncidentService
from watchdog.link.classify import Policy, classify
from watchdog.link.states import Transition
from watchdog.probes.results import CycleResult
from watchdog.store.timetext import from_text
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

HOUR = 3600.0
DAY = 24 * HOUR
PING_INTERVAL = timedelta(seconds=2)

ISP_MAILBOX = "support@isp.example"
IT_MAILBOX = "it@office.example"
MANAGERS = ("boss@office.example", "cfo@office.example")
HMAC_SECRET = "hook-secret-7f3a"
HELPDESK_TOKEN = "helpdesk-token-91c2"
HELPDESK_ID = "HD-1"
WEBHOOK_EVENTS = ("outage_started", "lan_fault", "ticket_opened", "recovered")
REFERENCE_PATTERN = r"\[WD-\d{4}-\d{4}\]"
# A receiver refuses a signature whose timestamp is further than this from its own clock.
SIGNATURE_TOLERANCE_S = 300

CONFIG = """
[site]
name = "Example Office"
address = "12 rue de la Gare, Lyon"
contact = "Jane Doe, +33 4 00 00 00 00"
timezone = "Europe/Paris"
language = "{language}"

[storage]
database = "watchdog.db"

[isp]
name = "Example Telecom"
line_id = "FTTH-42"
customer_ref = "C-778899"
gtr = "4h"

[[ping]]
name = "a"
address = "203.0.113.1"
[[ping]]
name = "b"
address = "203.0.113.2"

[[smtp]]
name = "relay"
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
sender = "watchdog@office.example"
username = "{username}"
password_file = "{password_file}"
ca_file = "{ca_file}"
timeout = "{smtp_timeout}"

[[tickets.email]]
name = "isp"
smtp = "relay"
to = ["{isp_mailbox}"]

[[tickets.email]]
name = "it"
smtp = "relay"
to = ["{it_mailbox}"]
kinds = ["lan"]

[[notify.email]]
name = "management"
smtp = "{management_relay}"
to = [{managers}]

[[notify.webhook]]
name = "lan-hook"
url = "{http}/hook"
events = [{webhook_events}]
hmac_secret_file = "{hmac_file}"
timeout = "2s"
"""

# The helpdesk's REST API (left out with ``rest_helpdesk=False``).
REST_HELPDESK = """
[[tickets.rest]]
name = "helpdesk"
url = "{http}/tickets"
update_url = "{http}/tickets/{{external_id}}/comments"
close_url = "{http}/tickets/{{external_id}}/close"
id_path = "id"
token_file = "{token_file}"
headers = {{ "X-Office" = "example-office" }}
"""

# A second relay for management, when a test points it somewhere else (a server that hangs).
OTHER_RELAY = """
[[smtp]]
name = "other"
host = "127.0.0.1"
port = {port}
security = "starttls"
sender = "watchdog@office.example"
username = "{username}"
password_file = "{password_file}"
ca_file = "{ca_file}"
timeout = "{timeout}"
"""


def _quoted(items: tuple[str, ...]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def write_config(
    directory: Path,
    smtp: SmtpServer,
    receiver: HttpReceiver,
    *,
    language: str = "en",
    smtp_port: int | None = None,
    smtp_timeout: str = "2s",
    management_port: int | None = None,
    management_timeout: str = "2s",
    rest_helpdesk: bool = True,
    webhook_events: tuple[str, ...] = WEBHOOK_EVENTS,
    extra: str = "",
) -> Config:
    """Write ``watchdog.toml`` (and its secret files) into ``directory``; return it parsed.

    ``smtp_port`` replaces the relay's port (a cuttable link in front of the server);
    ``management_port`` gives management a relay of its own on that port; without
    ``rest_helpdesk`` there is no ``[[tickets.rest]]`` backend; ``webhook_events`` are the
    events the LAN webhook takes; ``extra`` is TOML added at the end (a ``[contract]``).
    """
    assert smtp.ca_file is not None
    password_file = directory / "smtp-password"
    password_file.write_text(smtp.password + "\n")
    token_file = directory / "helpdesk-token"
    token_file.write_text(HELPDESK_TOKEN + "\n")
    hmac_file = directory / "hook-secret"
    hmac_file.write_text(HMAC_SECRET + "\n")
    common = {"username": smtp.username, "password_file": password_file, "ca_file": smtp.ca_file}
    http = f"http://{receiver.host}:{receiver.port}"
    text = CONFIG.format(
        language=language, smtp_port=smtp_port or smtp.port, smtp_timeout=smtp_timeout,
        isp_mailbox=ISP_MAILBOX, it_mailbox=IT_MAILBOX, managers=_quoted(MANAGERS), http=http,
        management_relay="relay" if management_port is None else "other",
        webhook_events=_quoted(webhook_events), hmac_file=hmac_file, **common,
    )
    if rest_helpdesk:
        text += REST_HELPDESK.format(http=http, token_file=token_file)
    if management_port is not None:
        text += OTHER_RELAY.format(port=management_port, timeout=management_timeout, **common)
    text += extra
    path = directory / "watchdog.toml"
    path.write_text(text)
    return parse_config(tomllib.loads(text), path)


# --- the clock -----------------------------------------------------------------------------


class FakeClock:
    """The delivery's clock: moved by the test, never by the wall."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


# --- a link that can be cut ----------------------------------------------------------------


class CuttableLink:
    """A TCP path on loopback to ``target``, cut and restored like the office's WAN.

    While cut, every connection is reset as soon as it arrives (the server is unreachable);
    otherwise bytes are relayed both ways untouched (STARTTLS and all). ``resets`` counts the
    connections turned away.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.resets = 0
        self._cut = threading.Event()
        self._stopping = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="cuttable-link", daemon=True)

    def start(self) -> CuttableLink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._listener.close()
        for connection in self._sockets:
            connection.close()

    def cut(self) -> None:
        self._cut.set()

    def restore(self) -> None:
        self._cut.clear()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                self.resets += 1
                # Linger 0: close with a reset, as a dead path does; nothing is ever said.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            upstream = socket.create_connection(self.target, timeout=5)
            self._sockets.extend([client, upstream])
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


# --- probe cycles ------------------------------------------------------------------------------


def probe_cycle(seconds: float, *, ok: bool, lan: bool = False) -> CycleResult:
    """A cycle at ``T0 + seconds``: the gateway and three targets answering, or not; with
    ``lan`` the gateway does not answer either (a local fault)."""
    result = cycle(at(seconds), ok=ok)
    if not lan:
        return result
    gateway, *others = result.results
    silent = dataclasses.replace(gateway, ok=False, rtt_ms=None, received=0, error="timeout")
    return dataclasses.replace(result, results=(silent, *others))


def observed(result: CycleResult) -> Transition:
    """The transition the tracker confirms for what ``result`` shows: the classifier's state,
    cause, outage kind and evidence, back-dated to the cycle."""
    observation = classify(result, Policy())
    return Transition(observation.state, observation.at, observation.cause,
                      observation.outage_kind, observation.evidence)


# --- reading the outbox ----------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    channel: str
    event: str
    status: str
    attempts: int
    event_at: datetime
    due_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None
    message_id: str | None
    group_key: str | None
    folded_into: int | None


def query(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` read-only on the database at ``path``."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return connection.execute(sql, args).fetchall()


def _time(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def outbox_rows(path: Path, where: str = "1", *args: Any) -> list[OutboxRow]:
    """The outbox rows matching ``where``, in order."""
    found = query(path, "SELECT id, key, channel, event, status, attempts, event_at, due_at, "
                        "last_attempt_at, last_error, sent_at, message_id, group_key, "
                        f"folded_into FROM outbox WHERE {where} ORDER BY id", *args)
    return [OutboxRow(row[0], row[1], row[2], row[3], row[4], row[5], from_text(row[6]),
                      from_text(row[7]), _time(row[8]), row[9], _time(row[10]), row[11], row[12],
                      row[13])
            for row in found]


def timeline(path: Path) -> list[tuple[str, str, str | None]]:
    """(kind, text, channel) of every incident event, in order."""
    return [(kind, text, channel) for kind, text, channel in query(
        path, "SELECT kind, text, channel FROM incident_event ORDER BY id")]


# --- what the receivers got --------------------------------------------------------------


def body(message: EmailMessage) -> str:
    """The plain-text body, decoded, with the wire's CRLF line ends made "\\n"."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def header(message: EmailMessage, name: str) -> str | None:
    """A header's value unfolded and trimmed (a long Message-ID is folded onto its own line,
    which the parser keeps as a leading space), or None."""
    value = message[name]
    return None if value is None else " ".join(str(value).split())


def verify_signature(request: ReceivedRequest, now: datetime) -> bool:
    """Check a webhook request as a receiver would (see ``watchdog/channels/webhook.py``):
    HMAC-SHA256 of ``timestamp.body`` with the shared secret, and a fresh timestamp."""
    timestamp = request.header("X-Watchdog-Timestamp")
    signature = request.header("X-Watchdog-Signature")
    if timestamp is None or signature is None:
        return False
    signed = timestamp.encode("ascii") + b"." + request.body
    expected = "sha256=" + hmac.new(HMAC_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(now.timestamp() - int(timestamp)) <= SIGNATURE_TOLERANCE_S
    return hmac.compare_digest(expected, signature) and fresh


# --- the rig ---------------------------------------------------------------------------------


@dataclass
class Rig:
    """A store with the incident service, a deliverer on a fake clock, and the servers."""

    config: Config
    store: Store
    clock: FakeClock
    deliverer: Deliverer
    smtp: SmtpServer
    receiver: HttpReceiver
    link: CuttableLink | None = None
    failing: str | None = None

    @property
    def database(self) -> Path:
        return self.store.path

    # Cycles. A transition is confirmed 4 s after the probe it is back-dated to.

    def down(self, seconds: float, kind: str = "isp") -> None:
        """The link goes down at ``seconds``: an ``isp`` outage, or a ``lan`` fault."""
        self.failing = kind
        result = probe_cycle(seconds, ok=False, lan=kind == "lan")
        self.clock.set(at(seconds + 4))
        self.store.record_cycle(result, [observed(result)], [], at(seconds + 4), link=DEFAULT_LINK)

    def up(self, seconds: float) -> None:
        self.failing = None
        result = probe_cycle(seconds, ok=True)
        self.clock.set(at(seconds + 4))
        self.store.record_cycle(result, [observed(result)], [], at(seconds + 4), link=DEFAULT_LINK)

    def tick(self, seconds: float) -> None:
        """A cycle without a transition at ``seconds``: the link stays as it is."""
        result = probe_cycle(seconds, ok=self.failing is None, lan=self.failing == "lan")
        self.clock.set(at(seconds))
        self.store.record_cycle(result, [], [], at(seconds), link=DEFAULT_LINK)

    def deliver(self, channel: str | None = None) -> int:
        """One delivery pass at the clock's time: every channel, or one."""
        return (self.deliverer.deliver_all() if channel is None
                else self.deliverer.deliver(channel))

    # What arrived.

    def mailbox(self, address: str) -> list[EmailMessage]:
        return [received.message for received in self.smtp.messages
                if address in received.rcpt_tos]

    def received(self, address: str) -> list[ReceivedMessage]:
        return [received for received in self.smtp.messages if address in received.rcpt_tos]

    def requests(self, path_prefix: str) -> list[ReceivedRequest]:
        return [request for request in self.receiver.requests
                if request.path.startswith(path_prefix)]

    def rows(self, where: str = "1", *args: Any) -> list[OutboxRow]:
        return outbox_rows(self.database, where, *args)

    def reopen(self, now: datetime) -> Store:
        """Start again after a crash (no shutdown): open the database, resume at ``now``."""
        self.store.close()
        self.store = attach(Store.open(self.database), self.config)
        self.store.resume(now, PING_INTERVAL, link=DEFAULT_LINK)
        self.clock.set(now)
        self.deliverer = Deliverer(self.store, build_senders(self.config, site_zone(self.config)),
                                   now=self.clock)
        return self.store


class RigFactory(Protocol):
    def __call__(self, *, language: str = ..., through_link: bool = ...,
                 management_port: int | None = ..., management_timeout: str = ...,
                 rest_helpdesk: bool = ..., webhook_events: tuple[str, ...] = ...) -> Rig: ...


def attach(store: Store, config: Config) -> Store:
    """``store`` with the incident service hooked in, as the daemon does."""
    service = IncidentService(config)
    store.on_cycle = service.after_cycle
    store.on_resume = service.after_resume
    return store


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp(tls_ca: trustme.CA) -> Iterator[SmtpServer]:
    """The office's mail relay: STARTTLS required, login required."""
    with SmtpServer(tls="starttls", auth=True, ca=tls_ca) as server:
        yield server


@contextlib.contextmanager
def helpdesk_and_hook() -> Iterator[HttpReceiver]:
    """The LAN webhook and the helpdesk's REST API, on one HTTP server: opening a ticket
    (``POST /tickets``) answers ``{"id": "HD-1"}``, anything else ``{"ok": true, ...}``."""
    with HttpReceiver(HOST) as server:
        server.script("/tickets", Reply(status=201, json={"id": HELPDESK_ID}))
        yield server


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with helpdesk_and_hook() as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


@pytest.fixture
def rig(tmp_path: Path, smtp: SmtpServer, receiver: HttpReceiver) -> Iterator[RigFactory]:
    """Build the rig: ``rig(language="fr")``, ``rig(through_link=True)`` (SMTP behind a
    ``CuttableLink``), ``rig(management_port=...)`` (management's mail elsewhere),
    ``rig(rest_helpdesk=False)``, ``rig(webhook_events=(...))``."""
    built: list[Rig] = []

    def build(*, language: str = "en", through_link: bool = False,
              management_port: int | None = None, management_timeout: str = "2s",
              rest_helpdesk: bool = True,
              webhook_events: tuple[str, ...] = WEBHOOK_EVENTS) -> Rig:
        made = build_rig(tmp_path, smtp, receiver, language=language,
                         through_link=through_link, management_port=management_port,
                         management_timeout=management_timeout, rest_helpdesk=rest_helpdesk,
                         webhook_events=webhook_events)
        built.append(made)
        return made

    yield build
    for made in built:
        close_rig(made)


def build_rig(
    directory: Path,
    smtp: SmtpServer,
    receiver: HttpReceiver,
    *,
    language: str = "en",
    through_link: bool = False,
    management_port: int | None = None,
    management_timeout: str = "2s",
    rest_helpdesk: bool = True,
    webhook_events: tuple[str, ...] = WEBHOOK_EVENTS,
    extra: str = "",
) -> Rig:
    """A rig whose config and database live in ``directory``, resumed at ``T0``."""
    link = CuttableLink((smtp.host, smtp.port)).start() if through_link else None
    config = write_config(directory, smtp, receiver, language=language,
                          smtp_port=link.port if link else None,
                          management_port=management_port,
                          management_timeout=management_timeout, rest_helpdesk=rest_helpdesk,
                          webhook_events=webhook_events, extra=extra)
    store = attach(Store.open(config.storage.database), config)
    store.resume(T0, PING_INTERVAL, link=DEFAULT_LINK)
    clock = FakeClock(T0)
    deliverer = Deliverer(store, build_senders(config, site_zone(config)), now=clock)
    return Rig(config, store, clock, deliverer, smtp, receiver, link)


def close_rig(made: Rig) -> None:
    made.store.close()
    if made.link is not None:
        made.link.stop()
