"""Maintenance (planned works) in the store: the timeline's rules around a window, the windows
declared from the command line, how the daemon learns of them, and the migration that brought
them."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from store_helpers import INTERVAL, T0, at, cycle, intervals, outages, rows, text, transition

import watchdog.store.db as db_module
from watchdog.link.states import Blip
from watchdog.store import maintenance_actions, migrate
from watchdog.store.maintenance_actions import WindowRefused
from watchdog.store.maintenance_reader import declared_windows, read_windows
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK


def record(store: Store, seconds: float, state: str, kind: str | None = None) -> None:
    """A cycle at ``seconds`` whose transition enters ``state`` at that time."""
    store.record_cycle(cycle(at(seconds), ok=state == "up"),
                       [transition(state, at(seconds), kind)],  # type: ignore[arg-type]
                       [], at(seconds + 0.5), link=DEFAULT_LINK)


# --- the timeline around a window ------------------------------------------------------------

def test_an_outage_open_when_the_works_start_goes_on_when_the_line_is_still_down_after(
    store: Store, db_path: Path
) -> None:
    record(store, 2, "up")
    record(store, 10, "down", "isp")
    record(store, 100, "maintenance")
    record(store, 200, "down", "isp")
    assert intervals(db_path)[1:] == [
        ("up", text(at(2)), text(at(10))),
        ("down", text(at(10)), text(at(100))),
        ("maintenance", text(at(100)), text(at(200))),
        ("down", text(at(200)), None),
    ]
    assert outages(db_path) == [("isp", text(at(10)), None, 0.0, None)]  # one, still open


def test_an_outage_repaired_during_the_works_ends_at_their_start(
    store: Store, db_path: Path
) -> None:
    record(store, 2, "up")
    record(store, 10, "down", "isp")
    record(store, 100, "maintenance")
    record(store, 200, "up")
    assert outages(db_path) == [("isp", text(at(10)), text(at(100)), 0.0, 1)]


def test_a_line_down_at_the_end_of_the_works_has_its_outage_start_there(
    store: Store, db_path: Path
) -> None:
    record(store, 2, "up")
    record(store, 100, "maintenance")
    record(store, 200, "lan_down", "lan")
    assert outages(db_path) == [("lan", text(at(200)), None, 0.0, None)]


def test_an_outage_of_another_kind_after_the_works_is_a_new_outage(
    store: Store, db_path: Path
) -> None:
    record(store, 10, "down", "isp")
    record(store, 100, "maintenance")
    record(store, 200, "lan_down", "lan")
    assert outages(db_path) == [("isp", text(at(10)), text(at(100)), 0.0, 1),
                                ("lan", text(at(200)), None, 0.0, None)]


def test_a_gap_that_ends_in_works_counts_as_unobserved_outage_time(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.resume(T0, INTERVAL, link=DEFAULT_LINK)
        record(store, 0, "down", "isp")
        store.shutdown(at(10))
    with Store.open(db_path) as store:
        store.resume(at(60), INTERVAL, link=DEFAULT_LINK)  # unknown from 10 s
        record(store, 61, "maintenance")
        record(store, 300, "down", "isp")
    assert outages(db_path) == [("isp", text(T0), None, 51.0, None)]


# --- windows declared from the command line --------------------------------------------------

def add(store: Store, start: float, end: float, reason: str = "fibre works",
        link: str | None = None, now: float = 0) -> int:
    with store.write() as session:
        window = maintenance_actions.add_window(
            session, starts_at=at(start), ends_at=at(end), reason=reason, link=link,
            now=at(now), by="alice")
        assert window.id is not None
        return window.id


def test_a_window_is_stored_with_who_declared_it_and_read_back(
    store: Store, db_path: Path
) -> None:
    first = add(store, 100, 200)
    add(store, 300, 400, "router swap", link=DEFAULT_LINK)
    (stored, _) = read_windows(db_path)
    assert (stored.id, stored.starts_at, stored.ends_at, stored.reason, stored.created_by,
            stored.removed_at) == (first, at(100), at(200), "fibre works", "alice", None)
    assert [(w.key, w.source, w.link, w.starts_at) for w in declared_windows(
        db_path, ending_after=at(0))] == [("1", "cli", None, at(100)),
                                          ("2", "cli", DEFAULT_LINK, at(300))]
    assert [w.key for w in declared_windows(db_path, ending_after=at(250))] == ["2"]


def test_a_removed_window_stays_on_the_record_and_holds_until_its_removal(
    store: Store, db_path: Path
) -> None:
    begun, future = add(store, 100, 200), add(store, 300, 400)
    with store.write() as session:
        maintenance_actions.remove_window(session, begun, at(150))
        maintenance_actions.remove_window(session, future, at(150))
    assert [stored.removed_at for stored in read_windows(db_path)] == [at(150), at(150)]
    (cut,) = declared_windows(db_path, ending_after=at(0))
    assert (cut.starts_at, cut.ends_at) == (at(100), at(150))


@pytest.mark.parametrize(("start", "end", "now", "reason", "message"), [
    (200, 100, 0, "x", "end is not after its start"),
    (100, 200, 300, "x", "already over"),
    (100, 200, 0, "  ", "reason is empty"),
])
def test_a_window_that_cannot_be_declared_is_one_sentence(
    store: Store, start: float, end: float, now: float, reason: str, message: str
) -> None:
    with pytest.raises(WindowRefused, match=message):
        add(store, start, end, reason, now=now)


@pytest.mark.parametrize(("now", "message"), [
    (300, "is over; past windows stay on the record"),
    (150, "was already removed"),
])
def test_a_window_that_cannot_be_removed_is_one_sentence(
    store: Store, now: float, message: str
) -> None:
    window = add(store, 100, 200)
    if message.startswith("was already"):
        with store.write() as session:
            maintenance_actions.remove_window(session, window, at(now))
    with pytest.raises(WindowRefused, match=message), store.write() as session:
        maintenance_actions.remove_window(session, window, at(now))
    with pytest.raises(WindowRefused, match="no maintenance window 9"), \
            store.write() as session:
        maintenance_actions.remove_window(session, 9, at(now))


def test_the_daemons_store_notices_another_process_writing_but_not_itself(
    store: Store, db_path: Path
) -> None:
    record(store, 2, "up")
    seen = store.outside_writes
    record(store, 4, "up")
    with store.write():
        pass
    assert store.outside_writes == seen  # its own transactions are not news
    with Store.open(db_path, migrate=False) as command_line:
        add(command_line, 100, 200)
    record(store, 6, "up")
    assert store.outside_writes == seen + 1
    record(store, 8, "up")
    assert store.outside_writes == seen + 1


# --- the migration ---------------------------------------------------------------------------

def _migrate(db_path: Path, revision: str, *, down: bool) -> None:
    engine = db_module.create_store_engine(db_path)
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def test_the_migration_keeps_every_row_and_the_one_open_index_and_accepts_maintenance(
    store: Store, db_path: Path
) -> None:
    record(store, 2, "up")
    record(store, 10, "down", "isp")
    store.record_cycle(cycle(at(20)), [transition("up", at(20))], [], at(21),
                       link=DEFAULT_LINK)
    store.record_cycle(cycle(at(30)), [], [Blip("down", at(24), at(26), 2, "short")], at(31),
                       link=DEFAULT_LINK)
    store.close()
    tables = ("state_interval", "blip", "outage", "link", "target")
    before = {table: rows(db_path, f"SELECT * FROM {table} ORDER BY 1") for table in tables}
    _migrate(db_path, "0004", down=True)
    assert "maintenance_window" not in {name for (name,) in rows(
        db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}

    upgraded = Store.open(db_path)  # back to the head, after a backup
    upgraded.close()
    assert upgraded.backup is not None and upgraded.backup.name.startswith("watchdog.db.bak-0004-")
    assert {table: rows(db_path, f"SELECT * FROM {table} ORDER BY 1") for table in tables} == (
        before)
    with closing(sqlite3.connect(db_path)) as connection:
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            connection.execute("INSERT INTO state_interval (link_id, state, cause, started_at) "
                               "VALUES (1, 'up', 'x', '2025-03-01 12:01:00')")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute("UPDATE state_interval SET state = 'satellite_lost' "
                               "WHERE ended_at IS NULL")
    again = Store.open(db_path)
    again.resume(at(40), INTERVAL, link=DEFAULT_LINK)
    record(again, 41, "maintenance")
    again.close()
    assert intervals(db_path)[-1] == ("maintenance", text(at(41)), None)


def test_downgrading_turns_maintenance_time_into_unknown_and_drops_the_windows(
    store: Store, db_path: Path
) -> None:
    record(store, 2, "up")
    record(store, 100, "maintenance")
    record(store, 200, "up")
    add(store, 300, 400)
    store.close()
    _migrate(db_path, "0004", down=True)
    assert [state for state, _, _ in intervals(db_path)] == ["unknown", "up", "unknown", "up"]
    assert "maintenance_window" not in {name for (name,) in rows(
        db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
