"""The CLI's read-only view: status, uptime over observed time, outages, blips."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from store_helpers import INTERVAL, T0, at, cycle, run_unprivileged, transition

from watchdog.errors import DatabaseError
from watchdog.link.states import Blip
from watchdog.store import reader
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

HOUR = 3600


def test_status_reports_the_state_open_outage_targets_and_heartbeat(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(10), ok=False), [transition("down", at(6), "isp", "no answer")],
                       [], at(11), link=DEFAULT_LINK)
    status = reader.read_status(db_path, at(12))
    assert (status.state, status.since, status.cause) == ("down", at(6), "no answer")
    assert status.open_outage is not None
    assert (status.open_outage.kind, status.open_outage.started_at) == ("isp", at(6))
    assert status.heartbeat is not None and status.heartbeat.running
    assert status.heartbeat.last_cycle_at == at(11)
    assert status.heartbeat.ping_interval == INTERVAL
    assert [(t.name, t.last_ok, t.last_error) for t in status.targets] == [
        ("gateway", True, None),
        ("cloudflare", False, "timeout"),
        ("google", False, "timeout"),
        ("quad9", False, "timeout"),
    ]
    assert status.targets[0].last_at == at(10)
    assert status.path == db_path


def test_uptime_is_computed_over_observed_time_with_unknown_reported_apart(
    store: Store, db_path: Path
) -> None:
    # unknown 0..1 h, up 1..19 h, degraded 19..20 h, down 20..22 h, lan_down 22..23 h, up 23..24
    for state, hour, kind in (("up", 1, None), ("degraded", 19, None), ("down", 20, "isp"),
                              ("lan_down", 22, "lan"), ("up", 23, None)):
        store.record_cycle(cycle(at(hour * HOUR)), [transition(state, at(hour * HOUR), kind)],
                           [], at(hour * HOUR + 1), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(24 * HOUR - 1)), [], [], at(24 * HOUR), link=DEFAULT_LINK)
    status = reader.read_status(db_path, at(24 * HOUR))
    day, week, month = status.windows
    assert (day.label, week.label, month.label) == ("24h", "7d", "30d")
    assert day.available_seconds == 20 * HOUR
    assert day.unavailable_seconds == 3 * HOUR
    assert day.unknown_seconds == 1 * HOUR
    assert day.uptime_percent == pytest.approx(100 * 20 / 23)
    assert week.uptime_percent == pytest.approx(100 * 20 / 23)
    # Windows start with the history: time before the first record is not "unknown".
    assert week.unknown_seconds == 1 * HOUR


def test_status_after_a_crash_says_unknown_and_counts_the_silence_as_unknown(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(HOUR), link=DEFAULT_LINK)
    status = reader.read_status(db_path, at(3 * HOUR))
    assert status.state == "unknown" and status.since == at(HOUR)
    assert status.heartbeat is not None and not status.heartbeat.running
    assert status.windows[0].available_seconds == HOUR
    assert status.windows[0].uptime_percent == 100.0


def test_status_on_a_database_the_daemon_never_ran_on(db_path: Path) -> None:
    Store.open(db_path).close()
    status = reader.read_status(db_path, T0)
    assert (status.state, status.since, status.heartbeat) == ("unknown", None, None)
    assert status.windows[0].uptime_percent is None


def test_outages_are_listed_with_durations_and_since_filters_by_overlap(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(10)), [transition("down", at(10), "isp")], [], at(11),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(70)), [transition("up", at(70))], [], at(71), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(500)), [transition("lan_down", at(500))], [], at(501),
        link=DEFAULT_LINK)
    every = reader.read_outages(db_path, None)
    assert [(o.kind, o.started_at, o.ended_at, o.duration_s, o.end_observed) for o in every] == [
        ("isp", at(10), at(70), 60.0, True),
        ("lan", at(500), None, None, None),
    ]
    assert every[0].evidence == {"test": True} and every[0].unobserved_seconds == 0.0
    later = reader.read_outages(db_path, at(100), now=at(560))
    assert [(o.id, o.duration_s) for o in later] == [(every[1].id, 60.0)]


def test_blips_are_listed_since_a_time(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(8)), [], [Blip("down", at(4), at(8), 2, "one")], at(9),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(90)), [], [Blip("lan_down", at(86), at(88), 1, "two")], at(91),
        link=DEFAULT_LINK)
    assert [(b.cause, b.duration_s, b.cycles) for b in reader.read_blips(db_path, None)] == [
        ("one", 4.0, 2), ("two", 2.0, 1)
    ]
    assert [b.cause for b in reader.read_blips(db_path, at(50))] == ["two"]


def test_the_reader_reads_a_live_wal_database_while_the_writer_holds_the_lock(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE link SET pid = 1")
        status = reader.read_status(db_path, at(4))
        writer.execute("ROLLBACK")
    assert status.state == "up"
    assert status.heartbeat is not None and status.heartbeat.pid != 1


def _read_only_copy(source: Path, shared_dir: Path) -> Path:
    copy = shared_dir / "copy"
    copy.mkdir()
    for path in source.parent.iterdir():
        if path.name.startswith(source.name):
            shutil.copy2(path, copy / path.name)
            (copy / path.name).chmod(0o644)
    copy.chmod(0o555)
    return copy / source.name


def test_the_reader_works_on_a_read_only_directory_after_a_clean_shutdown(
    db_path: Path, shared_dir: Path
) -> None:
    store = Store.open(db_path)
    store.resume(T0, INTERVAL, link=DEFAULT_LINK)
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.shutdown(at(4))
    store.close()
    copy = _read_only_copy(db_path, shared_dir)
    assert not Path(str(copy) + "-wal").exists()
    child = run_unprivileged(f"""
        status = reader.read_status(Path({str(copy)!r}), datetime(2025, 3, 1, 13, tzinfo=UTC))
        print(status.state, status.windows[0].available_seconds)
    """)
    assert child.stdout.split() == ["unknown", "2.0"], child.stderr
    assert sorted(path.name for path in copy.parent.iterdir()) == ["watchdog.db"]


def test_the_reader_falls_back_to_immutable_for_a_wal_file_in_a_read_only_directory(
    store: Store, db_path: Path, shared_dir: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.shutdown(at(4))
    store._stopped_cleanly = False  # as if switching out of WAL had failed: stays WAL
    store.close()
    copy = _read_only_copy(db_path, shared_dir)
    assert copy.read_bytes()[18:20] == b"\x02\x02"  # the header says WAL
    assert not Path(str(copy) + "-shm").exists()
    child = run_unprivileged(f"""
        import sqlite3
        try:
            sqlite3.connect("file:{copy}?mode=ro", uri=True).execute("SELECT 1 FROM link")
            print("plain-open-worked")
        except sqlite3.OperationalError:
            print("plain-open-failed")
        outages = reader.read_outages(Path({str(copy)!r}), None)
        status = reader.read_status(Path({str(copy)!r}), datetime(2025, 3, 1, 13, tzinfo=UTC))
        print(status.state, len(outages))
    """)
    assert child.stdout.split() == ["plain-open-failed", "unknown", "0"], child.stderr


def test_the_reader_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(DatabaseError):
        reader.read_status(missing, T0)
    assert not missing.exists()


def test_the_reader_imports_no_sqlmodel_sqlalchemy_or_alembic() -> None:
    code = ("import sys, watchdog.store.reader; "
            "print(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'sqlmodel', 'sqlalchemy', 'alembic', 'pydantic'}))")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert child.stdout.strip() == "[]"


def test_every_status_query_is_an_index_search_not_a_scan_of_history(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    with closing(sqlite3.connect(db_path)) as connection:
        for name, query in reader.STATUS_QUERIES.items():
            parameters = ("2025-01-01",) * query.count("?")
            plan = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}",
                                                         parameters)]
            scans = [step for step in plan if step.startswith("SCAN")]
            # The target list is read whole: it grows with the config, not the history.
            assert scans == [] or name == "targets", (name, plan)
