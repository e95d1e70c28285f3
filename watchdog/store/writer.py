"""``Store``: everything the daemon writes, each call one ``BEGIN IMMEDIATE`` transaction.

Typical life::

    store = Store.open(config.storage.database)        # creates / migrates (backup first)
    info = store.resume(utcnow(), config.schedule.ping_interval, link="default")
    ...every cycle:   store.record_cycle(cycle, transitions, blips, utcnow(), link="default")
    ...every minute:  store.maintain(utcnow(), config.storage)
    store.shutdown(utcnow()); store.close()

Each link (uplink) has its own timeline, named by the link's name: ``resume`` starts it (one
call per link the daemon watches), ``record_cycle`` writes to it, ``shutdown`` stops them all.

Time always comes in as an argument (aware UTC); nothing here reads the clock for a record.
The store is safe to call from several threads (calls are serialised by a lock).

The daemon's store (``Store.open_for_daemon``) holds the writer lock and, while the file system
takes no writes (full, read-only), the database in memory (``store.memory_copy``): its
writers go through ``transact``, which moves a write refused for that reason there.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from watchdog import clock
from watchdog.config.schema import StorageConfig
from watchdog.errors import DatabaseError, StorageFault
from watchdog.link.states import Blip, Transition
from watchdog.logs import get_logger
from watchdog.probes.results import CycleResult
from watchdog.store import files, heartbeat, memory_copy, retention, rollup, timeline
from watchdog.store.db import (
    create_store_engine,
    database_error,
    leave_readable_without_wal,
    write_session,
)
from watchdog.store.memory_copy import MemoryCopy
from watchdog.store.migrate import bring_up_to_date, migrate_in_child, needs_migration
from watchdog.store.samples import SampleWriter
from watchdog.store.timeline import ResumeInfo

__all__ = ["CommitHook", "CycleHook", "CycleRecord", "ResumeHook", "ResumeInfo", "Store"]

log = get_logger("watchdog.store")

Result = TypeVar("Result")

# (session, link id, the cycle's transitions, now)
CycleHook = Callable[[Session, int, Sequence[Transition], datetime], None]
# (session, link id, start of the unwatched gap or None, now)
ResumeHook = Callable[[Session, int, "datetime | None", datetime], None]
# (the committed session's info)
CommitHook = Callable[[Mapping[Any, Any]], None]


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One cycle's arguments to ``record_cycle``, for ``Store.record_cycles`` (bulk writes)."""

    cycle: CycleResult
    transitions: Sequence[Transition]
    blips: Sequence[Blip]
    now: datetime
    link: str


