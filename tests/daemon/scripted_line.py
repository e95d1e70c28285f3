"""A fake clock and a scripted line for the daemon's tests in virtual time.

The real monitor, tracker and store run on ``Line.now``; only the probes are scripted: the
gateway answers, and the internet targets fail while one of ``Line.cuts`` holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from watchdog.daemon import monitor as monitor_module
from watchdog.probes.cycle import CyclePlan
from watchdog.probes.results import CycleResult, ProbeResult


class Line:
    """The fake clock and the scripted line: its pings fail during the ``cuts``."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.cuts: list[tuple[datetime, datetime]] = []

    def now(self) -> datetime:
        return self.moment

    def probe(self, plan: CyclePlan) -> CycleResult:
        at = self.moment
        down = any(start <= at < end for start, end in self.cuts)
        results = [ProbeResult("gateway", "gateway", "192.0.2.1", True, at, 0.4, 2, 2)]
        for target in plan.pings:
            results.append(ProbeResult("ping", target.name, target.address, not down, at,
                                       None if down else 12.0, 2, 0 if down else 2,
                                       "timeout" if down else None))
        return CycleResult(at, at + timedelta(milliseconds=50), frozenset({"ping", "gateway"}),
                           tuple(results))


def scripted_line(monkeypatch: pytest.MonkeyPatch, start: datetime) -> Line:
    """A ``Line`` from ``start`` whose probes every ``LinkMonitor`` runs instead of real ones."""
    line = Line(start)
    monkeypatch.setattr(monitor_module, "run_cycle", line.probe)
    return line
