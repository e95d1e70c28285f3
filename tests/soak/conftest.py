"""What the short suites' tests share: ``python -m soak --short`` run on some suites at once
(each a child process, side by side), and a suite's missed targets in words. The lab suites
need root (``require``: they skip without it, or fail under .ci/run)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from soak.figures import SuiteResult
from testbed import REPO

# A short run must end within this (the lab suites at once take about a minute).
SHORT_RUN_TIMEOUT = 600


def run_short(suites: Sequence[str], directory: Path) -> dict[str, Any]:
    """The results document of ``python -m soak --short --only SUITES`` run in
    ``directory`` (its logs there too), with what it printed under ``"output"``."""
    out = directory / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "soak", "--short", "--only", ",".join(suites), "--out",
         str(out), "--run-dir", str(directory / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=SHORT_RUN_TIMEOUT, check=False)
    if not out.exists():
        pytest.fail(f"python -m soak --short wrote no results (exit {done.returncode}):\n"
                    f"{done.stdout[-5000:]}\n{done.stderr[-5000:]}", pytrace=False)
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    document["output"] = done.stdout
    return document


def suite_result(run: Mapping[str, Any], name: str) -> SuiteResult:
    """Suite ``name``'s result from a short run (the test fails if the suite did not end)."""
    if name not in run["suites"]:
        why = run["failed"].get(name, "it did not run")
        pytest.fail(f"the {name} suite failed: {why}\n{run['output'][-5000:]}", pytrace=False)
    return SuiteResult.from_json(run["suites"][name])


def missed_targets(result: SuiteResult) -> list[str]:
    """Each missed figure of ``result`` in words, with the suite's details."""
    print(result.table())
    missed = result.missed
    if not missed:
        return []
    details = json.dumps(result.details, indent=1, default=str, ensure_ascii=False)
    return [f"{result.suite}: missed "
            + "; ".join(f"{f.name} = {f.shown} (target {f.target})" for f in missed)
            + f"\n{result.table()}\n{details[:20000]}"]
