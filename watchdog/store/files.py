"""The database file on disk: checks before opening, and the one-sentence errors they raise.

Standard library only: the reader imports this, and the CLI must start fast.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TextIO

from watchdog.errors import DatabaseError, StorageFault

SQLITE_HEADER = b"SQLite format 3\x00"


def not_a_database(path: Path) -> DatabaseError:
    """The error for a file that exists but is not SQLite."""
    return DatabaseError(
        f"{path} is not a SQLite database; point storage.database (or --database) at the "
        "watchdog's database file, or move this file out of the way."
    )


def group_hint(path: Path) -> str:
    """How to get read access to ``path``: the group to join, when its group tells."""
    for candidate in (path, path.parent):
        try:
            gid = candidate.stat().st_gid
        except OSError:
            continue
        try:
            import grp

            group = grp.getgrgid(gid).gr_name
        except (ImportError, KeyError):
            break
        if gid == 0:
            break
        return (
            f"add your user to the group '{group}' (sudo usermod -aG {group} $USER, then log in "
            "again) or run the command as root"
        )
    return "ask for read access to it and its directory, or run the command as root"


def permission_denied(path: Path) -> DatabaseError:
    """The error for a database the current user may not read."""
    return DatabaseError(f"Cannot read {path} (permission denied); {group_hint(path)}.")


def check_readable(path: Path) -> None:
    """Make sure ``path`` is an existing SQLite file this user can read.

    Raises ``DatabaseError`` when it is missing, unreadable or not SQLite. An empty file passes
    (SQLite treats it as an empty database; callers then find no tables).
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise DatabaseError(
            f"{path} does not exist; start the daemon (watchdog run) to create it, or pass "
            "--database with the right path."
        ) from None
    except PermissionError:
        raise permission_denied(path) from None
    except IsADirectoryError:
        raise not_a_database(path) from None
    except OSError as error:
        raise DatabaseError(
            f"Cannot read {path} ({error.strerror}); check the disk and the path."
        ) from None
    if header and header != SQLITE_HEADER:
        raise not_a_database(path)


def prepare_for_writing(path: Path) -> None:
    """Create ``path``'s directory if missing and check the file can be the database.

    Raises ``DatabaseError`` when the directory cannot be created or written, or the file exists
    and is not SQLite.
    """
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise unwritable(path, f"cannot create {directory}: {error.strerror or error}") from None
    if on_read_only_file_system(directory):
        raise read_only(path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise unwritable(path, "its directory is not writable")
    if path.exists():
        if path.is_dir():
            raise not_a_database(path)
        if not os.access(path, os.R_OK | os.W_OK):
            raise unwritable(path, "permission denied")
        check_readable(path)


def on_read_only_file_system(directory: Path) -> bool:
    """Whether ``directory`` is on a file system mounted read-only (False when it cannot be
    told: a missing directory)."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def read_only(path: Path) -> StorageFault:
    """The error for a database whose file system is mounted read-only."""
    return StorageFault(
        f"Cannot write the database {path} (its file system is mounted read-only); remount it "
        "read-write (mount -o remount,rw) or set storage.database to a writable file system."
    )


def full(path: Path, reason: str) -> StorageFault:
    """The error for a database whose file system has no room left."""
    return StorageFault(
        f"Cannot write the database {path} ({reason}); free disk space on its file system."
    )


def unwritable(path: Path, reason: str) -> DatabaseError:
    """The error for a database location the daemon cannot write."""
    return DatabaseError(
        f"Cannot write the database {path} ({reason}); make that file and its directory "
        "writable by the user the watchdog runs as, or set storage.database to another path."
    )


def hold_writer_lock(database: Path) -> TextIO:
    """Take the database's writer lock (``<db>.lock``) or say who holds it.

    Two daemons on one database would write two timelines into one: the second refuses to
    start. The lock is released when the process ends, however it ends (flock).
    """
    import fcntl

    lock_path = writer_lock_path(database)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise unwritable(database, f"cannot create {lock_path.parent}: "
                                   f"{error.strerror or error}") from None
    try:
        handle = _open_lock_file(lock_path)
    except OSError as error:
        if error.errno == errno.EROFS:
            raise read_only(database) from None
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise full(database, error.strerror or str(error)) from None
        raise DatabaseError(f"Cannot open {lock_path} ({error.strerror}); make its directory "
                            "writable by the user the watchdog runs as.") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        written = handle.read().strip()
        handle.close()
        found = writer_pid(database)
        holder = str(found) if found else written or "another process"
        raise DatabaseError(
            f"another watchdog (pid {holder}) is already running on {database}; stop it "
            "first (systemctl stop connectivity-watchdog), or use another storage.database."
        ) from None
    if handle.writable():
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    return handle


def _open_lock_file(lock_path: Path) -> TextIO:
    """The lock file, opened to write the pid in; on a read-only file system an existing one
    opened for reading (flock needs no write access; the pid inside stays the last writer's).
    Raises ``OSError``."""
    try:
        return lock_path.open("a+")
    except OSError as error:
        if error.errno != errno.EROFS or not lock_path.exists():
            raise
        return lock_path.open("r")


def writer_lock_path(database: Path) -> Path:
    """The database's writer lock file: ``<db>.lock`` next to it."""
    return database.with_name(database.name + ".lock")


def writer_pid(database: Path) -> int | None:
    """The pid of the process holding ``database``'s writer lock (a running daemon), or None
    when none holds it or this system cannot tell.

    Read from ``/proc/locks`` rather than by trying the lock: a reader holding it for an
    instant would make a daemon starting then believe another one runs. A pid 0 means a
    holder in another pid namespace.
    """
    try:
        lock = writer_lock_path(database).stat()
        table = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in table.splitlines():
        # "3: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF" (a waiter's line has "->" after
        # the number and holds nothing).
        fields = line.split()
        if len(fields) < 6 or fields[1:4] != ["FLOCK", "ADVISORY", "WRITE"]:
            continue
        try:
            major, minor, inode = fields[5].split(":")
            device = os.makedev(int(major, 16), int(minor, 16))
            if int(inode) == lock.st_ino and device == lock.st_dev:
                return int(fields[4])
        except ValueError:
            continue
    return None
