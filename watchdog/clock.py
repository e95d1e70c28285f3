"""The one clock. Every record and every decision reads time from here.

Pure code never calls this: it takes ``now`` as an argument. Tests travel in time with
time-machine, which patches what these functions see.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def monotonic() -> float:
    """Seconds from an arbitrary origin that never goes backwards (for timeouts, not records)."""
    return time.monotonic()


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (compact storage of samples)."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC)
