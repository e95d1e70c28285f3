"""The heartbeats' record: written by the daemon, read with the stdlib reader (``status``,
``/metrics``); the outages a recovery reports; the migration that adds the table."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from store_helpers import INTERVAL, at, cycle, migrate_to, rows, transition

from watchdog.errors import DatabaseError
from watchdog.store import heartbeat_pings
from watchdog.store.heartbeat_reader import (
    EndedOutage,
    HeartbeatRecord,
    ended_outages,
    outage_baseline,
    read_heartbeats,
)
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

HOST = "https://hc-ping.com"


def send(store: Store, seconds: float, signal: str = "up", *, ok: bool = True,
         reported: int | None = None, name: str = "hc") -> None:
    with store.write() as session:
        heartbeat_pings.record(
            session, name, style="healthchecks", host=HOST, sent_at=at(seconds),
            signal=signal, state=None if signal in ("start", "log") else "up",  # type: ignore[arg-type]
            ok=ok, answer="HTTP 200 OK" if ok else "",
            error=None if ok else f"{HOST} did not answer within 10 s",
            reported_outage_id=reported)


def test_each_heartbeat_keeps_its_last_send_and_when_the_service_last_took_one(
    store: Store, db_path: Path
) -> None:
    assert read_heartbeats(db_path) == ()
    send(store, 0, "start", reported=3)
    send(store, 60, "up")
    send(store, 120, "up", ok=False)
    send(store, 60, "fail", name="kuma")
    hc, kuma = read_heartbeats(db_path)
    assert hc == HeartbeatRecord(
        name="hc", style="healthchecks", host=HOST, sent_at=at(120), signal="up", state="up",
        ok=False, answer="", error=f"{HOST} did not answer within 10 s", last_ok_at=at(60),
        reported_outage_id=3)
    assert (kuma.name, kuma.signal, kuma.ok, kuma.last_ok_at) == ("kuma", "fail", True, at(60))
    with closing(sqlite3.connect(db_path)) as connection, \
            pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        connection.execute("UPDATE heartbeat_ping SET signal = 'maybe'")


def record_outage(store: Store, link: str, start: float, end: float | None) -> None:
    store.record_cycle(cycle(at(start), ok=False), [transition("down", at(start), "isp")], [],
                       at(start), link=link)
    if end is not None:
        store.record_cycle(cycle(at(end)), [transition("up", at(end))], [], at(end), link=link)


def test_a_recovery_reports_the_ended_outages_after_the_last_reported_never_skipping_one(
    store: Store, db_path: Path
) -> None:
    links = [DEFAULT_LINK, "backup"]
    store.resume(at(0), INTERVAL, link="backup")
    assert outage_baseline(db_path, links=links) == 0
    record_outage(store, DEFAULT_LINK, 10, 20)        # 1
    record_outage(store, "backup", 30, None)          # 2, going on
    record_outage(store, DEFAULT_LINK, 40, 50)        # 3
    # A new heartbeat begins below the outage still going on: it will report it.
    assert outage_baseline(db_path, links=links) == 1
    assert outage_baseline(db_path, links=[DEFAULT_LINK]) == 3
    # 3 waits until 2, older and still going on, has ended: reporting up to 3 would skip it.
    assert ended_outages(db_path, after=1, links=links) == ()
    assert [o.id for o in ended_outages(db_path, after=1, links=[DEFAULT_LINK])] == [3]
    store.record_cycle(cycle(at(60)), [transition("up", at(60))], [], at(60), link="backup")
    first, second = ended_outages(db_path, after=1, links=links)
    assert second == EndedOutage(3, DEFAULT_LINK, "isp", at(40), at(50), "test: down")
    assert (first.id, first.link, first.ended_at) == (2, "backup", at(60))
    assert ended_outages(db_path, after=3, links=links) == ()


def revision_before_heartbeat_pings() -> str:
    """The revision the heartbeat_ping migration upgrades from (whatever its number)."""
    from alembic.script import ScriptDirectory

    from watchdog.store import migrate

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    (ours,) = [script for script in scripts.walk_revisions()
               if script.path.endswith("_heartbeat_pings.py")]
    assert isinstance(ours.down_revision, str)
    return ours.down_revision


def columns_of(db_path: Path, table: str) -> str:
    return ", ".join(name for _, name, *_ in rows(db_path, f"PRAGMA table_info({table})"))


def test_the_migration_adds_the_table_and_keeps_every_row(store: Store, db_path: Path) -> None:
    record_outage(store, DEFAULT_LINK, 10, 20)
    store.close()
    previous = revision_before_heartbeat_pings()
    migrate_to(db_path, previous)
    # The rows as the schema before heartbeat_ping holds them (later revisions add columns).
    tables = {table: columns_of(db_path, table)
              for table in ("state_interval", "outage", "link", "target", "sample")}
    before = {table: rows(db_path, f"SELECT {columns} FROM {table} ORDER BY 1")
              for table, columns in tables.items()}
    with pytest.raises(DatabaseError, match="needs a schema upgrade"):
        read_heartbeats(db_path)
    upgraded = Store.open(db_path)  # the daemon's start: a backup, then the upgrade
    assert upgraded.backup is not None
    assert upgraded.backup.name.startswith(f"watchdog.db.bak-{previous}-")
    assert {table: rows(db_path, f"SELECT {columns} FROM {table} ORDER BY 1")
            for table, columns in tables.items()} == before
    assert read_heartbeats(db_path) == ()
    send(upgraded, 30, "start", reported=outage_baseline(db_path, links=[DEFAULT_LINK]))
    upgraded.close()
    assert [(record.signal, record.reported_outage_id) for record in read_heartbeats(db_path)] == [
        ("start", 1)]
    migrate_to(db_path, previous)  # and back: only the heartbeats' record goes
    assert {table: rows(db_path, f"SELECT {columns} FROM {table} ORDER BY 1")
            for table, columns in tables.items()} == before
    assert "heartbeat_ping" not in {name for (name,) in rows(
        db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
