"""The escalation schedule: which reminder steps are due. Pure.

Steps are durations from the outage's start, such as ``"24h"`` and ``"72h"``, and ``"gtr"``:
the moment the contract's guaranteed time to repair runs out, which the caller computes
(``contract.gtr.gtr_due``: counted 24/7 or in business hours, from the outage's start or the
ticket's). Steps are taken in time order, so a business-hours GTR may fall after the 24 h step;
after the last one a reminder is due every ``repeat_every`` until the repair.
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


def scheduled(
    started_at: datetime, escalation: Sequence[str], gtr_due_at: datetime | None
) -> list[tuple[str, datetime]]:
    """The configured steps as (label, due time), in time order; steps due at the same time
    kept once. ``gtr_due_at`` None (the GTR clock has not started) leaves "gtr" out."""
    seen: dict[datetime, str] = {}
    for step in escalation:
        if step == "gtr":
            if gtr_due_at is not None:
                seen.setdefault(gtr_due_at, step)
        else:
            seen.setdefault(started_at + parse_duration(step), step)
    return sorted(((label, due_at) for due_at, label in seen.items()), key=lambda s: s[1])


def due_steps(
    started_at: datetime,
    now: datetime,
    escalation: Sequence[str],
    gtr_due_at: datetime | None,
    repeat_every: timedelta,
    done: int,
) -> list[Step]:
    """Steps after the first ``done`` whose time has come by ``now``, in order.

    ``gtr_due_at`` is when the GTR runs out (None: its clock has not started yet).
    """
    due: list[Step] = []
    number = 0
    last = started_at
    for label, due_at in scheduled(started_at, escalation, gtr_due_at):
        number += 1
        last = due_at
        if number > done and due_at <= now:
            due.append(Step(number, label, due_at - started_at, due_at, label == "gtr"))
    if repeat_every > timedelta(0):
        due_at = last + repeat_every
        while due_at <= now and number < MAX_STEPS:
            number += 1
            if number > done:
                offset = due_at - started_at
                label = f"+{format_duration(offset)}"
                due.append(Step(number, label, offset, due_at, False))
            due_at += repeat_every
    return due
