"""The heartbeats' record and the outages they report, read with stdlib ``sqlite3`` only.

``read_heartbeats``: each heartbeat's last send, for ``watchdog status`` and ``/metrics``
("last heartbeat sent": ``sent_at``; taken by the service: ``ok`` and ``last_ok_at``). The
daemon's heartbeat job reads the rest: ``ended_outages`` (the outages a recovery reports) and
``outage_baseline`` (where a new heartbeat's reports begin).

Raises ``DatabaseError`` as ``store.reader`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watchdog.store.reader import connect
from watchdog.store.timetext import from_text
from watchdog.vocabulary import HeartbeatSignal, LinkState, OutageKind

HEARTBEATS_QUERY = (
    "SELECT name, style, host, sent_at, signal, state, ok, answer, error, last_ok_at, "
    "reported_outage_id FROM heartbeat_ping ORDER BY name"
)
# The outages of some links (by name), joined once: ``{links}`` is a list of placeholders.
LINK_OUTAGES = "FROM outage o JOIN link l ON l.id = o.link_id WHERE l.name IN ({links})"


@dataclass(frozen=True, slots=True)
class HeartbeatRecord:
    """A heartbeat's last send: to ``host`` (``scheme://host:port``, never the secret URL),
    at ``sent_at``, saying ``signal`` (reporting ``state``); ``ok`` when the service took it,
    ``answer`` what it said, ``error`` why it did not count; ``last_ok_at`` the last taken."""

    name: str
    style: str
    host: str
    sent_at: datetime
    signal: HeartbeatSignal
    state: LinkState | None
    ok: bool
    answer: str
    error: str | None
    last_ok_at: datetime | None
    reported_outage_id: int | None


@dataclass(frozen=True, slots=True)
class EndedOutage:
    """An outage that is over, as a heartbeat's recovery summary tells it."""

    id: int
    link: str
    kind: OutageKind
    started_at: datetime
    ended_at: datetime
    cause: str


def read_heartbeats(path: Path) -> tuple[HeartbeatRecord, ...]:
    """Every heartbeat's last send, by name (one never sent has no record)."""
    with connect(Path(path)) as connection:
        rows = connection.execute(HEARTBEATS_QUERY).fetchall()
    return tuple(
        HeartbeatRecord(name, style, host, from_text(sent_at), signal, state, bool(ok), answer,
                        error, None if last_ok_at is None else from_text(last_ok_at),
                        reported_outage_id)
        for (name, style, host, sent_at, signal, state, ok, answer, error, last_ok_at,
             reported_outage_id) in rows
    )


def last_sent(path: Path) -> datetime | None:
    """When a heartbeat was last sent, any of them (None: never): for ``/metrics``."""
    return max((record.sent_at for record in read_heartbeats(path)), default=None)


def ended_outages(path: Path, *, after: int, links: Sequence[str]) -> tuple[EndedOutage, ...]:
    """The outages of ``links`` that ended, with an id above ``after`` and below every one of
    theirs still going on (so that reporting up to the newest never skips an older one that
    ends later), oldest first."""
    scope = LINK_OUTAGES.format(links=", ".join("?" * len(links)))
    query = (f"SELECT o.id, l.name, o.kind, o.started_at, o.ended_at, o.cause {scope} "
             "AND o.ended_at IS NOT NULL AND o.id > ? AND o.id < COALESCE("
             f"(SELECT MIN(o.id) {scope} AND o.ended_at IS NULL), o.id + 1) ORDER BY o.id")
    with connect(Path(path)) as connection:
        rows = connection.execute(query, (*links, after, *links)).fetchall()
    return tuple(EndedOutage(row[0], row[1], row[2], from_text(row[3]), from_text(row[4]),
                             row[5]) for row in rows)


def outage_baseline(path: Path, *, links: Sequence[str]) -> int:
    """Where a new heartbeat's reports of ``links`` begin: below the oldest outage still
    going on, else the newest outage (0 when there is none)."""
    scope = LINK_OUTAGES.format(links=", ".join("?" * len(links)))
    query = (f"SELECT COALESCE((SELECT MIN(o.id) - 1 {scope} AND o.ended_at IS NULL), "
             f"(SELECT MAX(o.id) {scope}), 0)")
    with connect(Path(path)) as connection:
        (baseline,) = connection.execute(query, (*links, *links)).fetchone()
    return int(baseline)
