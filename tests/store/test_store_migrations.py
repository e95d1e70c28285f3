"""Opening the database: schema by migration, backups only when needed, SQLite settings."""

from __future__ import annotations

import re
import sqlite3
import warnings
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, MetaData
from sqlmodel import SQLModel
from store_helpers import INTERVAL, T0, at, cycle, rows

import watchdog.store.db as db_module
from watchdog.errors import DatabaseError
from watchdog.store import migrate, models
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

STORE_TABLES = {
    model.__tablename__
    for model in vars(models).values()
    if isinstance(model, type) and issubclass(model, SQLModel) and hasattr(model, "__table__")
}


def _backups(db_path: Path) -> list[Path]:
    return sorted(db_path.parent.glob(db_path.name + ".bak-*"))


def test_a_new_database_is_created_with_its_directory_and_the_whole_schema_without_backup(
    db_path: Path,
) -> None:
    store = Store.open(db_path)
    store.close()
    tables = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master "
                                                "WHERE type = 'table'")}
    assert {"target", "sample", "sample_minute", "sample_hour", "probe_error", "state_interval",
            "outage", "blip", "link", "watermark", "alembic_version"} <= tables
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)
    ]
    assert store.backup is None and _backups(db_path) == []


def test_an_empty_file_is_migrated_without_a_backup(db_path: Path) -> None:
    db_path.parent.mkdir()
    db_path.touch()
    Store.open(db_path).close()
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)
    ]
    assert _backups(db_path) == []


def test_reopening_an_up_to_date_database_makes_no_backup(db_path: Path) -> None:
    Store.open(db_path).close()
    Store.open(db_path).close()
    assert _backups(db_path) == []


def test_an_outdated_database_is_backed_up_before_it_is_upgraded(db_path: Path) -> None:
    Store.open(db_path).close()
    config = migrate.alembic_config()
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute("CREATE TABLE keepsake (note TEXT)")
        connection.execute("INSERT INTO keepsake VALUES ('from before')")
        connection.commit()
    engine = db_module.create_store_engine(db_path)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    engine.dispose()
    store = Store.open(db_path)
    store.close()
    backups = _backups(db_path)
    assert backups == [store.backup]
    assert backups[0].name.startswith("watchdog.db.bak-base-")
    assert rows(backups[0], "SELECT note FROM keepsake") == [("from before",)]
    assert rows(db_path, "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)
    ]


def test_the_migrations_create_exactly_the_models_schema(db_path: Path) -> None:
    Store.open(db_path).close()
    # Only the storage models: other packages' tables come with their own revisions.
    ours = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        if table.name in STORE_TABLES:
            table.to_metadata(ours)
    assert len(ours.tables) == 16
    engine = db_module.create_store_engine(db_path)
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect the two expression indexes; they are checked below.
        warnings.simplefilter("ignore")
        differences = compare_metadata(MigrationContext.configure(connection), ours)
    engine.dispose()
    assert differences == []
    indexes = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master "
                                                 "WHERE type = 'index'")}
    assert {"uq_state_interval_one_open", "uq_outage_one_open"} <= indexes
    without_rowid = rows(db_path, "SELECT name FROM sqlite_master WHERE sql LIKE "
                                  "'%WITHOUT ROWID%' ORDER BY name")
    assert without_rowid == [("sample",), ("sample_hour",), ("sample_minute",)]


def test_the_migrations_check_the_words_of_the_vocabulary(db_path: Path) -> None:
    """Alembic does not compare CHECK constraints, so this does: the lists the migrations wrote
    (``state IN ('up', ...)``) must be the models', which are ``watchdog.vocabulary``'s. A word
    added there without a migration fails here."""
    Store.open(db_path).close()
    migrated = {}
    for table, sql in rows(db_path, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
        for line in sql.splitlines():
            found = re.fullmatch(r"CONSTRAINT (\w+) CHECK \((.+)\),?", line.strip())
            if found:
                migrated[(table, found[1])] = found[2]
    expected = {
        (table.name, constraint.name): str(constraint.sqltext)
        for table in SQLModel.metadata.sorted_tables if table.name in STORE_TABLES
        for constraint in table.constraints if isinstance(constraint, CheckConstraint)
    }
    assert migrated == expected
    assert len([text for text in expected.values() if " IN (" in text]) == 9


def test_open_without_migrate_refuses_an_outdated_database(db_path: Path) -> None:
    db_path.parent.mkdir()
    db_path.touch()
    with pytest.raises(DatabaseError, match=r"needs a schema upgrade.*watchdog run"):
        Store.open(db_path, migrate=False)


def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'fffffff'")
        connection.commit()
    with pytest.raises(DatabaseError, match=r"newer version of the watchdog \(schema fffffff\)"):
        Store.open(db_path)


def test_the_writer_uses_wal_normal_sync_and_a_busy_timeout(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(2)), [], [], at(3), link=DEFAULT_LINK)
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert Path(str(db_path) + "-wal").exists()
    engine = store._engine
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_a_write_waits_for_the_lock_up_front_and_names_the_database_when_it_times_out(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_S", 0.2)
    store = Store.open(db_path)
    store.resume(T0, INTERVAL, link=DEFAULT_LINK)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseError, match=r"locked by another process"):
            store.record_cycle(cycle(at(2)), [], [], at(3), link=DEFAULT_LINK)
        other.execute("ROLLBACK")
    store.record_cycle(cycle(at(4)), [], [], at(5), link=DEFAULT_LINK)
    store.close()


def test_a_clean_shutdown_leaves_the_file_readable_without_wal_files(db_path: Path) -> None:
    store = Store.open(db_path)
    store.resume(T0, INTERVAL, link=DEFAULT_LINK)
    store.shutdown(at(10))
    store.close()
    assert rows(db_path, "PRAGMA journal_mode") == [("delete",)]
    assert not Path(str(db_path) + "-wal").exists()
    again = Store.open(db_path)
    again.resume(at(20), INTERVAL, link=DEFAULT_LINK)
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    again.close()


def test_the_head_revision_constant_matches_the_migrations() -> None:
    from watchdog.store.migrate import HEAD_REVISION, head_revision

    assert head_revision() == HEAD_REVISION


def test_the_daemon_migrates_in_a_child_and_never_imports_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    database = tmp_path / "sub" / "watchdog.db"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from watchdog.store.migrate import migrate_in_child, needs_migration\n"
        "from watchdog.store.writer import Store\n"
        f"path = Path({str(database)!r})\n"
        "assert needs_migration(path)\n"
        "migrate_in_child(path)\n"
        "assert not needs_migration(path)\n"
        "Store.open(path).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_failing_child_migration_is_one_sentence(tmp_path: Path) -> None:
    from watchdog.errors import DatabaseError
    from watchdog.store.migrate import migrate_in_child

    alien = tmp_path / "alien.db"
    import sqlite3

    with sqlite3.connect(alien) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(DatabaseError, match="another program"):
        migrate_in_child(alien)
