"""Shared builders for the storage tests: times, cycles, transitions, raw SQL peeks."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watchdog.link.states import Transition
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.vocabulary import LinkState, OutageKind

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=2)
# The id the first link gets in a new database (the default link's, as the migration gives
# an existing database's history).
LINK_ID = 1
TARGETS = (("cloudflare", "203.0.113.1"), ("google", "203.0.113.2"), ("quad9", "203.0.113.3"))
UNPRIVILEGED = 65534  # nobody / nogroup


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def cycle(
    when: datetime,
    *,
    ok: bool = True,
    rtt_ms: float | None = 20.0,
    received: int = 2,
    gateway: str = "192.168.1.1",
) -> CycleResult:
    """A ping cycle: the gateway and three targets, all answering (or, ``ok=False``, none)."""
    results = [ProbeResult("gateway", "gateway", gateway, True, when, 1.0, 2, 2)]
    for name, address in TARGETS:
        if ok:
            results.append(ProbeResult("ping", name, address, True, when, rtt_ms, 2, received))
        else:
            results.append(ProbeResult("ping", name, address, False, when, None, 2, 0, "timeout"))
    return CycleResult(when, when + timedelta(milliseconds=500), frozenset({"ping", "gateway"}),
                       tuple(results))


def transition(
    state: LinkState, when: datetime, kind: OutageKind | None = None, cause: str = "",
    *, after: datetime | None = None, by: datetime | None = None,
) -> Transition:
    """A confirmed transition into ``state`` at ``when``, bracketed by ``after`` and ``by``."""
    return Transition(state, when, cause or f"test: {state}", kind, {"test": True}, after, by)


def rows(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` read-only on the database at ``path``."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return connection.execute(sql, parameters).fetchall()


def intervals(path: Path) -> list[tuple[str, str, str | None]]:
    """(state, started_at, ended_at) of every interval, in order."""
    return [(state, start, end) for state, start, end in rows(
        path, "SELECT state, started_at, ended_at FROM state_interval ORDER BY started_at, id")]


def outages(path: Path) -> list[tuple[Any, ...]]:
    """(kind, started_at, ended_at, unobserved_seconds, end_observed) of every outage."""
    return rows(path, "SELECT kind, started_at, ended_at, unobserved_seconds, end_observed "
                      "FROM outage ORDER BY started_at, id")


def text(moment: datetime) -> str:
    """How the database stores ``moment``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def run_unprivileged(code: str, preload: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python child that cannot bypass file permissions.

    As root the child imports what it needs first (``preload`` adds imports), then drops to
    nobody/nogroup (the venv's interpreter lives where nobody may not look). ``code`` can use
    ``reader``, ``DatabaseError``, ``Path``, ``datetime`` and ``UTC``.
    """
    prelude = textwrap.dedent(f"""
        import grp, json, os, sys
        from datetime import datetime, UTC
        from pathlib import Path
        import watchdog.store.reader as reader
        from watchdog.errors import DatabaseError
        {preload}
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid({UNPRIVILEGED})
            os.setuid({UNPRIVILEGED})
    """)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def migrate_to(path: Path, revision: str) -> None:
    """Bring the database at ``path`` to the schema ``revision`` (down or up) with Alembic."""
    from alembic import command

    import watchdog.store.db as db_module
    from watchdog.store import migrate

    engine = db_module.create_store_engine(path)
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if revision < migrate.HEAD_REVISION:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
    engine.dispose()
