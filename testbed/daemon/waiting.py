"""Waiting on what the daemon records: re-read until a check says yes, or say what was seen.

``poll_until`` re-reads every ``POLL_INTERVAL`` until a check returns something, and says what
it waited for, what it last saw and (through ``describe``) what the daemon printed when the
deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from watchdog.errors import DatabaseError

# How often a wait re-reads the database (a read costs ~1 ms).
POLL_INTERVAL = 0.05

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A wait on the database passed its deadline; the message says what was expected and seen."""


@dataclass(frozen=True, slots=True)
class Seen(Generic[T]):
    """What a wait found, and the wall-clock instant (aware UTC) right after the read saw it."""

    value: T
    at: datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = POLL_INTERVAL,
    guard: Callable[[], None] | None = None,
    describe: Callable[[], str] | None = None,
) -> Seen[T]:
    """Call ``check`` every ``interval`` s until it returns something other than None (or
    False); return it with the instant right after that call.

    A ``DatabaseError`` (the file not created yet, the tables not migrated yet) counts as
    "not yet". ``guard`` runs between reads and may raise to give up early (the daemon died).
    At the deadline ``WaitTimeout`` names ``what``, the last database error and ``describe()``
    (what the database holds, what the daemon printed).
    """
    deadline = time.monotonic() + timeout
    last_error: str | None = None
    while True:
        try:
            value = check()
        except DatabaseError as error:
            value, last_error = None, str(error)
        if value is not None and value is not False:
            return Seen(value, utcnow())
        if guard is not None:
            guard()
        if time.monotonic() >= deadline:
            lines = [f"timed out after {timeout:.1f} s waiting for {what}"]
            if last_error:
                lines.append(f"last database error: {last_error}")
            if describe is not None:
                lines.append(describe())
            raise WaitTimeout("\n".join(lines))
        time.sleep(interval)
