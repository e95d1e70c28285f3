"""Fixtures for the storage tests. Every database a test leaves behind is checked afterwards:
intervals contiguous, never overlapping, at most one open, none negative (outages likewise)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import INTERVAL, T0

from watchdog.store.files import SQLITE_HEADER
from watchdog.store.invariants import timeline_problems
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

_EXTRA_DIRS: list[Path] = []


def _our_databases(root: Path) -> Iterator[Path]:
    for candidate in sorted(root.rglob("*")):
        if not candidate.is_file() or candidate.name.endswith(("-wal", "-shm", "-journal")):
            continue
        try:
            with candidate.open("rb") as handle:
                if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    continue
        except OSError:
            continue
        yield candidate


@pytest.fixture(autouse=True)
def timeline_invariants(tmp_path: Path) -> Iterator[None]:
    """After the test: every watchdog database it created keeps the timeline invariants."""
    yield
    checked = []
    for root in [tmp_path, *_EXTRA_DIRS]:
        for database in _our_databases(root):
            try:
                problems = timeline_problems(database)
            except Exception as error:  # not ours (no tables): nothing to check
                if "no such table" in str(error):
                    continue
                raise
            checked.append(database)
            assert problems == [], f"{database}: {problems}"
    for extra in _EXTRA_DIRS:
        for path in [extra, *extra.rglob("*")]:
            os.chmod(path, 0o700)
        shutil.rmtree(extra, ignore_errors=True)
    _EXTRA_DIRS.clear()


@pytest.fixture
def shared_dir() -> Path:
    """A directory outside pytest's private tmp tree, so an unprivileged child can reach it
    (its databases are checked too)."""
    path = Path(tempfile.mkdtemp(prefix="watchdog-store-"))
    path.chmod(0o755)
    _EXTRA_DIRS.append(path)
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the store's database goes (its directory does not exist yet)."""
    return tmp_path / "var" / "watchdog.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """An open, resumed store whose timeline starts at T0 (an ``unknown`` interval)."""
    opened = Store.open(db_path)
    opened.resume(T0, INTERVAL, link=DEFAULT_LINK)
    yield opened
    opened.close()
