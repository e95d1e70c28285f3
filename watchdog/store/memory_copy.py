"""The database held in memory while its file system takes no writes (full or read-only).

A daemon whose disk fills up, or that starts on a file system mounted read-only, must go on
watching, alerting and recording. When a write fails for that reason (``StorageFault``), the
store copies the database, still readable, into an in-memory SQLite database and goes on
there: cycles, outages, incidents, the outbox and its proof of delivery work as before, so
the alerts leave during the fault and the history stays exact to the probe. As soon as the
file's directory is writable again with room for the copy, the copy is written back over the
file in one transaction (SQLite's online backup: the file is either the old database or the
new one, never a mix) and the store writes to the file again.

The limits, said in the log when they bite: a database larger than ``MEMORY_COPY_LIMIT`` is
not copied (the daemon then logs the fault and retries, as before); what another process
wrote to the file during the fault (a ``ticket ack`` that found room) is replaced by the
copy; a copy the daemon could not write back before it stops is lost with it. The readers
(``watchdog status``, the status page) read the file, so they show the database as it was
when the fault began until the copy is written back.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from watchdog.errors import DatabaseError
from watchdog.store.db import BUSY_TIMEOUT_S, on_begin, on_connect
from watchdog.store.files import on_read_only_file_system
from watchdog.store.revision import HEAD_REVISION, VERSION_TABLE

# A database larger than this stays on its file (the fault is then only logged): at the
# defaults a year of history takes about 81 MB.
MEMORY_COPY_LIMIT = 256 * 2**20
# Room kept free beyond what writing the copy back takes (its pages twice at most: the
# journal's and the file's growth).
SPARE_BYTES = 2**20
# How often the way back is looked at (a statvfs) while the copy is held, and how long to
# wait after a write-back that failed.
LOOK_EVERY_S = 1.0
RETRY_AFTER_FAILURE_S = 30.0


@dataclass
class MemoryCopy:
    """The in-memory database the store writes to during a fault, and when to look back."""

    connection: sqlite3.Connection
    since: datetime
    fault: str
    """The error that made the store move here (one sentence)."""
    next_look: float = 0.0
    """``time.monotonic()`` of the next look at the file system."""
    failures: int = 0
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = memory_engine(self.connection)

    @property
    def size(self) -> int:
        """The copy's size in bytes (pages × page size)."""
        pages = self.connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = self.connection.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)

    def due(self) -> bool:
        """Whether it is time to look at the file system again (at most every second)."""
        return time.monotonic() >= self.next_look

    def looked(self, *, failed: bool = False) -> None:
        """Note a look (``failed``: a write-back that failed; the next one waits longer)."""
        if failed:
            self.failures += 1
        wait = RETRY_AFTER_FAILURE_S if failed else LOOK_EVERY_S
        self.next_look = time.monotonic() + wait


def copy_into_memory(path: Path, fault: str, now: datetime) -> MemoryCopy:
    """Copy the database at ``path`` (read-only) into memory.

    Raises ``DatabaseError`` when the file cannot be read, is not at this code's schema, or
    is larger than ``MEMORY_COPY_LIMIT``.
    """
    from watchdog.store.reader import connect

    try:
        size = path.stat().st_size
    except OSError as error:
        raise DatabaseError(f"Cannot read {path} ({error.strerror}); check the disk and the "
                            "path.") from None
    if size > MEMORY_COPY_LIMIT:
        raise DatabaseError(
            f"{path} ({size / 1e6:.0f} MB) is too large to be held in memory while its file "
            "system takes no writes; free space on it, or lower storage retention.")
    memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    try:
        with connect(path) as source:
            source.backup(memory)
        rows = memory.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    except (sqlite3.Error, DatabaseError):
        memory.close()
        raise
    if [row[0] for row in rows] != [HEAD_REVISION]:
        memory.close()
        raise DatabaseError(
            f"{path} needs a schema upgrade that cannot be written while its file system takes "
            "no writes; free space on it or make it writable, then start the daemon again.")
    return MemoryCopy(memory, now, fault)


def memory_engine(connection: sqlite3.Connection) -> Engine:
    """An engine on the one in-memory ``connection``, with the store's BEGIN IMMEDIATE."""
    engine = create_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def why_not_back(path: Path, copy: MemoryCopy) -> str | None:
    """Why the copy cannot be written back to ``path`` now (None: it can be tried): the file
    system still read-only, its directory not writable, or too little room."""
    directory = path.parent
    if on_read_only_file_system(directory):
        return "its file system is still read-only"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "its directory is not writable"
    try:
        stats = os.statvfs(directory)
        current = path.stat().st_size if path.exists() else 0
    except OSError as error:
        return error.strerror or str(error)
    size = copy.size
    # The journal (or WAL) takes the copy's pages once, the file grows by what it lacks.
    needed = size + max(0, size - current) + SPARE_BYTES
    free = stats.f_bavail * stats.f_frsize
    if free < needed:
        return f"{free / 1e6:.1f} MB free of the {needed / 1e6:.1f} MB writing it back takes"
    return None


def write_back(copy: MemoryCopy, path: Path) -> None:
    """Write the copy over the file at ``path`` in one transaction and empty its WAL.

    Raises ``sqlite3.Error`` (the file is then left as it was) or ``OSError``.
    """
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as target:
        copy.connection.backup(target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def close(copy: MemoryCopy) -> None:
    """Release the copy's memory."""
    copy.engine.dispose()
    copy.connection.close()


def describe(copy: MemoryCopy) -> dict[str, Any]:
    """The copy's fields for a log line."""
    return {"held_since": copy.since.isoformat(), "size_mb": round(copy.size / 1e6, 2)}
