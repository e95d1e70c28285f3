"""The escalation schedule: which reminder steps are due. Pure.

Steps are offsets from the outage's start: ``"gtr"`` (the contract's guaranteed time to
repair), then durations such as ``"24h"`` and ``"72h"``; after the last one a reminder is
due every ``repeat_every`` until the repair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchdog.config.durations import format_duration, parse_duration

# Never enumerate more than this many steps (a clock gone mad must not hang the daemon).
MAX_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class Step:
    """An escalation step: ``number`` counts from 1; ``label`` is "gtr" or like "24h"."""

    number: int
    label: str
    offset: timedelta
    due_at: datetime
    is_gtr: bool


def offsets(escalation: Sequence[str], gtr: timedelta) -> list[tuple[str, timedelta]]:
    """The configured steps as (label, offset), in time order; duplicates kept once."""
    seen: dict[timedelta, str] = {}
    for step in escalation:
        offset = gtr if step == "gtr" else parse_duration(step)
        seen.setdefault(offset, step)
    return sorted(((label, offset) for offset, label in seen.items()), key=lambda s: s[1])


def due_steps(
    started_at: datetime,
    now: datetime,
    escalation: Sequence[str],
    gtr: timedelta,
    repeat_every: timedelta,
    done: int,
) -> list[Step]:
    """Steps after the first ``done`` whose time has come by ``now``, in order."""
    listed = offsets(escalation, gtr)
    due: list[Step] = []
    number = 0
    last = timedelta(0)
    for label, offset in listed:
        number += 1
        last = offset
        if number > done and started_at + offset <= now:
            due.append(Step(number, label, offset, started_at + offset, label == "gtr"))
    if repeat_every > timedelta(0):
        offset = last + repeat_every
        while started_at + offset <= now and number < MAX_STEPS:
            number += 1
            if number > done:
                label = f"+{format_duration(offset)}"
                due.append(Step(number, label, offset, started_at + offset, False))
            offset += repeat_every
    return due
