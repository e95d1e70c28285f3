"""The migration that records every delivery attempt: an existing outbox keeps its messages and
gets the attempts it knew of (the last one of each); downgrading keeps the messages too."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from store_helpers import at, rows, text

import watchdog.store.db as db_module
from watchdog.delivery import outbox
from watchdog.store import migrate
from watchdog.store.writer import Store

OUTBOX_COLUMNS = ("id, key, channel, event, incident_id, event_at, created_at, due_at, status, "
                  "attempts, last_attempt_at, last_error, sent_at, message_id, context, "
                  "response, external_id, group_key")


def _migrate(db_path: Path, revision: str, *, down: bool) -> None:
    engine = db_module.create_store_engine(db_path)
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _enqueue(store: Store, key: str, seconds: float) -> int:
    with store.write() as session:
        # Without an incident: nothing folds, each message waits its turn.
        row = outbox.enqueue(session, key=key, channel="management", event="monitor_gap",
                             event_at=at(seconds), now=at(seconds), context={})
        assert row is not None and row.id is not None
        return row.id


def _claim(store: Store, seconds: float) -> int:
    with store.write() as session:
        row = outbox.claim_next(session, "management", at(seconds))
        assert row is not None and row.id is not None
        return row.id


def _an_outbox_of_every_kind(store: Store) -> dict[str, int]:
    """Messages sent on a second attempt, failed, waiting after an error, never tried, and
    in flight (a crash), in that order of the channel's queue."""
    ids = {name: _enqueue(store, name, index) for index, name in enumerate(
        ("sent", "failed", "waiting", "untried", "in_flight"))}
    _claim(store, 10)
    with store.write() as session:
        outbox.mark_failed(session, ids["sent"], at(11), "refused", permanent=False)
    _claim(store, 20)
    with store.write() as session:
        outbox.mark_sent(session, ids["sent"], at(21), "250 OK queued as Q1",
                         email_message_id="<sent@office.example>", server="relay:25")
    _claim(store, 30)
    with store.write() as session:
        outbox.mark_failed(session, ids["failed"], at(31), "550 no such user", permanent=True)
    _claim(store, 40)
    with store.write() as session:
        outbox.mark_failed(session, ids["waiting"], at(41), "421 try later", permanent=False)
    with store.write() as session:  # the untried one: jump the queue to leave it untried
        session.connection().exec_driver_sql(
            f"UPDATE outbox SET status = 'sending', attempts = 1, "
            f"last_attempt_at = '{text(at(50))}' WHERE id = {ids['in_flight']}")
    return ids


def test_an_outbox_with_data_is_upgraded_with_the_attempts_it_knew(
    store: Store, db_path: Path
) -> None:
    ids = _an_outbox_of_every_kind(store)
    store.close()
    _migrate(db_path, "0006", down=True)
    tables = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master "
                                                "WHERE type = 'table'")}
    assert "delivery_attempt" not in tables
    before = rows(db_path, f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id")

    upgraded = Store.open(db_path)  # migrates to the head, after a backup
    upgraded.close()
    assert upgraded.backup is not None and upgraded.backup.name.startswith("watchdog.db.bak-0006-")
    assert rows(db_path, f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id") == before
    assert rows(db_path, "SELECT DISTINCT folded_into FROM outbox") == [(None,)]
    # The last attempt of each message tried, as the outbox knew it; none invented.
    assert rows(db_path, "SELECT outbox_id, number, started_at, finished_at, outcome, server, "
                         "reply, error FROM delivery_attempt ORDER BY outbox_id") == [
        (ids["sent"], 2, text(at(20)), text(at(21)), "sent", None, "250 OK queued as Q1", None),
        (ids["failed"], 1, text(at(30)), text(at(30)), "permanent", None, None,
         "550 no such user"),
        (ids["waiting"], 1, text(at(40)), text(at(40)), "transient", None, None,
         "421 try later"),
        (ids["in_flight"], 1, text(at(50)), None, None, None, None, None),
    ]
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)]
    # The new words are allowed, others still refused.
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute(f"UPDATE outbox SET status = 'folded', folded_into = {ids['sent']} "
                           f"WHERE id = {ids['untried']}")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute("UPDATE outbox SET status = 'lost' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute("UPDATE delivery_attempt SET outcome = 'lost'")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            connection.execute("INSERT INTO delivery_attempt (outbox_id, number, started_at) "
                               f"VALUES ({ids['sent']}, 2, '{text(at(60))}')")
        connection.commit()
    # The next start marks the attempt a crash cut short, and the message is tried again.
    again = Store.open(db_path)
    with again.write() as session:
        assert outbox.release_claims(session) == 1
    again.close()
    assert rows(db_path, "SELECT outcome FROM delivery_attempt WHERE outbox_id = ?",
                (ids["in_flight"],)) == [("interrupted",)]


def test_a_downgrade_keeps_the_messages_and_calls_a_folded_one_superseded(
    store: Store, db_path: Path
) -> None:
    ids = _an_outbox_of_every_kind(store)
    with store.write() as session:
        session.connection().exec_driver_sql(
            f"UPDATE outbox SET status = 'folded', folded_into = {ids['sent']} "
            f"WHERE id = {ids['untried']}")
    store.close()
    _migrate(db_path, "0006", down=True)
    assert rows(db_path, "SELECT key, status FROM outbox ORDER BY id") == [
        ("sent", "sent"), ("failed", "failed"), ("waiting", "pending"),
        ("untried", "superseded"), ("in_flight", "sending")]
    _migrate(db_path, "head", down=False)
    assert rows(db_path, "SELECT count(*) FROM delivery_attempt") == [(4,)]
