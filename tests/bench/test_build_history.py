"""The history generator writes realistic, consistent history through the real store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bench.build_history import DEFAULT_START, build, main
from watchdog.store.invariants import timeline_problems
from watchdog.store.reader import read_outages, read_status


def _count(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_the_generator_writes_days_of_history_with_outages_blips_gaps_and_rollups(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    build(path, 2, seed=7)
    assert timeline_problems(path) == []
    # 2 days of 4 pings every 2 s plus 4 checks every 30 s, less the two daemon gaps.
    full = 2 * 43200 * 4 + 2 * 2880 * 4
    assert 0.97 * full < _count(path, "sample") < full
    assert 0.97 * 2 * 1440 * 8 < _count(path, "sample_minute") < 2 * 1440 * 8
    assert 0.9 * 2 * 24 * 8 < _count(path, "sample_hour") <= 2 * 24 * 8
    assert _count(path, "blip") >= 1
    outages = read_outages(path, None)
    assert outages and all(outage.ended_at is not None for outage in outages)
    with closing(sqlite3.connect(path)) as connection:
        unknown = connection.execute(
            "SELECT cause FROM state_interval WHERE state = 'unknown'").fetchall()
    assert len(unknown) == 2  # the crash and the clean restart
    status = read_status(path, DEFAULT_START + timedelta(days=2))
    assert status.windows[0].uptime_percent is not None
    assert status.windows[0].uptime_percent > 90


def test_the_command_line_builds_a_database_and_reports_its_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "one-day.db"
    assert main(["--days", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "MB" in printed and "read_status" in printed
    assert timeline_problems(out) == []


def test_the_command_line_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "exists.db"
    out.write_text("keep me")
    with pytest.raises(SystemExit):
        main(["--days", "1", "--out", str(out)])
    assert out.read_text() == "keep me"
