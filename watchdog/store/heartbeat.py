"""Each link's row: its name, and its monitor's heartbeat (who runs it, since when, the last
cycle, whether it stopped cleanly, and whether the system clock was synchronised)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from watchdog.store.models import Link


def find(session: Session, name: str) -> Link | None:
    """The link called ``name`` as its monitor's last run left it; None for a link never
    watched."""
    return session.exec(select(Link).where(col(Link.name) == name)).first()


def start(session: Session, name: str, now: datetime, ping_interval: timedelta,
          pid: int, *, row: Link | None = None) -> int:
    """Record the start of the monitor of link ``name`` at ``now`` (fresh, not a clean
    shutdown) on its row (``row``: the history it continues, renamed ``name``, see
    ``take_over``), creating the row on its first start; return the link's id."""
    row = row or find(session, name)
    if row is None:
        row = Link(name=name, started_at=now, last_cycle_at=now, pid=pid,
                   ping_interval_s=ping_interval.total_seconds())
    row.started_at = now
    row.last_cycle_at = now
    row.pid = pid
    row.ping_interval_s = ping_interval.total_seconds()
    row.clean_shutdown = False
    row.name = name
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def take_over(session: Session, name: str, links: Collection[str]) -> Link | None:
    """The history a primary link called ``name``, new to the database, continues.

    The site's first link (the lowest id: ``default`` in a database from before uplinks, or
    the primary under its former name) is the primary's history; the primary takes it over,
    unless that first link is one of ``links`` (the config's links, which keep their own).
    Returns that row (``start`` renames it), or None.
    """
    first = session.exec(select(Link).order_by(col(Link.id)).limit(1)).first()
    if first is None or first.name == name or first.name in links:
        return None
    return first


def beat(session: Session, link: int, now: datetime) -> None:
    """The link's monitor completed a cycle at ``now``."""
    row = _row(session, link)
    row.last_cycle_at = now
    session.add(row)


def clock(session: Session, link: int, now: datetime, synced: bool | None) -> None:
    """The link's monitor checked at ``now`` whether the system clock is synchronised
    (``synced``; None: the kernel could not tell). ``clock_status_since`` moves only when the
    answer changes, so it says since when the checks have agreed."""
    row = _row(session, link)
    if row.clock_checked_at is None or row.clock_synced != synced:
        row.clock_status_since = now
    row.clock_synced = synced
    row.clock_checked_at = now
    session.add(row)


def stop(session: Session, link: int, now: datetime) -> None:
    """The link's monitor stops cleanly at ``now``."""
    row = _row(session, link)
    row.last_cycle_at = now
    row.clean_shutdown = True
    session.add(row)


def _row(session: Session, link: int) -> Link:
    row = session.get(Link, link)
    if row is None:
        raise RuntimeError(f"no link with id {link}: call Store.resume() for it first")
    return row
