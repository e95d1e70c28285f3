"""The daemon row: who runs, since when, the last cycle, and whether it stopped cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from watchdog.store.models import Daemon

DAEMON_ID = 1


def previous(session: Session) -> Daemon | None:
    """The heartbeat as the last run left it; None for a database that never ran."""
    return session.get(Daemon, DAEMON_ID)


def start(session: Session, now: datetime, ping_interval: timedelta, pid: int) -> None:
    """Record a daemon start at ``now``: the heartbeat is fresh and not a clean shutdown."""
    daemon = session.get(Daemon, DAEMON_ID)
    if daemon is None:
        daemon = Daemon(
            id=DAEMON_ID, started_at=now, last_cycle_at=now, pid=pid,
            ping_interval_s=ping_interval.total_seconds(),
        )
    daemon.started_at = now
    daemon.last_cycle_at = now
    daemon.pid = pid
    daemon.ping_interval_s = ping_interval.total_seconds()
    daemon.clean_shutdown = False
    session.add(daemon)


def beat(session: Session, now: datetime) -> None:
    """The daemon completed a cycle at ``now``."""
    daemon = session.get(Daemon, DAEMON_ID)
    if daemon is not None:
        daemon.last_cycle_at = now
        session.add(daemon)


def stop(session: Session, now: datetime) -> None:
    """The daemon stops cleanly at ``now``."""
    daemon = session.get(Daemon, DAEMON_ID)
    if daemon is not None:
        daemon.last_cycle_at = now
        daemon.clean_shutdown = True
        session.add(daemon)