class Store:
    """The daemon's handle on the database. Create it with ``Store.open``."""

    def __init__(self, engine: Engine, path: Path, backup: Path | None = None) -> None:
        self._file_engine = engine
        self._path = path
        # The daemon's store (``open_for_daemon``): the database goes to memory while the file
        # takes no writes (``_memory``), and the writer lock is held (taken late if the fault
        # prevented it).
        self._hold_in_memory = False
        self._memory: MemoryCopy | None = None
        self._memory_refused = False
        self._writer_lock: TextIO | None = None
        self._lock = threading.Lock()
        self._samples = SampleWriter()
        # The links resumed by this process (name → id): those it records and shuts down.
        self._links: dict[str, int] = {}
        self._stopped_cleanly = False
        self.backup = backup
        """The copy made before migrating at open, or None."""
        self.on_cycle: CycleHook | None = None
        """Runs inside each cycle's transaction after its timeline is written (incidents)."""
        self.on_resume: ResumeHook | None = None
        """Runs inside resume's transaction with the start of the unwatched gap, if any."""
        self.after_commit: CommitHook | None = None
        """Runs after each committed transaction with its session's ``info`` (what its
        writers noted there: the outbox's channels with messages due now)."""
        self.outside_writes = 0
        """Grows when another process (``watchdog maintenance add``, ``ticket ack``) has
        written to the database since this store's previous transaction: what it caches
        of the database (the declared maintenance windows) is then read again."""
        self._data_version: tuple[int, int] | None = None

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def _engine(self) -> Engine:
        return self._memory.engine if self._memory is not None else self._file_engine

    @property
    def held_in_memory(self) -> bool:
        """Whether the database is held in memory now (its file system takes no writes)."""
        return self._memory is not None

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

    @classmethod
    def open_for_daemon(cls, path: Path) -> Store:
        """The daemon's store on ``path``: its writer lock taken, its schema brought up to date
        (in a child process: the daemon never carries Alembic), then opened.

        When the file system takes no writes (full, read-only: ``StorageFault``), the database
        is held in memory from the start if it can be read, and the lock is taken when it is
        written back. Raises ``DatabaseError`` as ``open`` does, and when another daemon holds
        the lock.
        """
        path = Path(path)
        lock = None
        try:
            lock = files.hold_writer_lock(path)
            if needs_migration(path):
                migrate_in_child(path)
            store = cls.open(path, migrate=True)
        except StorageFault as fault:
            store = cls(create_store_engine(path), path)
            # Only an existing database can be held: a new one waits for a writable disk.
            if not path.exists() or not store._move_to_memory(fault):
                if lock is not None:
                    lock.close()
                raise
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        store._hold_in_memory = True
        store._writer_lock = lock
        return store

    def transact(self, work: Callable[[Session], Result]) -> Result:
        """``work(session)`` in one write transaction (as ``write``), returning what it returns.

        For the daemon's writers: when the file system refuses the write (full, read-only) and
        the database moves to memory for it, ``work`` runs once more there, so nothing of it is
        lost. Raises ``DatabaseError`` when the write fails.
        """
        try:
            with self._transaction() as session:
                return work(session)
        except StorageFault:
            if self._memory is None:
                raise
        with self._transaction() as session:
            return work(session)

    def write(self) -> AbstractContextManager[Session]:
        """A write transaction (``BEGIN IMMEDIATE``), serialised with the daemon's own.

        For the outbox's senders and the CLI's state-changing commands: every writer goes
        through the same rules. Raises ``DatabaseError`` when the write fails.
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._lock:
            if self._memory is not None and self._memory.due():
                self._write_back()
            try:
                with write_session(self._engine) as session:
                    self._note_outside_writes(session)
                    yield session
                if self._memory is None:
                    self._memory_refused = False  # the file takes writes: a new fault may move
            except DBAPIError as error:
                self._samples.forget()
                problem = database_error(self._path, error)
                if isinstance(problem, StorageFault) and self._hold_in_memory:
                    self._move_to_memory(problem)
                raise problem from error
            except BaseException:
                self._samples.forget()
                raise
        # Outside the lock: what it starts (a delivery pass) writes through this store too.
        if self.after_commit is not None and session.info:
            self.after_commit(session.info)

    def _move_to_memory(self, fault: StorageFault) -> bool:
        """Hold the database in memory from now on (once per fault; the lock is held);
        return whether it is. Logs the fault once, as an error."""
        if self._memory is not None:
            return True
        if self._memory_refused:
            return False
        try:
            copy = memory_copy.copy_into_memory(self._path, str(fault), clock.utcnow())
        except DatabaseError as error:
            # Until a write to the file succeeds again, cycles fail and say so (failures.py).
            self._memory_refused = True
            log.error("database_not_held_in_memory", database=str(self._path),
                      error=str(fault), reason=str(error))
            return False
        self._file_engine.dispose()
        self._memory = copy
        log.error("database_held_in_memory", database=str(self._path), error=str(fault),
                  size_mb=round(copy.size / 1e6, 2),
                  hint="the watchdog goes on recording and alerting; the database is written "
                       "back as soon as its file system takes writes again")
        return True

    def _write_back(self) -> None:
        """Write the database held in memory back to its file if its file system takes writes
        again (looked at once a second at most); the lock is held."""
        copy = self._memory
        assert copy is not None
        reason = memory_copy.why_not_back(self._path, copy)
        if reason is None and self._writer_lock is None:
            try:
                self._writer_lock = files.hold_writer_lock(self._path)
            except DatabaseError as error:
                reason = str(error)
        if reason is not None:
            copy.looked()
            return
        try:
            memory_copy.write_back(copy, self._path)
        except (sqlite3.Error, OSError) as error:
            copy.looked(failed=True)
            if copy.failures == 1:
                log.warning("database_write_back_failed", database=str(self._path),
                            error=str(error), hint="tried again every "
                            f"{memory_copy.RETRY_AFTER_FAILURE_S:g} s")
            return
        self._memory, self._memory_refused = None, False
        self._file_engine = create_store_engine(self._path)
        log.info("database_written_back", database=str(self._path),
                 **memory_copy.describe(copy))
        memory_copy.close(copy)

    def _note_outside_writes(self, session: Session) -> None:
        """Count another connection's commits since our previous transaction.

        SQLite's ``PRAGMA data_version`` changes, for one connection, when another connection
        has committed; it costs no read of the file. A change of connection (the pool's
        overflow) counts too: a needless re-read, never a missed one.
        """
        connection = session.connection()
        version = connection.exec_driver_sql("PRAGMA data_version").scalar()
        seen = (id(connection.connection.dbapi_connection), int(version or 0))
        if seen != self._data_version:
            self._data_version = seen
            self.outside_writes += 1

    def resume(
        self, now: datetime, ping_interval: timedelta, *, link: str, pid: int | None = None,
        primary_of: Collection[str] | None = None,
    ) -> ResumeInfo:
        """Start the timeline of the link called ``link`` at ``now`` and say where its tracker
        starts (a link never watched before is added).

        ``ping_interval`` judges the link's last heartbeat: older than two intervals (or after
        a clean shutdown) the time since becomes ``unknown``; otherwise the open interval
        continues. ``pid`` defaults to this process. ``primary_of``: for the primary link,
        the names of the config's links; a primary new to the database then continues the
        site's first history (the implicit ``default`` of a database from before uplinks)
        unless that one is another of them (``ResumeInfo.took_over`` says so). Raises
        ``DatabaseError`` when the write fails.
        """
        def work(session: Session) -> ResumeInfo:
            info = timeline.resume(
                session, link, now, ping_interval, os.getpid() if pid is None else pid,
                primary_of=primary_of,
            )
            if self.on_resume is not None:
                gap_start = info.since if info.state == "unknown" else None
                self.on_resume(session, info.link_id, gap_start, now)
            return info

        info = self.transact(work)
        self._links[link] = info.link_id
        self._stopped_cleanly = False
        return info

    def record_cycle(
        self,
        cycle: CycleResult,
        transitions: Sequence[Transition],
        blips: Sequence[Blip],
        now: datetime,
        *,
        link: str,
    ) -> None:
        """Record one probe cycle of the link called ``link`` in one transaction: its
        samples, each target's last result, the link's heartbeat (``now``), and the intervals,
        outages and blips of its transitions.

        Raises ``RuntimeError`` before the link's ``resume`` or after ``shutdown``,
        ``DatabaseError`` when the write fails (nothing of the cycle is then stored).
        """
        self.record_cycles([CycleRecord(cycle, transitions, blips, now, link)])

    def record_cycles(self, records: Sequence[CycleRecord]) -> None:
        """``record_cycle`` for many cycles (``records``, oldest first) in ONE transaction.

        The stored result is the same as recording them one by one, except that a crash can
        lose the whole batch; each link's heartbeat is set to its latest ``now``. For bulk
        writers such as the benchmarks' history generator; the daemon records cycle by cycle.
        Raises as ``record_cycle``; an empty batch writes nothing.
        """
        if not records:
            return
        links = {record.link: self._link_id(record.link) for record in records}

        def work(session: Session) -> None:
            connection = session.connection()
            for name, link in links.items():
                self._samples.write(connection, link, (
                    record.cycle for record in records if record.link == name))
            for record in records:
                link = links[record.link]
                for transition in record.transitions:
                    timeline.apply_transition(session, link, transition)
                timeline.record_blips(session, link, record.blips)
                if self.on_cycle is not None:
                    self.on_cycle(session, link, record.transitions, record.now)
            for name, link in links.items():
                heartbeat.beat(session, link, max(
                    record.now for record in records if record.link == name))

        self.transact(work)

    def record_clock(self, now: datetime, synced: bool | None) -> None:
        """Record with every resumed link's heartbeat whether the system clock was synchronised
        at ``now`` (None: the kernel could not tell). Raises ``DatabaseError`` when the write
        fails."""
        def work(session: Session) -> None:
            for link in self._links.values():
                heartbeat.clock(session, link, now, synced)

        self.transact(work)

    def _link_id(self, name: str) -> int:
        link = self._links.get(name)
        if link is None:
            raise RuntimeError(
                f"Store.resume(link={name!r}) must be called before recording its cycles")
        return link

    def shutdown(self, now: datetime) -> None:
        """Stop cleanly at ``now``: close every resumed link's open interval, set its
        heartbeat and clean-shutdown flag. An open outage stays open (it goes on, unobserved).
        Raises ``DatabaseError`` when the write fails."""
        def work(session: Session) -> None:
            for link in self._links.values():
                timeline.shut_down(session, link, now)

        self.transact(work)
        self._links.clear()
        self._stopped_cleanly = True

    def maintain(self, now: datetime, storage: StorageConfig) -> None:
        """Roll up the minutes and hours completed by ``now`` and delete what has expired.

        Idempotent and cheap when there is nothing to do (watermarks); the raw samples near
        outages are kept as evidence. Meant to be called every minute. Raises
        ``DatabaseError`` when the write fails.
        """
        def work(session: Session) -> None:
            mark = rollup.watermark(session)
            rollup.roll_up(session.connection(), mark, now)
            retention.purge(session, mark, now, storage)
            session.add(mark)

        self.transact(work)

    def close(self) -> None:
        """Release the file and the writer lock. After ``shutdown`` it is left in
        rollback-journal mode so that read-only users can open it without the ``-wal``/``-shm``
        files. A database held in memory is written back first if its file system takes
        writes; if not, it is lost, and the log says since when."""
        with self._lock:
            copy = self._memory
            if copy is not None:
                copy.next_look = 0.0
                self._write_back()
            if self._memory is not None:
                log.error("database_copy_lost", database=str(self._path),
                          error=self._memory.fault, **memory_copy.describe(self._memory),
                          hint="what was recorded since then could not be written to the file")
                memory_copy.close(self._memory)
                self._memory = None
            else:
                self._file_engine.dispose()
                if self._stopped_cleanly:
                    leave_readable_without_wal(self._path)
            if self._writer_lock is not None:
                self._writer_lock.close()
                self._writer_lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
