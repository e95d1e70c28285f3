"""The suites: what each is, how long its long size takes, which lane runs it in ``make soak``.

``make soak`` runs the lanes side by side (each suite a child process, each lab suite in a
lab of its own; the daemons sleep between cycles, so they barely compete for the two cores)
and the suites of a lane one after the other. At the short sizes (what ``make test`` runs,
each under a minute and mostly waiting) every suite is a lane of its own, so they all run at
once. The estimates are this machine's; ``python -m soak --plan`` prints them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from soak.figures import Size, SuiteResult

# ``make soak`` must end within this (the limit).
BUDGET_S = 30 * 60.0


@dataclass(frozen=True, slots=True)
class Suite:
    """One suite: its module (with ``run(size, work) -> SuiteResult``), its lane, its
    estimated long and short durations, whether it needs the namespace lab (root)."""

    name: str
    title: str
    lane: str
    long_s: float
    short_s: float
    lab: bool = True

    def runner(self) -> Callable[[Size, Path], SuiteResult]:
        module = importlib.import_module(f"soak.{self.name}")
        run: Callable[[Size, Path], SuiteResult] = module.run
        return run


SUITES: tuple[Suite, ...] = (
    Suite("receivers", "dead receivers through an outage and 10 min beyond", "a", 780, 50),
    Suite("disk", "the database on a full and on a read-only file system", "a", 200, 40),
    Suite("loss", "30 % loss each way for 10 min, one resolver and two", "b", 720, 60),
    Suite("crash", "SIGKILLs across outages' lives", "c", 540, 45),
    Suite("hostile", "hostile HTTP, DNS and ICMP peers", "c", 330, 30),
    Suite("bad_input", "mutated configs, bad command lines, bad databases", "d", 150, 40,
          lab=False),
)
SUITE_BY_NAME = {suite.name: suite for suite in SUITES}


def lanes(chosen: list[Suite], size: Size) -> dict[str, list[Suite]]:
    """The chosen suites by lane, in the order listed (short: one lane per suite)."""
    grouped: dict[str, list[Suite]] = {}
    for suite in chosen:
        grouped.setdefault(suite.lane if size == "long" else suite.name, []).append(suite)
    return grouped


def estimate(chosen: list[Suite], size: Size) -> float:
    """Seconds for the chosen suites run lane by lane side by side: the longest lane."""
    return max((sum(s.long_s if size == "long" else s.short_s for s in group)
                for group in lanes(chosen, size).values()), default=0.0)
