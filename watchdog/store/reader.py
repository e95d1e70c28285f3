"""Read-only queries for the CLI: standard library ``sqlite3`` only, so commands start fast.

Each link has its own timeline: ``read_status`` reads one link's (by name; the one link of a
config that names none is ``DEFAULT_LINK``); outages and blips carry their link's name.

No SQLModel, SQLAlchemy or Alembic on this import path. The file is opened ``mode=ro``: nothing
is ever created, migrated or written. Every status query is bounded by an index, so its cost
follows the window it reads, not the length of the history.

Errors: a missing file, a file that is not SQLite, a permission problem or a database without
the watchdog's tables raise ``watchdog.errors.DatabaseError`` with one sentence and the fix.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from watchdog.errors import DatabaseError
from watchdog.link.availability import StateSpan, time_by_state
from watchdog.store.files import check_readable, not_a_database, permission_denied
from watchdog.store.revision import HEAD_REVISION, VERSION_TABLE, is_newer
from watchdog.store.timetext import from_text, to_text
from watchdog.vocabulary import DEFAULT_LINK, LinkState, OutageKind

REQUIRED_TABLES = frozenset({"state_interval", "outage", "blip", "target", "link",
                             "maintenance_window", "heartbeat_ping"})
UPTIME_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)),
    ("30d", timedelta(days=30)),
)
# The daemon counts as running while its last cycle is at most two ping intervals old, plus
# this much for a cycle that waits on DNS/HTTP timeouts before it is recorded.
HEARTBEAT_GRACE = timedelta(seconds=10)
CAUSE_NOT_STARTED = "the watchdog has not run on this database yet"
CAUSE_STOPPED = "the watchdog is not running (it was stopped)"
CAUSE_SILENT = "the watchdog is not running (no heartbeat since its last cycle)"

# The status queries, by name, so a test can check each plan is an index search. The first
# parameter of each is the link's id (the heartbeat's, its name).
STATUS_QUERIES = {
    "open_interval": "SELECT state, cause, started_at, cause_code FROM state_interval "
                     "WHERE link_id = ? AND ended_at IS NULL",
    "window_intervals": "SELECT state, started_at, ended_at FROM state_interval "
                        "WHERE link_id = ? AND ended_at > ?",
    "history_start": "SELECT MIN(started_at) FROM state_interval WHERE link_id = ?",
    "open_outage": "SELECT id, kind, started_at, cause FROM outage "
                   "WHERE link_id = ? AND ended_at IS NULL",
    "heartbeat": "SELECT id, last_cycle_at, ping_interval_s, started_at, pid, clean_shutdown, "
                 "clock_synced, clock_checked_at, clock_status_since FROM link WHERE name = ?",
    "targets": "SELECT kind, name, address, last_at, last_ok, last_rtt_ms, last_error "
               "FROM target WHERE link_id = ? ORDER BY CASE kind WHEN 'gateway' THEN 0 "
               "WHEN 'ping' THEN 1 WHEN 'dns' THEN 2 ELSE 3 END, id",
}


@dataclass(frozen=True, slots=True)
class OpenOutage:
    """The outage going on now."""

    id: int
    kind: OutageKind
    started_at: datetime
    cause: str


@dataclass(frozen=True, slots=True)
class UptimeWindow:
    """Availability over the ``span`` before now, computed over observed time.

    ``up`` and ``degraded`` count as available, ``down`` and ``lan_down`` as not; time with no
    observation (``unknown``, the daemon not running, before the first record) is left out of
    ``uptime_percent`` and reported as ``unknown_seconds``, and time in declared maintenance
    windows as ``maintenance_seconds``. The four add up to the span. ``uptime_percent`` is
    None when nothing in the window was observed.
    """

    label: str
    span: timedelta
    uptime_percent: float | None
    available_seconds: float
    unavailable_seconds: float
    unknown_seconds: float
    maintenance_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """A probed target and its last result (``last_at`` None: never probed)."""

    kind: str
    name: str
    address: str
    last_at: datetime | None
    last_ok: bool | None
    last_rtt_ms: float | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A link's monitor: its last cycle, its ping interval, and whether it counts as running.

    ``clock_synced``: whether the server's clock was synchronised at the monitor's last check
    (``clock_checked_at``), None when it could not tell or never checked; the checks have said
    the same since ``clock_status_since``.
    """

    link_id: int
    last_cycle_at: datetime
    ping_interval: timedelta
    started_at: datetime
    pid: int
    clean_shutdown: bool
    running: bool
    clock_synced: bool | None = None
    clock_checked_at: datetime | None = None
    clock_status_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusData:
    """What ``watchdog status`` shows of the link called ``link``.

    ``state``/``since``/``cause`` hold now: the open interval while the link's monitor runs,
    else ``unknown`` since its last heartbeat (``since`` None when it never ran).
    ``open_outage`` is the outage still going on (it stays open while the daemon is stopped).
    ``cause_code`` is the state's cause in a word (``other_path``: down while the site's
    traffic takes another path), None when not recorded or not watched.
    """

    path: Path
    link: str
    now: datetime
    state: LinkState
    since: datetime | None
    cause: str
    open_outage: OpenOutage | None
    windows: tuple[UptimeWindow, ...]
    targets: tuple[TargetStatus, ...]
    heartbeat: Heartbeat | None
    cause_code: str | None = None


