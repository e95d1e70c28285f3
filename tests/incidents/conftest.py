"""A store with the incident service attached, and a config with every kind of channel."""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.store.store_helpers import T0
from watchdog.config import Config, parse_config
from watchdog.incidents.service import IncidentService
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

CONFIG = """
[site]
name = "Example Office"
address = "12 rue de la Gare, Lyon"
contact = "Jane Doe, +33 4 00 00 00 00"

[isp]
name = "Example Telecom"
line_id = "FTTH-42"
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
sender = "watchdog@office.example"
security = "none"

[[tickets.email]]
name = "isp"
smtp = "relay"
to = ["support@isp.example"]

[[tickets.email]]
name = "it"
smtp = "relay"
to = ["it@office.example"]
kinds = ["lan"]

[[notify.email]]
name = "management"
smtp = "relay"
to = ["boss@office.example"]

[[notify.webhook]]
name = "lan-hook"
url = "http://127.0.0.1:9/hook"
events = ["outage_started", "lan_fault", "ticket_opened", "recovered"]
"""


def make_config(tmp_path: Path, extra: str = "") -> Config:
    path = tmp_path / "watchdog.toml"
    path.write_text(CONFIG + extra)
    return parse_config(tomllib.loads(CONFIG + extra), path)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def store(tmp_path: Path, config: Config) -> Iterator[Store]:
    with Store.open(tmp_path / "watchdog.db") as opened:
        service = IncidentService(config)
        opened.on_cycle = service.after_cycle
        opened.on_resume = service.after_resume
        opened.resume(T0, timedelta(seconds=2), link=DEFAULT_LINK)
        yield opened


def query(store: Store, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)) as connection:
        return connection.execute(sql, args).fetchall()


def messages(store: Store) -> list[tuple[str, str]]:
    """(channel, event) of every message in the outbox that will be sent, in order."""
    return [(channel, event) for channel, event in query(
        store, "SELECT channel, event FROM outbox WHERE status != 'superseded' ORDER BY id")]
