"""Several links in one database: each its own timeline, heartbeat, outages and targets; and
the migration that gives an existing database its one link."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from store_helpers import INTERVAL, T0, at, cycle, migrate_to, rows, text, transition

from watchdog.errors import DatabaseError
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.store import migrate, reader
from watchdog.store.report_reader import read_period
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

BACKUP = "4g"


def intervals_of(db_path: Path, link: str) -> list[tuple[str, str, str | None]]:
    return rows(db_path, "SELECT i.state, i.started_at, i.ended_at FROM state_interval i "
                         "JOIN link l ON l.id = i.link_id WHERE l.name = ? "
                         "ORDER BY i.started_at", (link,))


@pytest.fixture
def two_links(store: Store) -> Store:
    """The store of the ``store`` fixture with a second link resumed at T0 too."""
    store.resume(T0, INTERVAL, link=BACKUP)
    return store


def test_each_link_has_its_own_timeline_and_open_interval(
    two_links: Store, db_path: Path
) -> None:
    two_links.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3),
                           link=DEFAULT_LINK)
    two_links.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "isp")], [],
                           at(3), link=BACKUP)
    two_links.record_cycle(cycle(at(8)), [transition("degraded", at(8))], [], at(9),
                           link=DEFAULT_LINK)
    assert intervals_of(db_path, DEFAULT_LINK) == [
        ("unknown", text(T0), text(at(2))),
        ("up", text(at(2)), text(at(8))),
        ("degraded", text(at(8)), None),
    ]
    assert intervals_of(db_path, BACKUP) == [
        ("unknown", text(T0), text(at(2))),
        ("down", text(at(2)), None),
    ]
    assert rows(db_path, "SELECT l.name, o.kind, o.started_at, o.ended_at FROM outage o "
                         "JOIN link l ON l.id = o.link_id") == [(BACKUP, "isp", text(at(2)), None)]


def test_each_links_targets_and_heartbeat_are_its_own(two_links: Store, db_path: Path) -> None:
    two_links.record_cycle(cycle(at(2)), [], [], at(3), link=DEFAULT_LINK)
    two_links.record_cycle(cycle(at(4), ok=False), [], [], at(5), link=BACKUP)
    targets = rows(db_path, "SELECT l.name, t.name, t.last_ok FROM target t "
                            "JOIN link l ON l.id = t.link_id ORDER BY l.id, t.id")
    assert [(link, ok) for link, name, ok in targets if name == "quad9"] == [
        (DEFAULT_LINK, 1), (BACKUP, 0)]
    assert rows(db_path, "SELECT name, last_cycle_at FROM link ORDER BY id") == [
        (DEFAULT_LINK, text(at(3))), (BACKUP, text(at(5)))]


def test_shutdown_closes_every_resumed_links_interval(two_links: Store, db_path: Path) -> None:
    two_links.shutdown(at(10))
    assert rows(db_path, "SELECT count(*) FROM state_interval WHERE ended_at IS NULL") == [(0,)]
    assert rows(db_path, "SELECT name, clean_shutdown FROM link ORDER BY id") == [
        (DEFAULT_LINK, 1), (BACKUP, 1)]


def test_a_link_not_resumed_cannot_be_recorded(store: Store) -> None:
    with pytest.raises(RuntimeError, match=r"resume\(link='4g'\)"):
        store.record_cycle(cycle(at(2)), [], [], at(3), link=BACKUP)


def test_the_database_allows_one_open_interval_and_outage_per_link_not_more(
    two_links: Store, db_path: Path
) -> None:
    with closing(sqlite3.connect(db_path)) as connection, pytest.raises(
        sqlite3.IntegrityError, match="UNIQUE"
    ):
        connection.execute("INSERT INTO state_interval (link_id, state, cause, started_at) "
                           "VALUES (1, 'up', 'a second open interval', '2025-03-01 12:00:05')")


def test_readers_show_one_link_at_a_time(two_links: Store, db_path: Path) -> None:
    two_links.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3),
                           link=DEFAULT_LINK)
    two_links.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "isp")], [],
                           at(3), link=BACKUP)
    main = reader.read_status(db_path, at(4))
    backup = reader.read_status(db_path, at(4), link=BACKUP)
    assert (main.link, main.state, main.open_outage) == (DEFAULT_LINK, "up", None)
    assert (backup.link, backup.state) == (BACKUP, "down")
    assert backup.open_outage is not None and backup.open_outage.kind == "isp"
    never = reader.read_status(db_path, at(4), link="satellite")
    assert (never.state, never.heartbeat, never.targets) == ("unknown", None, ())
    assert [(o.link, o.kind) for o in reader.read_outages(db_path, None)] == [(BACKUP, "isp")]
    report = read_period(db_path, T0, at(4), at(4), link=BACKUP)
    assert [outage.kind for outage in report.outages] == ["isp"]
    # Down from 2 s to the link's last heartbeat (3 s): after it, nobody watched.
    assert (report.seconds["down"], report.seconds["unwatched"]) == (1.0, 1.0)
    assert read_period(db_path, T0, at(4), at(4)).outages == ()


def test_the_migration_gives_an_existing_history_its_one_link_and_keeps_every_row(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(4), ok=False), [transition("down", at(4), "isp")], [], at(5),
                       link=DEFAULT_LINK)
    store.close()
    tables = ("state_interval", "outage", "blip", "target", "sample", "incident")
    before = {table: rows(db_path, f"SELECT * FROM {table} ORDER BY 1") for table in tables}
    migrate_to(db_path, "0002")
    assert "daemon" in {name for (name,) in rows(
        db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert rows(db_path, "SELECT last_cycle_at FROM daemon") == [(text(at(5)),)]

    upgraded = Store.open(db_path)  # migrates to the head, after a backup
    upgraded.close()
    assert upgraded.backup is not None and upgraded.backup.name.startswith("watchdog.db.bak-0002-")
    assert rows(db_path, "SELECT id, name, last_cycle_at, clean_shutdown FROM link") == [
        (1, DEFAULT_LINK, text(at(5)), 0)]
    after = {table: rows(db_path, f"SELECT * FROM {table} ORDER BY 1") for table in tables}
    assert after == before
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)]
    # The per-link "one open" indexes are back, and the link column has no default.
    with closing(sqlite3.connect(db_path)) as connection:
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            connection.execute("INSERT INTO outage (link_id, kind, started_at, cause, evidence, "
                               "unobserved_seconds) VALUES (1, 'lan', '2025-03-01 12:00:06', "
                               "'x', '{}', 0)")
        with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
            connection.execute("INSERT INTO blip (state, started_at, ended_at, cycles, cause) "
                               "VALUES ('down', '2025-03-01 12:00:06', '2025-03-01 12:00:07', "
                               "1, 'x')")
    # The daemon goes on where it was: a quick restart continues the open outage.
    again = Store.open(db_path)
    info = again.resume(at(6), INTERVAL, link=DEFAULT_LINK)
    again.close()
    assert (info.link_id, info.state, info.outage_kind, info.continues) == (
        1, "down", "isp", True)


def test_an_outdated_reader_gets_the_upgrade_sentence_not_a_crash(
    store: Store, db_path: Path
) -> None:
    store.close()
    migrate_to(db_path, "0002")
    with pytest.raises(DatabaseError, match=r"older version .* needs a schema upgrade; start "
                                            r"the daemon \(watchdog run\) once"):
        reader.read_status(db_path, at(4))


def test_hourly_quality_comes_from_the_roll_ups_of_the_links_ping_targets(
    two_links: Store, db_path: Path
) -> None:
    from watchdog.config.schema import StorageConfig
    from watchdog.store.report_reader import read_hours

    hour = 3600
    for seconds, rtt, received in ((0, 10.0, 2), (60, 30.0, 1), (hour + 60, 40.0, 2)):
        two_links.record_cycle(cycle(at(seconds), rtt_ms=rtt, received=received), [], [],
                               at(seconds), link=DEFAULT_LINK)
    two_links.record_cycle(cycle(at(120), ok=False), [], [], at(120), link=BACKUP)
    two_links.maintain(at(3 * hour), StorageConfig())
    first, second = read_hours(db_path, T0, at(3 * hour))
    # 3 ping targets × 2 echo requests a cycle; the gateway is not a ping target.
    assert (first.hour_start, first.sent, first.lost) == (T0, 12, 3)
    assert first.mean_rtt_ms == pytest.approx(20.0)
    assert (second.hour_start, second.sent, second.lost, second.mean_rtt_ms) == (
        at(hour), 6, 0, pytest.approx(40.0))
    (backup,) = read_hours(db_path, T0, at(3 * hour), link=BACKUP)
    assert (backup.sent, backup.lost, backup.mean_rtt_ms) == (6, 6, None)


# --- the primary uplink continues the history of the implicit link -------------------------

FIBRE = "fibre"


def _history_under_default(db_path: Path) -> None:
    """A database written before uplinks: an outage and its end under ``default``."""
    with Store.open(db_path) as old:
        old.resume(T0, INTERVAL, link=DEFAULT_LINK)
        old.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
        old.record_cycle(cycle(at(4), ok=False), [transition("down", at(4), "isp")], [], at(5),
                         link=DEFAULT_LINK)
        old.record_cycle(cycle(at(8)), [transition("up", at(8))], [], at(9), link=DEFAULT_LINK)
        old.shutdown(at(10))


def test_a_primary_uplink_takes_over_the_history_of_the_implicit_link(db_path: Path) -> None:
    _history_under_default(db_path)
    before = intervals_of(db_path, DEFAULT_LINK)
    with Store.open(db_path) as store:
        info = store.resume(at(20), INTERVAL, link=FIBRE, primary_of=[FIBRE, BACKUP])
        backup = store.resume(at(20), INTERVAL, link=BACKUP)
        store.shutdown(at(21))
    assert (info.link_id, info.took_over) == (1, DEFAULT_LINK)
    assert backup.took_over is None and backup.link_id == 2
    assert rows(db_path, "SELECT id, name FROM link ORDER BY id") == [(1, FIBRE), (2, BACKUP)]
    # Its intervals and outage are the fibre's now: the gap since the shutdown is unknown.
    assert intervals_of(db_path, FIBRE)[:len(before)] == before
    assert intervals_of(db_path, FIBRE)[-1][0] == "unknown"
    assert [(o.link, o.kind) for o in reader.read_outages(db_path, None)] == [(FIBRE, "isp")]
    assert intervals_of(db_path, DEFAULT_LINK) == []


def test_a_known_primary_keeps_its_history_and_another_uplink_never_takes_over(
    db_path: Path
) -> None:
    _history_under_default(db_path)
    with Store.open(db_path) as store:
        # Not the primary: a new history of its own.
        assert store.resume(at(20), INTERVAL, link=BACKUP).took_over is None
        # The first history is a link of the config: it stays that link's.
        kept = store.resume(at(20), INTERVAL, link=FIBRE, primary_of=[FIBRE, DEFAULT_LINK])
        store.shutdown(at(21))
    assert kept.took_over is None and kept.link_id == 3
    assert rows(db_path, "SELECT name FROM link ORDER BY id") == [
        (DEFAULT_LINK,), (BACKUP,), (FIBRE,)]


def test_a_config_back_without_uplinks_gives_the_history_back_to_the_implicit_link(
    db_path: Path
) -> None:
    _history_under_default(db_path)
    with Store.open(db_path) as store:
        store.resume(at(20), INTERVAL, link=FIBRE, primary_of=[FIBRE, BACKUP])
        store.resume(at(20), INTERVAL, link=BACKUP)
        store.shutdown(at(21))
    with Store.open(db_path) as store:
        info = store.resume(at(30), INTERVAL, link=DEFAULT_LINK, primary_of=[DEFAULT_LINK])
        store.shutdown(at(31))
    assert (info.link_id, info.took_over) == (1, FIBRE)
    assert rows(db_path, "SELECT id, name FROM link ORDER BY id") == [
        (1, DEFAULT_LINK), (2, BACKUP)]
    status = reader.read_status(db_path, at(31))
    assert status.link == DEFAULT_LINK and status.windows[0].unavailable_seconds == 4


def test_the_uplinks_migration_keeps_the_history_and_allows_path_checks(db_path: Path) -> None:
    """A database from before uplinks (0008) upgraded in place: every row kept, the
    causes' words not recorded for old intervals, path checks' results storable, and its
    history the primary uplink's at the next start."""
    _history_under_default(db_path)
    before = intervals_of(db_path, DEFAULT_LINK)
    migrate_to(db_path, "0008")
    old = {table: rows(db_path, f"SELECT * FROM {table} ORDER BY 1")
           for table in ("state_interval", "outage", "target", "link")}
    with Store.open(db_path) as store:  # migrates, after a backup
        assert store.backup is not None and store.backup.name.startswith("watchdog.db.bak-0008-")
        assert [row[:-1] for row in rows(db_path, "SELECT * FROM state_interval ORDER BY 1")
                ] == old["state_interval"]
        assert rows(db_path, "SELECT count(*) FROM state_interval WHERE cause_code IS NOT NULL"
                    ) == [(0,)]
        for table in ("outage", "target", "link"):
            assert rows(db_path, f"SELECT * FROM {table} ORDER BY 1") == old[table], table
        store.resume(at(20), INTERVAL, link=FIBRE, primary_of=[FIBRE])
        path = ProbeResult("path", "echo", "http://203.0.113.80/ip", False, at(22), None, 1, 1,
                           "another path: public address 198.51.100.5")
        with_path = CycleResult(at(22), at(23), frozenset({"ping", "path"}),
                                (*cycle(at(22)).results, path))
        store.record_cycle(with_path, [transition("up", at(22))], [], at(23), link=FIBRE)
        store.shutdown(at(24))
    assert rows(db_path, "SELECT l.name, t.kind, t.last_ok FROM target t JOIN link l "
                         "ON l.id = t.link_id WHERE t.kind = 'path'") == [(FIBRE, "path", 0)]
    assert intervals_of(db_path, FIBRE)[:len(before)] == before
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [(migrate.HEAD_REVISION,)]
