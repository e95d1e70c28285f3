"""A site watched for 40 days whose link is down now, with a ticket, a provider's reference,
roll-ups, and a config holding secrets the web server must never show."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.incidents.conftest import make_config
from tests.store.store_helpers import cycle, transition
from watchdog.config import Config, load_config
from watchdog.config.schema import StorageConfig
from watchdog.incidents.service import IncidentService
from watchdog.incidents.ticket_actions import set_provider_ref
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK
from watchdog.web.server import WebServer

NOW = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
START = NOW - timedelta(days=40)
# The ongoing outage began this long before NOW (its ticket is open, the GTR not yet due).
DOWN_FOR = timedelta(hours=3)
EARLIER_OUTAGE = NOW - timedelta(days=10)
PROVIDER_REF = "4411-XYZ"
# Secrets of the config: neither the page nor /metrics may ever show them.
SECRETS = ("hunter2-relay-password", "s3cr3t-hmac-key", "tok3n-in-url")
EXTRA = f"""
[storage]
database = "watchdog.db"

[web]
enabled = true
listen = "127.0.0.1:9830"

[[smtp]]
name = "outside-relay"
host = "127.0.0.1"
sender = "watchdog@office.example"
username = "watchdog"
password = "{SECRETS[0]}"

[[notify.webhook]]
name = "signed-hook"
url = "http://watchdog:{SECRETS[2]}@127.0.0.1:9/hook?token={SECRETS[2]}"
hmac_secret = "{SECRETS[1]}"
"""


@pytest.fixture(scope="module")
def site_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The config (its file beside the database) of the site below, in Paris."""
    tmp_path = tmp_path_factory.mktemp("site")
    make_config(tmp_path, EXTRA)
    path = tmp_path / "watchdog.toml"
    path.write_text(path.read_text().replace(
        "[site]\n", '[site]\ntimezone = "Europe/Paris"\n', 1))
    return load_config(path)


# What the daemon writes for such a cut (its cause, as `watchdog status` shows it).
CAUSE_DOWN = "the gateway 192.168.1.1 answers but 3 of 3 internet targets do not answer"


def _record(store: Store, when: datetime, state: str | None = None, kind: str | None = None,
            *, ok: bool = True, rtt_ms: float = 20.0) -> None:
    cause = CAUSE_DOWN if state == "down" else f"every target answers ({state})"
    changes = [transition(state, when, kind, cause)] if state else []  # type: ignore[arg-type]
    store.record_cycle(cycle(when, ok=ok, rtt_ms=rtt_ms), changes, [], when, link=DEFAULT_LINK)


@pytest.fixture(scope="module")
def site(site_config: Config) -> Config:
    """40 days: up, an ISP outage of 2 h ten days ago, and one going on for 3 h now (built
    once per module, read only by its tests)."""
    service = IncidentService(site_config)
    with Store.open(site_config.storage.database) as store:
        store.on_cycle = service.after_cycle
        store.on_resume = service.after_resume
        store.resume(START, timedelta(seconds=2), link=DEFAULT_LINK)
        _record(store, START, "up")
        down_since = NOW - DOWN_FOR
        moment = START + timedelta(hours=1)
        # A cycle an hour for 39 days, then every 5 minutes: roll-ups for both charts.
        while moment < down_since:
            step = timedelta(hours=1) if NOW - moment > timedelta(days=1) else \
                timedelta(minutes=5)
            rtt = 20.0 + 10.0 * ((moment.hour % 6) / 6)
            if EARLIER_OUTAGE <= moment < EARLIER_OUTAGE + timedelta(hours=2):
                _record(store, moment, "down" if moment == EARLIER_OUTAGE else None, "isp",
                        ok=False)
            elif EARLIER_OUTAGE + timedelta(hours=2) == moment:
                _record(store, moment, "up")
            else:
                _record(store, moment, rtt_ms=rtt)
            moment += step
        _record(store, down_since, "down", "isp", ok=False)
        moment = down_since + timedelta(minutes=5)
        while moment < NOW:
            _record(store, moment, ok=False)
            moment += timedelta(minutes=5)
        _record(store, NOW - timedelta(seconds=1), ok=False)
        store.maintain(NOW, StorageConfig())
        with store.write() as session:
            set_provider_ref(session, _open_reference(store), PROVIDER_REF, NOW)
    return site_config


def _open_reference(store: Store) -> str:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)) as connection:
        (reference,) = connection.execute(
            "SELECT reference FROM incident WHERE ended_at IS NULL").fetchone()
    return str(reference)


@pytest.fixture
def web(site: Config) -> Iterator[WebServer]:
    """The site's web server on a free loopback port, its clock at ``NOW``, nothing kept
    between requests."""
    on_any_port = replace(site, web=replace(site.web, listen="127.0.0.1:0"))
    server = WebServer(on_any_port, now=lambda: NOW, page_seconds=0, metrics_seconds=0)
    server.start()
    yield server
    server.stop()
