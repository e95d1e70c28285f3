"""The writer's engine: SQLite in WAL mode, every transaction taking the write lock up front.

The SQLAlchemy pysqlite recipe: the driver's own transaction handling is turned off
(``isolation_level = None``) and every ``begin`` emits ``BEGIN IMMEDIATE``. A deferred transaction
that upgrades from read to write fails at once with "database is locked" despite
``busy_timeout``; an immediate one waits for the lock instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from watchdog.errors import DatabaseError
from watchdog.store.files import (
    full,
    not_a_database,
    on_read_only_file_system,
    read_only,
    unwritable,
)

BUSY_TIMEOUT_S = 10.0


CACHE_KIB = 1024


def create_store_engine(path: Path) -> Engine:
    """An engine on ``path`` with WAL, ``busy_timeout``, ``synchronous=NORMAL`` and BEGIN IMMEDIATE.

    Nothing is opened yet: errors appear on first use (see ``database_error``).
    """
    engine = create_engine(
        URL.create("sqlite", database=str(path)),
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        # The store serialises its writes: one connection (and one page cache) is enough.
        pool_size=1,
        max_overflow=1,
    )
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event (below) start transactions, not the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Every query reads a few index pages: 1 MiB of page cache, not SQLite's 2 MiB each.
        cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    finally:
        cursor.close()


def on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One ``BEGIN IMMEDIATE`` transaction: committed on normal exit, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def leave_readable_without_wal(path: Path) -> bool:
    """Switch the file to rollback-journal mode so read-only users can open it when we are gone.

    A reader without write access to the directory cannot open a WAL database once a clean
    shutdown has removed ``-wal``/``-shm`` (it would have to create ``-shm``). The next
    ``Store.open`` switches back to WAL. Call it with the engine disposed (no other connection
    of ours open). Returns False when another process's connection prevented it (the reader
    then falls back to ``immutable=1``).
    """
    try:
        with closing(sqlite3.connect(path, timeout=1.0, isolation_level=None)) as connection:
            mode = connection.execute("PRAGMA journal_mode = DELETE").fetchone()
    except sqlite3.Error:
        return False
    return mode is not None and str(mode[0]).lower() == "delete"


def database_error(path: Path, error: BaseException) -> DatabaseError:
    """A one-sentence ``DatabaseError`` for a failure of SQLite on ``path``."""
    original = error.orig if isinstance(error, DBAPIError) else error
    reason = str(original)
    lowered = reason.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return not_a_database(path)
    if "readonly" in lowered or "unable to open" in lowered or "permission" in lowered:
        if on_read_only_file_system(path.parent):
            return read_only(path)
        return unwritable(path, reason)
    if "locked" in lowered or "busy" in lowered:
        return DatabaseError(
            f"The database {path} stayed locked by another process for {BUSY_TIMEOUT_S:g} s; "
            "stop the other watchdog daemon using it, or give this one its own storage.database."
        )
    if "full" in lowered or "disk i/o" in lowered:
        return full(path, reason)
    return DatabaseError(f"The database {path} failed ({reason}); check the file and the disk.")
