"""``watchdog evidence REF -o DIR``: the raw results around an outage, with the report."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import time_machine

from tests.report.conftest import moment
from watchdog.cli import main
from watchdog.errors import EX_USAGE


def test_the_raw_results_around_start_and_end_come_with_the_report_and_checksums(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "claim"
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["evidence", "wd-2026-0001", "-o", str(out), "--config", str(site)]) == 0
    assert "4 files for WD-2026-0001 (1 outage(s), 10 min around each start and end)" in (
        capsys.readouterr().out)
    names = sorted(path.name for path in out.iterdir())
    assert names == ["SHA256SUMS", "WD-2026-0001-end.csv", "WD-2026-0001-report.html",
                     "WD-2026-0001-report.json", "WD-2026-0001-start.csv"]
    start = list(csv.DictReader((out / "WD-2026-0001-start.csv").open()))
    # The cycles at 10:00 and 10:03 UTC (11:00, 11:03 in Paris): the gateway and three targets.
    assert [row["at"] for row in start][::4] == ["2026-11-03T11:00:00.000+01:00",
                                                 "2026-11-03T11:03:00.000+01:00"]
    assert {(row["kind"], row["ok"]) for row in start} == {("gateway", "1"), ("ping", "0")}
    assert start[1]["error"] == "timeout" and start[1]["at_utc"].endswith("+00:00")
    end = list(csv.DictReader((out / "WD-2026-0001-end.csv").open()))
    assert {row["at"] for row in end} == {"2026-11-03T17:00:00.000+01:00"}
    assert all(row["ok"] == "1" for row in end)
    report = json.loads((out / "WD-2026-0001-report.json").read_text())
    assert report["period"]["label"] == "2026-11-03 – 2026-11-03"
    assert [o["ticket"] for o in report["outages"]] == ["WD-2026-0001"]
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_an_unknown_ticket_is_one_sentence(site: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "WD-1999-0001", "-o", str(tmp_path / "x"),
                 "--config", str(site)]) == EX_USAGE
    assert "no ticket WD-1999-0001" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
