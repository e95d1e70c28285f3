"""Check a database's timeline: what must always hold, as a list of problems (empty: all good).

Per link: intervals are contiguous (each ends where the next starts), never overlap, never end
before they start, and at most one (the latest) is open; outages never overlap, never end
before they start, and at most one (the latest) is open. Blips never end before they start.
Standard library only, so tests, the bench and a future ``watchdog check-db`` can all use it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from itertools import pairwise
from pathlib import Path


def _timeline_problems(rows: list[tuple[int, str, str | None]], what: str) -> list[str]:
    problems = []
    open_rows = [row for row in rows if row[2] is None]
    if len(open_rows) > 1:
        problems.append(f"{len(open_rows)} {what}s are open: {[row[0] for row in open_rows]}")
    for row_id, started, ended in rows:
        if ended is not None and ended < started:
            problems.append(f"{what} {row_id} ends ({ended}) before it starts ({started})")
    for (first_id, _, first_end), (second_id, second_start, _) in pairwise(rows):
        if first_end is None:
            problems.append(f"{what} {first_id} is open but {what} {second_id} follows it")
        elif what == "interval" and first_end != second_start:
            problems.append(
                f"interval {first_id} ends at {first_end} but interval {second_id} starts at "
                f"{second_start}: not contiguous"
            )
        elif first_end > second_start:
            problems.append(f"{what} {first_id} overlaps {what} {second_id}")
    return problems


def timeline_problems(path: Path) -> list[str]:
    """Every broken invariant in the database at ``path`` (read-only); [] when all hold."""
    problems: list[str] = []
    with closing(sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)) as db:
        for (link,) in db.execute("SELECT id FROM link ORDER BY id").fetchall():
            for table, what in (("state_interval", "interval"), ("outage", "outage")):
                rows = db.execute(
                    f"SELECT id, started_at, ended_at FROM {table} WHERE link_id = ? "
                    "ORDER BY started_at, id", (link,)
                ).fetchall()
                problems += _timeline_problems(rows, what)
        blips = db.execute(
            "SELECT id FROM blip WHERE ended_at < started_at"
        ).fetchall()
    problems += [f"blip {row[0]} ends before it starts" for row in blips]
    return problems
