"""Raw probe results around an incident's outages, for ``watchdog evidence`` (stdlib
``sqlite3`` only). Retention keeps every sample from ``storage.evidence_margin`` before an
outage's start to the margin after its end, so these are complete for any recorded outage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watchdog.clock import from_ms, to_ms
from watchdog.errors import EX_USAGE, UserError
from watchdog.store.reader import connect
from watchdog.store.timetext import from_text


@dataclass(frozen=True, slots=True)
class IncidentOutage:
    """One outage (cut) of an incident, on its link."""

    id: int
    link_id: int
    link: str
    kind: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class RawSample:
    """One probe result as recorded: ``rtt_ms`` None when nothing answered."""

    at: datetime
    kind: str
    target: str
    address: str
    ok: bool
    rtt_ms: float | None
    sent: int
    received: int
    error: str | None


def read_incident_outages(path: Path, reference: str) -> list[IncidentOutage]:
    """The outages of the incident whose ticket is ``reference``, oldest first.

    Raises ``UserError`` (exit 64) for an unknown reference, ``DatabaseError`` when the
    database cannot be read.
    """
    with connect(Path(path)) as connection:
        rows = connection.execute(
            "SELECT o.id, o.link_id, l.name, o.kind, o.started_at, o.ended_at FROM outage o "
            "JOIN incident i ON i.id = o.incident_id JOIN link l ON l.id = o.link_id "
            "WHERE i.reference = ? ORDER BY o.started_at, o.id", (reference.upper(),)
        ).fetchall()
    if not rows:
        raise UserError(f"no ticket {reference} in {path}; 'watchdog tickets --all' lists "
                        "them", EX_USAGE)
    return [IncidentOutage(row[0], row[1], row[2], row[3], from_text(row[4]),
                           None if row[5] is None else from_text(row[5])) for row in rows]


def read_samples(path: Path, link_id: int, start: datetime, end: datetime) -> list[RawSample]:
    """Every probe result of the link in [``start``, ``end``], oldest first (a range on the
    samples' primary key, time first). Raises ``DatabaseError``."""
    with connect(Path(path)) as connection:
        rows = connection.execute(
            "SELECT s.at_ms, t.kind, t.name, t.address, s.ok, s.rtt_us, s.sent, s.received, "
            "e.text FROM sample s JOIN target t ON t.id = s.target_id "
            "LEFT JOIN probe_error e ON e.id = s.error_id "
            "WHERE s.at_ms BETWEEN ? AND ? AND t.link_id = ? ORDER BY s.at_ms, t.kind, t.name",
            (to_ms(start), to_ms(end), link_id),
        ).fetchall()
    return [RawSample(from_ms(at_ms), kind, name, address, bool(ok),
                      None if rtt_us is None else rtt_us / 1000, sent, received, error)
            for at_ms, kind, name, address, ok, rtt_us, sent, received, error in rows]