@dataclass(frozen=True, slots=True)
class OutageRow:
    """One outage of the link called ``link``. ``duration_s`` is None while it is open (unless
    a ``now`` was given); ``end_observed`` is None while open, False when it ended while the
    daemon was down.

    ``start_after``/``start_by`` bracket the start: the probes that decided were last sent
    before it at ``start_after`` and the first cycle that saw it had sent them by
    ``start_by``; ``end_after``/``end_by`` likewise for the end. None where no probe tells
    (recorded before brackets were, the first cycle after start-up, an end nobody saw).
    """

    id: int
    link: str
    kind: OutageKind
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    cause: str
    unobserved_seconds: float
    end_observed: bool | None
    evidence: dict[str, Any]
    start_after: datetime | None = None
    start_by: datetime | None = None
    end_after: datetime | None = None
    end_by: datetime | None = None


@dataclass(frozen=True, slots=True)
class BlipRow:
    """A failure of the link called ``link`` shorter than the confirmation, with the brackets
    of its start and end as ``OutageRow``'s."""

    id: int
    link: str
    state: LinkState
    started_at: datetime
    ended_at: datetime
    duration_s: float
    cycles: int
    cause: str
    start_after: datetime | None = None
    start_by: datetime | None = None
    end_after: datetime | None = None
    end_by: datetime | None = None


def _uri(path: Path, *, immutable: bool) -> str:
    quoted = str(path.absolute()).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{quoted}?mode=ro" + ("&immutable=1" if immutable else "")


