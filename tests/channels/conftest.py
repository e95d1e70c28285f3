"""Fixtures for the channel tests: a test CA, real SMTP and HTTP servers, dead ports, and the
daemon's store and delivery for a module's ``config``."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from testbed.servers.http_receiver import HttpReceiver
from testbed.servers.smtp_server import CERT_NAMES, HOST, SmtpServer
from tests.store.store_helpers import T0, at
from watchdog.config import Config
from watchdog.config.zone import site_zone
from watchdog.delivery.senders import build_senders
from watchdog.delivery.worker import Deliverer
from watchdog.incidents.service import IncidentService
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

# Every test that expects a timeout uses this one, and expects the error within TIMEOUT + SLACK.
TIMEOUT = 0.3
SLACK = 0.5
# Tests that expect an answer allow this much, so a slow TLS handshake on a busy test machine
# does not turn into a timeout.
LONG_TIMEOUT = 2.0


def printed(error: BaseException) -> str:
    """What a log shows of ``error`` and the chain it prints with it (without source lines)."""
    parts: list[str] = [repr(error)]
    current: BaseException | None = error
    while current is not None:
        parts.extend(traceback.format_exception_only(current))
        behind = current.__cause__
        if behind is None and not current.__suppress_context__:
            behind = current.__context__
        current = behind
    return "".join(parts)


@pytest.fixture
def smtp_servers() -> Iterator[Callable[..., SmtpServer]]:
    """Start servers as a test needs them, ``smtp_servers(tls="starttls", auth=True)``;
    all stop when it ends."""
    started: list[SmtpServer] = []

    def start(**options: Any) -> SmtpServer:
        server = SmtpServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The CA every test server's certificate comes from."""
    return trustme.CA()


@pytest.fixture(scope="session")
def stranger_ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The PEM file of a CA that signed none of the test servers' certificates."""
    path = tmp_path_factory.mktemp("stranger") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """An HTTP webhook receiver on 127.0.0.1."""
    with HttpReceiver(HOST) as server:
        yield server


@pytest.fixture
def https_receiver(tls_ca: trustme.CA) -> Iterator[HttpReceiver]:
    """The same over HTTPS, with a certificate from ``tls_ca`` for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert(*CERT_NAMES).configure_cert(context)
    with HttpReceiver(HOST, tls=context) as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


@pytest.fixture
def hang_up_port() -> Iterator[int]:
    """A loopback port that accepts every connection and closes it at once, without a word."""
    stopping = threading.Event()
    with socket.create_server((HOST, 0)) as listener:
        listener.settimeout(0.05)

        def serve() -> None:
            while not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    connection, _ = listener.accept()
                    connection.close()

        thread = threading.Thread(target=serve, name="hang-up", daemon=True)
        thread.start()
        yield int(listener.getsockname()[1])
        stopping.set()
        thread.join(timeout=1)


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    """The daemon's store for the test's ``config`` (a fixture of its module), with the
    incident service attached as ``watchdog run`` wires it, resumed at ``T0``."""
    with Store.open(config.storage.database) as opened:
        service = IncidentService(config)
        opened.on_cycle = service.after_cycle
        opened.on_resume = service.after_resume
        opened.resume(T0, timedelta(seconds=2), link=DEFAULT_LINK)
        yield opened


# deliver(channel, seconds): one delivery pass of the channel at T0 + seconds; how many sent.
Deliver = Callable[[str, float], int]


@pytest.fixture
def deliver(config: Config, store: Store) -> Deliver:
    """``Deliver`` through the real senders of the test's ``config``, at the fake time given."""
    moment = [T0]
    deliverer = Deliverer(store, build_senders(config, site_zone(config)),
                          now=lambda: moment[0])

    def run(channel: str, seconds: float) -> int:
        moment[0] = at(seconds)
        return deliverer.deliver(channel)

    return run


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "requests.jsonl"
