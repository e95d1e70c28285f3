"""Every way the database can be wrong ends in one DatabaseError sentence naming path and fix."""

from __future__ import annotations

import grp
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from store_helpers import T0, run_unprivileged

from watchdog.errors import EX_NOINPUT, DatabaseError
from watchdog.store import reader
from watchdog.store.revision import HEAD_REVISION
from watchdog.store.writer import Store


def _one_sentence(error: DatabaseError, path: Path) -> str:
    message = str(error)
    assert str(path) in message
    assert "\n" not in message and message.endswith(".")
    assert error.exit_code == EX_NOINPUT
    return message


def test_the_writer_names_a_location_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    path = blocker / "var" / "watchdog.db"
    with pytest.raises(DatabaseError) as caught:
        Store.open(path)
    assert "storage.database" in _one_sentence(caught.value, path)


def test_the_writer_names_a_directory_it_may_not_write(shared_dir: Path) -> None:
    locked = shared_dir / "locked"
    locked.mkdir(mode=0o555)
    child = run_unprivileged(f"""
        try:
            Store.open(Path({str(locked / "watchdog.db")!r}))
        except DatabaseError as error:
            print(error)
    """, preload="from watchdog.store.writer import Store")
    assert "Cannot write the database" in child.stdout, child.stderr
    assert "writable by the user the watchdog runs as" in child.stdout


def test_the_writer_refuses_a_file_that_is_not_a_database(db_path: Path) -> None:
    db_path.parent.mkdir()
    db_path.write_text("these are my notes, not a database\n" * 10)
    with pytest.raises(DatabaseError) as caught:
        Store.open(db_path)
    assert "is not a SQLite database" in _one_sentence(caught.value, db_path)
    assert "notes" in db_path.read_text()


def test_the_writer_refuses_another_programs_database(db_path: Path) -> None:
    db_path.parent.mkdir()
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(DatabaseError) as caught:
        Store.open(db_path)
    assert "another program" in _one_sentence(caught.value, db_path)


def test_the_reader_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "watchdog.db"
    with pytest.raises(DatabaseError) as caught:
        reader.read_status(path, T0)
    assert "does not exist" in _one_sentence(caught.value, path)


def test_the_reader_names_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "watchdog.db"
    path.write_bytes(b"\x00\x01garbage" * 100)
    for read in (lambda: reader.read_status(path, T0), lambda: reader.read_outages(path, None),
                 lambda: reader.read_blips(path, None)):
        with pytest.raises(DatabaseError) as caught:
            read()
        assert "is not a SQLite database" in _one_sentence(caught.value, path)


@pytest.mark.parametrize("content", ["empty", "other tables"])
def test_the_reader_names_a_database_without_the_watchdogs_tables(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "watchdog.db"
    path.touch()
    if content == "other tables":
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(DatabaseError) as caught:
        reader.read_status(path, T0)
    assert "tables are missing" in _one_sentence(caught.value, path)


@pytest.mark.parametrize("revision", ["0010", "9999"])
def test_the_reader_refuses_a_database_a_newer_watchdog_wrote(
    store: Store, db_path: Path, revision: str
) -> None:
    # Its tables may mean something this code does not know: one sentence, no figures.
    with closing(sqlite3.connect(db_path)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    with pytest.raises(DatabaseError) as caught:
        reader.read_status(db_path, T0)
    sentence = _one_sentence(caught.value, db_path)
    assert f"newer version of the watchdog (schema {revision}, this one reads up to" in sentence
    assert "upgrade the watchdog" in sentence


def test_the_reader_reads_the_schema_it_knows(store: Store, db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (
            HEAD_REVISION,)
    reader.read_status(db_path, T0)


def test_the_reader_says_which_group_to_join_when_permission_is_denied(
    db_path: Path, shared_dir: Path
) -> None:
    Store.open(db_path).close()
    path = shared_dir / "watchdog.db"
    path.write_bytes(db_path.read_bytes())
    group = next(entry for entry in grp.getgrall() if entry.gr_gid not in (0, 65534))
    if os.geteuid() == 0:
        os.chown(path, 0, group.gr_gid)
    path.chmod(0o640)
    child = run_unprivileged(f"""
        try:
            reader.read_status(Path({str(path)!r}), datetime.now(UTC))
        except DatabaseError as error:
            print(error)
    """)
    if os.geteuid() != 0:
        group = grp.getgrgid(path.stat().st_gid)
    assert f"Cannot read {path} (permission denied)" in child.stdout, child.stderr
    assert f"add your user to the group '{group.gr_name}'" in child.stdout
