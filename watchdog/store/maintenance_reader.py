"""The maintenance windows declared from the command line, read with stdlib ``sqlite3`` only.

For ``watchdog maintenance list``, ``watchdog status``, the report, and the daemon (which
reads them again only when another process wrote to the database: ``Store.outside_writes``).
The config's windows are not in the database: ``link.maintenance_windows.config_windows``
gives them, and ``declared_windows`` here gives the database's as the same values.

Raises ``DatabaseError`` as ``store.reader`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from watchdog.link.maintenance_windows import OneOffWindow
from watchdog.store.reader import connect
from watchdog.store.timetext import from_text, to_text

WINDOWS_QUERY = (
    "SELECT id, link, starts_at, ends_at, reason, created_at, created_by, removed_at "
    "FROM maintenance_window"
)


@dataclass(frozen=True, slots=True)
class StoredWindow:
    """A window as ``maintenance add`` stored it, and who removed it when (``removed_at``)."""

    id: int
    link: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime
    created_by: str
    removed_at: datetime | None

    @property
    def declared(self) -> OneOffWindow:
        """The window as it was declared (its removal aside)."""
        return OneOffWindow(self.starts_at, self.ends_at, reason=self.reason, link=self.link,
                            source="cli", key=str(self.id))

    @property
    def effective(self) -> OneOffWindow | None:
        """The time the window covers: cut at its removal; None when removed before it began."""
        ends_at = self.ends_at if self.removed_at is None else min(self.ends_at, self.removed_at)
        if ends_at <= self.starts_at:
            return None
        return replace(self.declared, ends_at=ends_at)


def read_windows(path: Path, *, ending_after: datetime | None = None) -> list[StoredWindow]:
    """The stored windows whose declared end is after ``ending_after`` (every one when None),
    by start time. Raises ``DatabaseError``."""
    query = WINDOWS_QUERY
    parameters: tuple[str, ...] = ()
    if ending_after is not None:
        query, parameters = f"{query} WHERE ends_at > ?", (to_text(ending_after),)
    with connect(Path(path)) as connection:
        rows = connection.execute(f"{query} ORDER BY starts_at, id", parameters).fetchall()
    return [
        StoredWindow(id=row[0], link=row[1], starts_at=from_text(row[2]),
                     ends_at=from_text(row[3]), reason=row[4], created_at=from_text(row[5]),
                     created_by=row[6], removed_at=None if row[7] is None else from_text(row[7]))
        for row in rows
    ]


def declared_windows(path: Path, *, ending_after: datetime) -> list[OneOffWindow]:
    """The time the stored windows cover after ``ending_after`` (removals applied), as the
    values ``link.maintenance_windows`` works on. Raises ``DatabaseError``."""
    windows = (stored.effective for stored in read_windows(path, ending_after=ending_after))
    return [window for window in windows
            if window is not None and window.ends_at > ending_after]
