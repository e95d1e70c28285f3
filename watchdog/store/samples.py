"""Probe results into compact sample rows, and each target's last result.

Targets and error texts are stored once and referred to by small integer ids, remembered here
between cycles so a cycle costs one multi-row insert and one update per target.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlmodel import col

from watchdog.clock import to_ms
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.store.models import ProbeError, Sample, Target

_SAMPLE_COLUMNS = ("at_ms", "target_id", "rtt_us", "sent", "received", "ok", "error_id")
# Raw DBAPI executemany: the bulk of all writes. OR IGNORE: a repeated (time, target), after
# a clock step, must not abort the cycle's transaction (its transitions matter more).
_INSERT_SAMPLES = (
    f"INSERT OR IGNORE INTO {Sample.__tablename__} ({', '.join(_SAMPLE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _SAMPLE_COLUMNS)})"
)
_UPDATE_LAST = (
    update(Target)
    .where(col(Target.id) == bindparam("target_id"))
    .values(
        last_at=bindparam("at"),
        last_ok=bindparam("ok"),
        last_rtt_ms=bindparam("rtt_ms"),
        last_error=bindparam("error"),
    )
)


class SampleWriter:
    """Writes samples and last results, caching target and error ids.

    Call ``forget`` after a rollback: the cached ids may be gone.
    """

    def __init__(self) -> None:
        # (link id, kind, name) → (target id, address)
        self._targets: dict[tuple[int, str, str], tuple[int, str]] = {}
        self._errors: dict[str, int] = {}

    def forget(self) -> None:
        """Drop cached ids: a rolled-back transaction may have created some of them."""
        self._targets.clear()
        self._errors.clear()

    def write(self, connection: Connection, link: int, cycles: Iterable[CycleResult]) -> None:
        """Insert every result of ``cycles`` (probed on the link whose id is ``link``) as a
        sample and update each target's last result."""
        rows: list[tuple[Any, ...]] = []
        latest: dict[int, ProbeResult] = {}
        targets = self._targets
        errors = self._errors
        at_ms = 0
        last_at = None
        for cycle in cycles:
            for result in cycle.results:
                # The hot loop of bulk writes: cached ids and one to_ms per distinct time.
                known_target = targets.get((link, result.kind, result.target))
                if known_target is not None and known_target[1] == result.address:
                    target_id = known_target[0]
                else:
                    target_id = self._target_id(connection, link, result)
                if result.at is not last_at:
                    last_at = result.at
                    at_ms = to_ms(last_at)
                rtt = result.rtt_ms
                error = result.error
                error_id = None
                if error is not None:
                    error_id = errors.get(error) or self._error_id(connection, error)
                rows.append((
                    at_ms,
                    target_id,
                    None if rtt is None else round(rtt * 1000),
                    result.sent,
                    result.received,
                    result.ok,
                    error_id,
                ))
                known = latest.get(target_id)
                if known is None or result.at >= known.at:
                    latest[target_id] = result
        if rows:
            connection.exec_driver_sql(_INSERT_SAMPLES, rows)
        if latest:
            connection.execute(
                _UPDATE_LAST,
                [
                    {"target_id": target_id, "at": result.at, "ok": result.ok,
                     "rtt_ms": result.rtt_ms, "error": result.error}
                    for target_id, result in latest.items()
                ],
            )

    def _target_id(self, connection: Connection, link: int, result: ProbeResult) -> int:
        key = (link, result.kind, result.target)
        known = self._targets.get(key)
        if known is not None and known[1] == result.address:
            return known[0]
        row = connection.execute(
            select(col(Target.id), col(Target.address)).where(
                col(Target.link_id) == link, col(Target.kind) == result.kind,
                col(Target.name) == result.target,
            )
        ).first()
        if row is None:
            target_id = cast(int, connection.execute(
                insert(Target)
                .values(link_id=link, kind=result.kind, name=result.target,
                        address=result.address)
                .returning(col(Target.id))
            ).scalar_one())
        else:
            target_id = cast(int, row[0])
            if row[1] != result.address:
                # The gateway's address is read from the default route: it may change.
                connection.execute(
                    update(Target)
                    .where(col(Target.id) == target_id)
                    .values(address=result.address)
                )
        self._targets[key] = (target_id, result.address)
        return target_id

    def _error_id(self, connection: Connection, text: str) -> int:
        known = self._errors.get(text)
        if known is not None:
            return known
        found = connection.execute(
            select(col(ProbeError.id)).where(col(ProbeError.text) == text)
        ).scalar()
        if found is None:
            found = connection.execute(
                insert(ProbeError).values(text=text).returning(col(ProbeError.id))
            ).scalar_one()
        error_id = cast(int, found)
        self._errors[text] = error_id
        return error_id
