"""Declaring and removing a maintenance window from the command line (``watchdog maintenance``).

Each runs inside the caller's write transaction (``Store.write()``, ``BEGIN IMMEDIATE``), under
the same rules as the daemon's own writes. The daemon sees the change at its next cycle
(``Store.outside_writes``) and honours the window from then: a window never rewrites time the
daemon has already recorded, so one that ended before now is refused, and a removed window
stays on the record (``removed_at``), holding until its removal if it had begun.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from watchdog.errors import EX_USAGE, UserError
from watchdog.store.models import MaintenanceWindow


class WindowRefused(UserError):
    """A window that cannot be declared or removed (a bad argument): one sentence, the fix."""

    exit_code = EX_USAGE


def add_window(
    session: Session,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    link: str | None,
    now: datetime,
    by: str,
) -> MaintenanceWindow:
    """Store a window from ``starts_at`` to ``ends_at`` (aware) for ``link`` (None: every link),
    declared by ``by`` at ``now``; return it with its id.

    Raises ``WindowRefused`` for an end not after the start, an end already past (the daemon
    has recorded that time), or an empty reason.
    """
    if ends_at <= starts_at:
        raise WindowRefused("the window's end is not after its start; give --to after --from")
    if ends_at <= now:
        raise WindowRefused("the window is already over; the time it covers is recorded and "
                            "a window cannot change it, so give a --to in the future")
    if not reason.strip():
        raise WindowRefused("the reason is empty; say what the works are, for example "
                            "--reason \"fibre operator's planned works\"")
    window = MaintenanceWindow(link=link, starts_at=starts_at, ends_at=ends_at,
                               reason=reason.strip(), created_at=now, created_by=by)
    session.add(window)
    session.flush()
    return window


def remove_window(session: Session, window_id: int, now: datetime) -> MaintenanceWindow:
    """Remove the stored window ``window_id`` at ``now``: a future one never holds, one that
    has begun holds until ``now``. Raises ``WindowRefused`` for an unknown id, a window
    already removed, or one already over (it stays on the record)."""
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise WindowRefused(f"no maintenance window {window_id}; 'watchdog maintenance list "
                            "--all' lists them")
    if window.removed_at is not None:
        raise WindowRefused(f"maintenance window {window_id} was already removed")
    if window.ends_at <= now:
        raise WindowRefused(f"maintenance window {window_id} is over; past windows stay on the "
                            "record, as the time they covered does")
    window.removed_at = now
    session.add(window)
    return window
