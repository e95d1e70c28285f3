"""Event times as the database holds them: UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``.

SQLModel's ``UTCDateTime`` writes this format; the stdlib-only reader and raw SQL compare and
parse it through these two functions (text order is time order, so indexes work on it).
"""

from __future__ import annotations

from datetime import UTC, datetime

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def to_text(moment: datetime) -> str:
    """Aware ``moment`` as stored text; raise ``ValueError`` for a naive datetime."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware UTC datetime")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def from_text(text: str) -> datetime:
    """Stored text back to an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
