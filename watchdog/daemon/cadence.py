"""When to probe next, and which checks are due. Pure: time comes in as arguments.

Pings are the heartbeat (every ``ping_interval``); DNS and HTTP run every ``check_interval``.
While the tracker suspects a change, the next cycle comes after ``retry_interval`` and
includes the kinds needed to confirm or dismiss it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Cadence:
    ping_interval: timedelta
    retry_interval: timedelta
    check_interval: timedelta

    @classmethod
    def from_config(cls, config: Any) -> Cadence:
        schedule = config.schedule
        return cls(schedule.ping_interval, schedule.retry_interval, schedule.check_interval)

    def next_cycle_at(
        self, started_at: datetime, finished_at: datetime, *, suspect: bool
    ) -> datetime:
        """Start of the next cycle: one interval after this one started, never before it ended.

        A clock that stepped backwards during the cycle (finished before it started) does not
        stall the daemon: the next cycle is then one interval after the end.
        """
        step = self.retry_interval if suspect else self.ping_interval
        if finished_at < started_at:
            return finished_at + step
        return max(started_at + step, finished_at)

    def check_due(
        self, kind: str, now: datetime, last_run: datetime | None, retry_kinds: Collection[str]
    ) -> bool:
        """Whether DNS or HTTP (``kind``) runs in the cycle starting ``now``.

        Due when never run, when ``check_interval`` has passed (minus half a ping interval,
        so a check never slips a whole cycle late), when the clock went backwards since the
        last run, or when the tracker needs it to confirm a suspected change.
        """
        if kind in retry_kinds or last_run is None or now < last_run:
            return True
        return now - last_run >= self.check_interval - self.ping_interval / 2
