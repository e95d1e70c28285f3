"""Probe results as evidence: the latest samples of a time range, with their targets and errors.

The incident code quotes them in its messages (the table of recent results in a ticket), so a
helpdesk sees what the watchdog saw. Read inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlmodel import Session

from watchdog.clock import from_ms, to_ms
from watchdog.vocabulary import ProbeKind

# Newest first, so LIMIT keeps the latest; the caller gets them oldest first.
_LATEST_SAMPLES = text(
    "SELECT s.at_ms, t.name, t.kind, t.address, s.ok, s.rtt_us, e.text "
    "FROM sample s JOIN target t ON t.id = s.target_id "
    "LEFT JOIN probe_error e ON e.id = s.error_id "
    "WHERE s.at_ms BETWEEN :start AND :end AND t.link_id = :link AND t.kind IN :kinds "
    "ORDER BY s.at_ms DESC, t.kind, t.name LIMIT :limit"
).bindparams(bindparam("kinds", expanding=True))


@dataclass(frozen=True, slots=True)
class SampleEvidence:
    """One probe result: when, which target, whether it answered, how fast, or why not."""

    at: datetime
    target: str
    kind: str
    address: str
    ok: bool
    rtt_ms: float | None
    error: str | None


def latest_samples(
    session: Session,
    link: int,
    since: datetime,
    until: datetime,
    kinds: Collection[ProbeKind],
    limit: int,
) -> list[SampleEvidence]:
    """The latest ``limit`` results of the link's targets of ``kinds`` probed in [``since``,
    ``until``], oldest first (the order of the newest-first query, reversed)."""
    rows = session.connection().execute(
        _LATEST_SAMPLES,
        {"start": to_ms(since), "end": to_ms(until), "link": link, "kinds": list(kinds),
         "limit": limit},
    ).all()
    return [
        SampleEvidence(at=from_ms(at_ms), target=name, kind=kind, address=address,
                       ok=bool(ok), rtt_ms=None if rtt_us is None else rtt_us / 1000,
                       error=error)
        for at_ms, name, kind, address, ok, rtt_us, error in reversed(rows)
    ]
