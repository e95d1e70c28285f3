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
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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

__all__ = ["CommitHook", "CycleHook", "CycleRecord", "ResumeHook", "ResumeInfo", "Store"]

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
        self._engine = engine
        self._path = path
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
                    self._note_outside_writes(session)
                    yield session
            except DBAPIError as error:
                self._samples.forget()
                raise database_error(self._path, error) from error
            except BaseException:
                self._samples.forget()
                raise
        # Outside the lock: what it starts (a delivery pass) writes through this store too.
        if self.after_commit is not None and session.info:
            self.after_commit(session.info)

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
        with self._transaction() as session:
            info = timeline.resume(
                session, link, now, ping_interval, os.getpid() if pid is None else pid,
                primary_of=primary_of,
            )
            if self.on_resume is not None:
                gap_start = info.since if info.state == "unknown" else None
                self.on_resume(session, info.link_id, gap_start, now)
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
        with self._transaction() as session:
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

    def record_clock(self, now: datetime, synced: bool | None) -> None:
        """Record with every resumed link's heartbeat whether the system clock was synchronised
        at ``now`` (None: the kernel could not tell). Raises ``DatabaseError`` when the write
        fails."""
        with self._transaction() as session:
            for link in self._links.values():
                heartbeat.clock(session, link, now, synced)

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
        with self._transaction() as session:
            for link in self._links.values():
                timeline.shut_down(session, link, now)
        self._links.clear()
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
