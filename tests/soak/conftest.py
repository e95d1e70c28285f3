"""The short suites (what ``make test`` runs of soak/): ``python -m soak --short`` once per
session, every suite at once (under a minute and a half instead of 4.5 one after the other);
each test then judges one suite's figures. The lab suites need root (``require``: they skip without
it, or fail under .ci/run)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from soak.figures import SuiteResult
from soak.suites import SUITES
from testbed import REPO
from testbed.lab import lab_available
from tests.environment import require

# The whole short run must end within this (it takes about a minute).
SHORT_RUN_TIMEOUT = 600


@pytest.fixture(scope="session")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The short run's results document (suites that need the lab left out without root)."""
    directory = tmp_path_factory.mktemp("soak")
    chosen = [suite.name for suite in SUITES if not suite.lab or lab_available() is None]
    out = directory / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "soak", "--short", "--only", ",".join(chosen), "--out",
         str(out), "--run-dir", str(directory / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=SHORT_RUN_TIMEOUT, check=False)
    if not out.exists():
        pytest.fail(f"python -m soak --short wrote no results (exit {done.returncode}):\n"
                    f"{done.stdout[-5000:]}\n{done.stderr[-5000:]}", pytrace=False)
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    document["output"] = done.stdout
    return document


def suite_result(run: Mapping[str, Any], name: str) -> SuiteResult:
    """Suite ``name``'s result from the short run (its lab required first)."""
    suite = next(suite for suite in SUITES if suite.name == name)
    if suite.lab:
        require(lab_available())
    if name not in run["suites"]:
        why = run["failed"].get(name, "it did not run")
        pytest.fail(f"the {name} suite failed: {why}\n{run['output'][-5000:]}", pytrace=False)
    return SuiteResult.from_json(run["suites"][name])


def assert_targets_met(result: SuiteResult, pending: Mapping[str, str] | None = None) -> None:
    """Fail, naming every missed figure and the suite's details, unless each missed one is
    in ``pending`` (figure name → why it cannot be met yet: the work that will meet it)."""
    print(result.table())
    allowed = pending or {}
    missed = [figure for figure in result.missed if figure.name not in allowed]
    details = json.dumps(result.details, indent=1, default=str, ensure_ascii=False)
    assert not missed, (
        "missed: " + "; ".join(f"{f.name} = {f.shown} (target {f.target})" for f in missed)
        + f"\n{result.table()}\n{details[:20000]}")
