"""The migration that gives intervals, outages and blips their brackets and each link's
heartbeat the clock's synchronisation: an existing history keeps every row, with its precision
"not recorded" (NULL)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from store_helpers import INTERVAL, at, cycle, migrate_to, rows, text, transition

from watchdog.errors import DatabaseError
from watchdog.link.states import Blip
from watchdog.store import migrate
from watchdog.store.reader import read_blips, read_outages, read_status
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

BRACKETS = {
    "state_interval": ("start_after", "start_by"),
    "outage": ("start_after", "start_by", "end_after", "end_by"),
    "blip": ("start_after", "start_by", "end_after", "end_by"),
    "link": ("clock_synced", "clock_checked_at", "clock_status_since"),
}


def columns(db_path: Path, table: str) -> list[str]:
    return [row[1] for row in rows(db_path, f"PRAGMA table_info({table})")]


def ms(seconds: float, milliseconds: float) -> datetime:
    return at(seconds) + timedelta(milliseconds=milliseconds)


def test_the_migration_keeps_every_row_and_leaves_old_brackets_not_recorded(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(4), ok=False), [transition("down", at(4), "isp")],
                       [Blip("down", at(3), at(4), 1, "a short one")], at(5), link=DEFAULT_LINK)
    store.close()
    migrate_to(db_path, "0005")
    for table, new in BRACKETS.items():
        assert not set(new) & set(columns(db_path, table)), table
    old = {table: rows(db_path, f"SELECT * FROM {table} ORDER BY 1") for table in BRACKETS}
    old_columns = {table: columns(db_path, table) for table in BRACKETS}

    upgraded = Store.open(db_path)  # migrates to the head, after a backup
    assert upgraded.backup is not None and upgraded.backup.name.startswith("watchdog.db.bak-0005-")
    for table, new in BRACKETS.items():
        # (Later migrations add columns of their own: only the old ones are compared.)
        kept = ", ".join(column for column in columns(db_path, table)
                         if column not in new and column in old_columns[table])
        assert rows(db_path, f"SELECT {kept} FROM {table} ORDER BY 1") == old[table], table
        nulls = " AND ".join(f"{column} IS NULL" for column in new)
        assert rows(db_path, f"SELECT count(*) FROM {table} WHERE NOT ({nulls})") == [(0,)]
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)]

    # The daemon goes on: a quick restart continues the open outage, and what it records from
    # now on carries its brackets.
    upgraded.resume(at(6), INTERVAL, link=DEFAULT_LINK)
    upgraded.record_cycle(cycle(at(8)), [transition("up", at(8), after=at(7), by=ms(8, 3))],
                          [], at(9), link=DEFAULT_LINK)
    upgraded.close()
    assert rows(db_path, "SELECT started_at, start_after, start_by, end_after, end_by "
                         "FROM outage") == [(text(at(4)), None, None, text(at(7)), text(ms(8, 3)))]
    assert rows(db_path, "SELECT start_after, start_by FROM state_interval "
                         "WHERE ended_at IS NULL") == [(text(at(7)), text(ms(8, 3)))]


# What the schema still refuses after the batch copies: (statement, error).
REFUSED = (
    ("INSERT INTO state_interval (link_id, state, cause, started_at) VALUES "
     "(1, 'up', 'a second open interval', '2025-03-01 12:00:05')", "UNIQUE"),
    ("INSERT INTO outage (link_id, kind, started_at, cause, evidence, unobserved_seconds) "
     "VALUES (1, 'lan', '2025-03-01 12:00:07', 'a second open outage', '{}', 0)", "UNIQUE"),
    ("INSERT INTO blip (link_id, state, started_at, ended_at, cycles, cause) VALUES "
     "(1, 'sideways', '2025-03-01 12:00:06', '2025-03-01 12:00:07', 1, 'x')", "CHECK"),
    ("INSERT INTO outage (link_id, kind, started_at, ended_at, cause, evidence, "
     "unobserved_seconds) VALUES (1, 'isp', '2025-03-01 12:00:07', '2025-03-01 12:00:06', "
     "'ends before it starts', '{}', 0)", "CHECK"),
)


def test_after_the_migration_the_one_open_indexes_and_checks_still_hold(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(4), ok=False), [transition("down", at(4), "isp")], [], at(5),
                       link=DEFAULT_LINK)
    store.close()
    migrate_to(db_path, "0005")
    Store.open(db_path).close()
    with closing(sqlite3.connect(db_path)) as connection:
        for statement, error in REFUSED:
            with pytest.raises(sqlite3.IntegrityError, match=error):
                connection.execute(statement)


def test_the_readers_give_each_outage_and_blip_its_brackets(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(4), ok=False),
                       [transition("down", at(4), "isp", after=at(2), by=ms(4, 3))],
                       [Blip("down", at(1), at(2), 1, "short", start_after=at(0),
                             start_by=ms(1, 3), end_after=ms(1, 0), end_by=ms(2, 2))],
                       at(5), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(9)), [transition("up", at(9), after=at(8), by=ms(9, 2))], [],
                       at(10), link=DEFAULT_LINK)
    (outage,) = read_outages(db_path, None)
    assert (outage.start_after, outage.start_by, outage.end_after, outage.end_by) == (
        at(2), ms(4, 3), at(8), ms(9, 2))
    (blip,) = read_blips(db_path, None)
    assert (blip.start_after, blip.start_by, blip.end_after, blip.end_by) == (
        at(0), ms(1, 3), at(1), ms(2, 2))


def test_a_reader_on_a_database_not_yet_migrated_gets_the_upgrade_sentence(
    store: Store, db_path: Path
) -> None:
    store.close()
    migrate_to(db_path, "0005")
    for read in (lambda: read_status(db_path, at(4)), lambda: read_outages(db_path, None)):
        with pytest.raises(DatabaseError, match=r"older version .* needs a schema upgrade; "
                                                r"start the daemon \(watchdog run\) once"):
            read()