def _open_checked(path: Path, *, immutable: bool) -> sqlite3.Connection:
    connection = sqlite3.connect(_uri(path, immutable=immutable), uri=True, timeout=5.0)
    try:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except BaseException:
        connection.close()
        raise
    if VERSION_TABLE in tables:
        row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        if row is not None and is_newer(row[0]):
            connection.close()
            raise DatabaseError(
                f"{path} was written by a newer version of the watchdog (schema {row[0]}, this "
                f"one reads up to {HEAD_REVISION}); upgrade the watchdog to read it."
            )
    if not tables >= REQUIRED_TABLES:
        connection.close()
        if "state_interval" in tables:
            raise _needs_upgrade(path)
        raise DatabaseError(
            f"{path} has no watchdog data (the tables are missing); start the daemon (watchdog "
            "run) to create them, or pass --database with the right path."
        )
    return connection


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection on the watchdog database at ``path``, closed on exit.

    While the daemon runs (WAL with ``-wal``/``-shm`` present) this is a plain ``mode=ro`` open.
    When those files are absent and cannot be created (a read-only directory after a clean
    shutdown of a WAL database), it falls back to ``immutable=1``, which is safe then because
    no writer is running. Raises ``DatabaseError`` (see the module doc).
    """
    path = Path(path)
    check_readable(path)
    try:
        try:
            connection = _open_checked(path, immutable=False)
        except sqlite3.OperationalError as error:
            wal = path.with_name(path.name + "-wal")
            if not _needs_immutable(error) or (wal.exists() and wal.stat().st_size > 0):
                raise
            connection = _open_checked(path, immutable=True)
    except sqlite3.DatabaseError as error:
        raise _reader_error(path, error) from None
    try:
        yield connection
    except sqlite3.DatabaseError as error:
        raise _reader_error(path, error) from None
    finally:
        connection.close()


def _needs_upgrade(path: Path) -> DatabaseError:
    return DatabaseError(
        f"{path} was written by an older version of the watchdog and needs a schema "
        "upgrade; start the daemon (watchdog run) once so it migrates the database."
    )


def _needs_immutable(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text


def _reader_error(path: Path, error: sqlite3.DatabaseError) -> DatabaseError:
    text = str(error).lower()
    if "not a database" in text or "malformed" in text:
        return not_a_database(path)
    if "no such column" in text:
        return _needs_upgrade(path)
    if "readonly" in text or "unable to open" in text or "permission" in text:
        return permission_denied(path)
    return DatabaseError(f"Cannot read {path} ({error}); check the file and the disk.")


def _time(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def read_status(path: Path, now: datetime, *, link: str = DEFAULT_LINK) -> StatusData:
    """The link's current state, open outage, uptime over 24 h / 7 d / 30 d, targets and
    heartbeat at ``now`` (a link never watched: ``unknown``, nothing recorded).

    Raises ``DatabaseError`` (see the module doc).
    """
    path = Path(path)
    with connect(path) as connection:
        heartbeat = _heartbeat(connection, link, now)
        # A link never watched has no row: NULL matches nothing, so every query is empty.
        link_id = None if heartbeat is None else heartbeat.link_id
        open_row = connection.execute(STATUS_QUERIES["open_interval"], (link_id,)).fetchone()
        outage_row = connection.execute(STATUS_QUERIES["open_outage"], (link_id,)).fetchone()
        targets = tuple(
            TargetStatus(kind, name, address, _time(last_at),
                         None if last_ok is None else bool(last_ok), last_rtt_ms, last_error)
            for kind, name, address, last_at, last_ok, last_rtt_ms, last_error
            in connection.execute(STATUS_QUERIES["targets"], (link_id,))
        )
        first = connection.execute(STATUS_QUERIES["history_start"], (link_id,)).fetchone()[0]
        longest = max(span for _, span in UPTIME_WINDOWS)
        rows = connection.execute(
            STATUS_QUERIES["window_intervals"], (link_id, to_text(now - longest))
        ).fetchall()
    # The open interval holds until now while the daemon runs, else until its last heartbeat.
    observed_until = now
    if heartbeat is None or not heartbeat.running:
        observed_until = heartbeat.last_cycle_at if heartbeat is not None else now
    spans = [StateSpan(state, from_text(start), from_text(end)) for state, start, end in rows]
    if open_row is not None:
        start = from_text(open_row[2])
        spans.append(StateSpan(open_row[0], start, max(start, min(observed_until, now))))
    # Time before the watchdog first ran on this database is not history: windows start there.
    history_start = now if first is None else from_text(first)
    windows = tuple(
        _uptime(label, span, spans, now, history_start) for label, span in UPTIME_WINDOWS
    )
    code = None
    if heartbeat is not None and heartbeat.running and open_row is not None:
        state, cause, since, code = open_row[0], open_row[1], _time(open_row[2]), open_row[3]
    elif heartbeat is None:
        state, cause, since = "unknown", CAUSE_NOT_STARTED, None
    else:
        state, since = "unknown", heartbeat.last_cycle_at
        cause = CAUSE_STOPPED if heartbeat.clean_shutdown else CAUSE_SILENT
    open_outage = None
    if outage_row is not None:
        open_outage = OpenOutage(outage_row[0], outage_row[1], from_text(outage_row[2]),
                                 outage_row[3])
    return StatusData(
        path=path, link=link, now=now, state=cast("LinkState", state), since=since, cause=cause,
        open_outage=open_outage, windows=windows, targets=targets, heartbeat=heartbeat,
        cause_code=code,
    )


def read_heartbeat(path: Path, now: datetime, *, link: str = DEFAULT_LINK) -> Heartbeat | None:
    """The link's monitor as its last cycle left it (None: never watched), judged at ``now``.
    Raises ``DatabaseError``."""
    with connect(Path(path)) as connection:
        return _heartbeat(connection, link, now)


def _heartbeat(connection: sqlite3.Connection, link: str, now: datetime) -> Heartbeat | None:
    row = connection.execute(STATUS_QUERIES["heartbeat"], (link,)).fetchone()
    if row is None:
        return None
    link_id, last_cycle, interval_s, started, pid, clean_shutdown, synced, checked, since = row
    last_cycle_at = from_text(last_cycle)
    interval = timedelta(seconds=interval_s)
    running = not clean_shutdown and now - last_cycle_at <= 2 * interval + HEARTBEAT_GRACE
    return Heartbeat(link_id, last_cycle_at, interval, from_text(started), pid,
                     bool(clean_shutdown), running,
                     clock_synced=None if synced is None else bool(synced),
                     clock_checked_at=_time(checked), clock_status_since=_time(since))


def _uptime(
    label: str,
    span: timedelta,
    spans: list[StateSpan],
    now: datetime,
    history_start: datetime,
) -> UptimeWindow:
    time = time_by_state(spans, max(now - span, history_start), now)
    return UptimeWindow(
        label=label,
        span=span,
        uptime_percent=time.availability,
        available_seconds=time.available_seconds,
        unavailable_seconds=time.unavailable_seconds,
        unknown_seconds=time.unwatched_seconds,
        maintenance_seconds=time.maintenance_seconds,
    )


def read_outages(
    path: Path, since: datetime | None, *, now: datetime | None = None
) -> list[OutageRow]:
    """Outages that were going on at or after ``since`` (all when None), oldest first.

    With ``now``, an open outage's ``duration_s`` runs until then. Raises ``DatabaseError``.
    """
    query = (
        "SELECT o.id, l.name, o.kind, o.started_at, o.ended_at, o.cause, "
        "o.unobserved_seconds, o.end_observed, o.evidence, "
        "o.start_after, o.start_by, o.end_after, o.end_by "
        "FROM outage o JOIN link l ON l.id = o.link_id"
    )
    parameters: tuple[str, ...] = ()
    if since is not None:
        query += " WHERE o.ended_at IS NULL OR o.ended_at >= ?"
        parameters = (to_text(since),)
    with connect(Path(path)) as connection:
        rows = connection.execute(query + " ORDER BY o.started_at, o.id", parameters).fetchall()
    outages = []
    for row in rows:
        started, ended = from_text(row[3]), _time(row[4])
        until = ended if ended is not None else now
        outages.append(OutageRow(
            id=row[0],
            link=row[1],
            kind=row[2],
            started_at=started,
            ended_at=ended,
            duration_s=None if until is None else max(0.0, (until - started).total_seconds()),
            cause=row[5],
            unobserved_seconds=row[6],
            end_observed=None if row[7] is None else bool(row[7]),
            evidence=_evidence(row[8]),
            start_after=_time(row[9]), start_by=_time(row[10]),
            end_after=_time(row[11]), end_by=_time(row[12]),
        ))
    return outages


def _evidence(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def read_blips(path: Path, since: datetime | None) -> list[BlipRow]:
    """Blips that ended at or after ``since`` (all when None), oldest first.

    Raises ``DatabaseError``.
    """
    query = (
        "SELECT b.id, l.name, b.state, b.started_at, b.ended_at, b.cycles, b.cause, "
        "b.start_after, b.start_by, b.end_after, b.end_by "
        "FROM blip b JOIN link l ON l.id = b.link_id"
    )
    parameters: tuple[str, ...] = ()
    if since is not None:
        query += " WHERE b.ended_at >= ?"
        parameters = (to_text(since),)
    with connect(Path(path)) as connection:
        rows = connection.execute(query + " ORDER BY b.started_at, b.id", parameters).fetchall()
    blips = []
    for row in rows:
        started, ended = from_text(row[3]), from_text(row[4])
        blips.append(BlipRow(
            id=row[0], link=row[1], state=row[2], started_at=started, ended_at=ended,
            duration_s=(ended - started).total_seconds(), cycles=row[5], cause=row[6],
            start_after=_time(row[7]), start_by=_time(row[8]),
            end_after=_time(row[9]), end_by=_time(row[10]),
        ))
    return blips
