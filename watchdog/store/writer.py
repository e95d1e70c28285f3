"""``Store``: everything the daemon writes, each call one ``BEGIN IMMEDIATE`` transaction.

Typical life::

    store = Store.open(config.storage.database)        # creates / migrates (backup first)
    info = store.resume(utcnow(), config.schedule.ping_interval)
    ...every cycle:   store.record_cycle(cycle, transitions, blips, utcnow())
    ...every minute:  store.maintain(utcnow(), config.storage)
    store.shutdown(utcnow()); store.close()

Time always comes in as an argument (aware UTC); nothing here reads the clock for a record.
The store is safe to call from several threads (calls are serialised by a lock).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from watchdog.config.schema import StorageConfig
from watchdog.link.states import Blip, Transition
from watchdog.probes.results import CycleResult
from watchdog.store import files, heartbeat, retention, rollup, timeline
from watchdog.store.db import (
    create_store_engine,
    database_error,
    leave_readable_without_wal,
    write_session,
)
from watchdog.store.migrate import bring_up_to_date
from watchdog.store.samples import SampleWriter
from watchdog.store.timeline import ResumeInfo

__all__ = ["CycleHook", "CycleRecord", "ResumeHook", "ResumeInfo", "Store"]

CycleHook = Callable[[Session, Sequence[Transition], datetime], None]
ResumeHook = Callable[[Session, "datetime | None", datetime], None]


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One cycle's arguments to ``record_cycle``, for ``Store.record_cycles`` (bulk writes)."""

    cycle: CycleResult
    transitions: Sequence[Transition]
    blips: Sequence[Blip]
    now: datetime


class Store:
    """The daemon's handle on the database. Create it with ``Store.open``."""

    def __init__(self, engine: Engine, path: Path, backup: Path | None = None) -> None:
        self._engine = engine
        self._path = path
        self._lock = threading.Lock()
        self._samples = SampleWriter()
        self._running = False
        self._stopped_cleanly = False
        self.backup = backup
        """The copy made before migrating at open, or None."""
        self.on_cycle: CycleHook | None = None
        """Runs inside each cycle's transaction after its timeline is written (incidents)."""
        self.on_resume: ResumeHook | None = None
        """Runs inside resume's transaction with the start of the unwatched gap, if any."""

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @classmethod
    def open(cls, path: Path, *, migrate: bool = True) -> Store:
        """Open (creating the directory and file if missing) the database at ``path``.

        With ``migrate`` the schema is brought to this version first, after a backup copy
        ``<name>.bak-<old revision>-<UTC stamp>`` when an existing database needs it; without,
        an outdated schema is an error. Raises ``DatabaseError`` (one sentence naming the path
        and the fix) for an unwritable location, a file that is not the watchdog's database,
        a schema newer than this code, or a failing SQLite.
        """
        path = Path(path)
        files.prepare_for_writing(path)
        engine = create_store_engine(path)
        try:
            backup = bring_up_to_date(engine, path, migrate=migrate)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, path, backup)

    def write(self) -> AbstractContextManager[Session]:
        """A write transaction (``BEGIN IMMEDIATE``), serialised with the daemon's own.

        For the outbox's senders and the CLI's state-changing commands: every writer goes
        through the same rules. Raises ``DatabaseError`` when the write fails.
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._lock:
            try:
                with write_session(self._engine) as session:
                    yield session
            except DBAPIError as error:
                self._samples.forget()
                raise database_error(self._path, error) from error
            except BaseException:
                self._samples.forget()
                raise

    def resume(
        self, now: datetime, ping_interval: timedelta, *, pid: int | None = None
    ) -> ResumeInfo:
        """Start the daemon's timeline at ``now`` and say where the link tracker starts.

        ``ping_interval`` judges the last heartbeat: older than two intervals (or after a clean
        shutdown) the time since becomes ``unknown``; otherwise the open interval continues.
        ``pid`` defaults to this process. Raises ``DatabaseError`` when the write fails.
        """
        with self._transaction() as session:
            info = timeline.resume(
                session, now, ping_interval, os.getpid() if pid is None else pid
            )
            if self.on_resume is not None:
                gap_start = info.since if info.state == "unknown" else None
                self.on_resume(session, gap_start, now)
        self._running = True
        self._stopped_cleanly = False
        return info

    def record_cycle(
        self,
        cycle: CycleResult,
        transitions: Sequence[Transition],
        blips: Sequence[Blip],
        now: datetime,
    ) -> None:
        """Record one probe cycle in one transaction: its samples, each target's last result,
        the heartbeat (``now``), and the intervals, outages and blips of its transitions.

        Raises ``RuntimeError`` before ``resume`` or after ``shutdown``, ``DatabaseError``
        when the write fails (nothing of the cycle is then stored).
        """
        self.record_cycles([CycleRecord(cycle, transitions, blips, now)])

    def record_cycles(self, records: Sequence[CycleRecord]) -> None:
        """``record_cycle`` for many cycles (``records``, oldest first) in ONE transaction.

        The stored result is the same as recording them one by one, except that a crash can
        lose the whole batch; the heartbeat is set to the latest ``now``. For bulk writers such
        as the benchmarks' history generator; the daemon records cycle by cycle. Raises
        ``RuntimeError`` before ``resume`` or after ``shutdown``, ``DatabaseError`` when the
        write fails (nothing of the batch is then stored). An empty batch writes nothing.
        """
        if not self._running:
            raise RuntimeError("Store.resume() must be called before recording cycles")
        if not records:
            return
        with self._transaction() as session:
            self._samples.write(session.connection(), (record.cycle for record in records))
            for record in records:
                for transition in record.transitions:
                    timeline.apply_transition(session, transition)
                timeline.record_blips(session, record.blips)
                if self.on_cycle is not None:
                    self.on_cycle(session, record.transitions, record.now)
            heartbeat.beat(session, max(record.now for record in records))

    def shutdown(self, now: datetime) -> None:
        """Stop cleanly at ``now``: close the open interval, set the heartbeat and the
        clean-shutdown flag. An open outage stays open (it goes on, unobserved).
        Raises ``DatabaseError`` when the write fails."""
        with self._transaction() as session:
            timeline.shut_down(session, now)
        self._running = False
        self._stopped_cleanly = True

    def maintain(self, now: datetime, storage: StorageConfig) -> None:
        """Roll up the minutes and hours completed by ``now`` and delete what has expired.

        Idempotent and cheap when there is nothing to do (watermarks); the raw samples near
        outages are kept as evidence. Meant to be called every minute. Raises
        ``DatabaseError`` when the write fails.
        """
        with self._transaction() as session:
            mark = rollup.watermark(session)
            rollup.roll_up(session.connection(), mark, now)
            retention.purge(session, mark, now, storage)
            session.add(mark)

    def close(self) -> None:
        """Release the file. After ``shutdown`` it is left in rollback-journal mode so that
        read-only users can open it without the ``-wal``/``-shm`` files."""
        with self._lock:
            self._engine.dispose()
            if self._stopped_cleanly:
                leave_readable_without_wal(self._path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
