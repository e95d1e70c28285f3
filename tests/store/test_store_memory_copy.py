"""The daemon's store while its file system takes no writes: held in memory, written back.

Each test mounts a small tmpfs of its own for the database (root), fills it or remounts it
read-only, and checks that the daemon's writes go on, nothing of them is lost once the file
takes writes again, the file is never corrupted, and the fault is said once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import INTERVAL, T0, at, cycle, outages, transition
from structlog.testing import capture_logs

from testbed.filesystems import SmallFilesystem, mount_problem
from testbed.integrity import integrity
from tests.environment import require
from watchdog.errors import DatabaseError, StorageFault
from watchdog.store import files, memory_copy
from watchdog.store.invariants import timeline_problems
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

MEGABYTES = 8


@pytest.fixture
def filesystem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallFilesystem]:
    """A tmpfs of its own for the database; the way back is looked at on every write."""
    require(mount_problem())
    monkeypatch.setattr(memory_copy, "LOOK_EVERY_S", 0.0)
    with SmallFilesystem(tmp_path / "dbfs", MEGABYTES) as mounted:
        yield mounted


def _daemon_store(filesystem: SmallFilesystem) -> tuple[Path, Store]:
    """The daemon's store on a database on ``filesystem``, its timeline resumed at T0."""
    path = filesystem.path / "watchdog.db"
    store = Store.open_for_daemon(path)
    store.resume(T0, INTERVAL, link=DEFAULT_LINK)
    return path, store


def _record_until_held(store: Store, start_s: float) -> float:
    """Record up cycles from ``start_s`` every 2 s until the store holds the database in
    memory (a full file system refuses the WAL's next page); return the next cycle's time."""
    seconds = start_s
    for _ in range(2000):
        store.record_cycle(cycle(at(seconds)), [], [], at(seconds + 1), link=DEFAULT_LINK)
        seconds += 2
        if store.held_in_memory:
            return seconds
    raise AssertionError("the full file system never refused a write")


def test_a_full_file_system_keeps_every_cycle_in_memory_and_writes_it_back_when_freed(
    filesystem: SmallFilesystem,
) -> None:
    path, store = _daemon_store(filesystem)
    store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(1), link=DEFAULT_LINK)
    filesystem.fill()
    with capture_logs() as logs:
        seconds = _record_until_held(store, 2)
        # The outage that happens during the fault, and its end.
        down, up = at(seconds), at(seconds + 20)
        store.record_cycle(cycle(down, ok=False), [transition("down", down, "isp")], [],
                           down + INTERVAL, link=DEFAULT_LINK)
        store.record_cycle(cycle(up), [transition("up", up)], [], up + INTERVAL,
                           link=DEFAULT_LINK)
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert [entry["event"] for entry in errors] == ["database_held_in_memory"]
    assert str(path) in errors[0]["database"] and "disk" in errors[0]["error"]
    assert outages(path) == []  # the file still has the database as it was
    filesystem.free()
    with capture_logs() as logs:
        store.record_cycle(cycle(at(seconds + 30)), [], [], at(seconds + 31),
                           link=DEFAULT_LINK)
    assert not store.held_in_memory
    assert [entry["event"] for entry in logs] == ["database_written_back"]
    kinds = [(kind, started, ended) for kind, started, ended, *_ in outages(path)]
    assert kinds == [("isp", down.strftime("%Y-%m-%d %H:%M:%S.%f"),
                      up.strftime("%Y-%m-%d %H:%M:%S.%f"))]
    store.shutdown(at(seconds + 40))
    store.close()
    assert integrity(path) == "ok"
    assert timeline_problems(path) == []


def test_a_read_only_file_system_at_start_is_written_once_it_is_writable_again(
    filesystem: SmallFilesystem,
) -> None:
    path, store = _daemon_store(filesystem)
    store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(1), link=DEFAULT_LINK)
    store.shutdown(at(2))
    store.close()
    filesystem.read_only()
    with capture_logs() as logs:
        store = Store.open_for_daemon(path)
    assert store.held_in_memory
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [
        ("database_held_in_memory", "error")]
    assert "read-only" in logs[0]["error"]
    # The lock is held from the start, on the file opened for reading: a second daemon is
    # refused, and the readers can tell the daemon runs (watchdog status).
    assert files.writer_pid(path) == os.getpid()
    with pytest.raises(DatabaseError, match=f"another watchdog \\(pid {os.getpid()}\\)"):
        files.hold_writer_lock(path)
    store.resume(at(10), INTERVAL, link=DEFAULT_LINK)
    store.record_cycle(cycle(at(10)), [transition("up", at(10))], [], at(11),
                       link=DEFAULT_LINK)
    down = at(12)
    store.record_cycle(cycle(down, ok=False), [transition("down", down, "isp")], [], at(13),
                       link=DEFAULT_LINK)
    filesystem.writable()
    store.record_cycle(cycle(at(14), ok=False), [], [], at(15), link=DEFAULT_LINK)
    assert not store.held_in_memory
    assert [kind for kind, *_ in outages(path)] == ["isp"]
    assert files.writer_pid(path) == os.getpid()
    store.shutdown(at(16))
    store.close()
    assert integrity(path) == "ok"


def test_a_copy_that_cannot_be_written_back_before_the_stop_is_said_lost(
    filesystem: SmallFilesystem,
) -> None:
    path, store = _daemon_store(filesystem)
    filesystem.fill()
    seconds = _record_until_held(store, 0)
    store.shutdown(at(seconds))
    with capture_logs() as logs:
        store.close()
    assert [entry["event"] for entry in logs] == ["database_copy_lost"]
    assert "free disk space" in logs[0]["error"]
    filesystem.free()
    assert integrity(path) == "ok"


def test_the_command_lines_store_says_the_fault_instead_of_holding_anything(
    filesystem: SmallFilesystem,
) -> None:
    path = filesystem.path / "watchdog.db"
    Store.open(path).close()
    filesystem.read_only()
    with pytest.raises(StorageFault) as caught:
        Store.open(path, migrate=False)
    message = str(caught.value)
    assert str(path) in message and "read-only" in message and "\n" not in message


def test_a_database_too_large_for_memory_is_not_copied_and_the_fault_is_said_once(
    filesystem: SmallFilesystem, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, store = _daemon_store(filesystem)
    monkeypatch.setattr(memory_copy, "MEMORY_COPY_LIMIT", 1)
    filesystem.fill()
    failures = 0
    with capture_logs() as logs:
        for second in range(0, 400, 2):
            try:
                store.record_cycle(cycle(at(second)), [], [], at(second + 1),
                                   link=DEFAULT_LINK)
            except StorageFault:
                failures += 1
    assert failures and not store.held_in_memory
    assert [entry["event"] for entry in logs] == ["database_not_held_in_memory"]
    assert "too large" in logs[0]["reason"]
    filesystem.free()
    store.close()
    assert integrity(path) == "ok"


def test_a_new_database_on_a_read_only_file_system_is_refused_in_one_sentence(
    filesystem: SmallFilesystem,
) -> None:
    filesystem.read_only()
    path = filesystem.path / "watchdog.db"
    with capture_logs() as logs, pytest.raises(StorageFault) as caught:
        Store.open_for_daemon(path)
    assert logs == []
    message = str(caught.value)
    assert str(path) in message and "remount it read-write" in message
    assert "\n" not in message
