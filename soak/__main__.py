"""Run the robustness suites and print their figures: ``make soak`` (long sizes, ≤ 30 min).

    sudo .venv/bin/python -m soak [--short] [--only NAME,...] [--plan] [--out FILE]

Each suite runs as a child process (``--suite NAME``) in its own work directory, its output
in ``var/soak/runs/<stamp>/<suite>.log``; the lanes of ``soak/suites.py`` run side by side.
At the end: every suite's table, then the headline figures the issue asks for (kills
survived, duplicate tickets, messages lost or duplicated, configs tried, tracebacks seen,
secrets found), written with every figure and detail to ``soak/results/<UTC date>.json``
(``--short``: ``<date>-short.json``). Exit status: 0 when every suite ran and met its targets,
1 otherwise; 77 without root (the lab suites build network namespaces).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from soak.figures import Figure, Size, SuiteResult, at_least, at_most, format_table, info
from soak.suites import BUDGET_S, SUITE_BY_NAME, SUITES, Suite, estimate, lanes
from testbed import REPO

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RUNS_DIR = REPO / "var" / "soak" / "runs"
EX_NOPERM = 77
# A child suite that runs past its estimate by this factor (plus a margin) is stopped.
OVERRUN_FACTOR = 2.0
OVERRUN_MARGIN_S = 300.0

# The headline figures: (label, [(suite, figure name)] summed).
HEADLINE: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("kills survived", (("crash", "kills survived"),)),
    ("duplicate tickets", (("crash", "duplicate tickets"), ("receivers", "duplicate tickets"))),
    ("messages lost", (("crash", "messages lost"), ("receivers", "messages lost"),
                       ("disk", "messages lost"))),
    ("messages duplicated", (("crash", "messages duplicated"),
                             ("receivers", "messages duplicated"))),
    ("configs tried", (("bad_input", "configs tried"),)),
    ("tracebacks seen", (
        *((suite.name, "tracebacks") for suite in SUITES),
        ("bad_input", "config tracebacks"), ("bad_input", "config internal errors"),
        ("bad_input", "command tracebacks"), ("bad_input", "command internal errors"))),
    ("secrets found in outputs", (
        *((suite.name, "secrets in outputs") for suite in SUITES),
        ("bad_input", "secrets in config check's output"),
        ("bad_input", "secrets in command output"))),
)

# Counts that must reach a minimum at the long size; every other headline figure must be 0.
MINIMUMS = {"kills survived": 50, "configs tried": 200}


def headline(results: Sequence[SuiteResult]) -> list[Figure]:
    """The issue's figures summed over the suites that ran (a figure no suite measured is
    left out). Losses, duplicates, tracebacks and secrets must be 0; at the long size at
    least 50 kills survived and 200 configs tried."""
    by_suite = {result.suite: result for result in results}
    figures: list[Figure] = []
    for label, sources in HEADLINE:
        values: list[int | float] = []
        for suite, name in sources:
            with contextlib.suppress(KeyError):
                value = by_suite[suite].value(name)
                if isinstance(value, (int, float)):
                    values.append(value)
        if not values:
            continue
        total = sum(values)
        minimum = MINIMUMS.get(label)
        if minimum is None:
            figures.append(at_most(label, total))
        elif all(result.size == "long" for result in results):
            figures.append(at_least(label, total, minimum))
        else:
            figures.append(info(label, total))
    return figures


def run_child(suite: Suite, size: Size, work: Path, out: Path) -> int:
    """The child: one suite, its table printed, its result written to ``out``."""
    began = time.monotonic()
    result = suite.runner()(size, work)
    result.seconds = time.monotonic() - began
    print(result.table(), flush=True)
    out.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False, default=str)
                   + "\n", encoding="utf-8")
    return 0


class Runner:
    """The parent: lanes of child processes side by side, each suite's result collected."""

    def __init__(self, chosen: list[Suite], size: Size, run_dir: Path) -> None:
        self.chosen, self.size, self.run_dir = chosen, size, run_dir
        self.results: dict[str, SuiteResult] = {}
        self.failures: dict[str, str] = {}
        self.began = time.monotonic()
        self._lock = threading.Lock()

    def echo(self, text: str) -> None:
        with self._lock:
            print(f"[{time.monotonic() - self.began:6.0f} s] {text}", flush=True)

    def run_suite(self, suite: Suite) -> None:
        log = self.run_dir / f"{suite.name}.log"
        out = self.run_dir / f"{suite.name}.json"
        work = self.run_dir / suite.name
        work.mkdir(parents=True, exist_ok=True)
        limit = (suite.long_s if self.size == "long" else suite.short_s) * OVERRUN_FACTOR \
            + OVERRUN_MARGIN_S
        self.echo(f"{suite.name}: started ({suite.title})")
        with open(log, "wb") as output:
            child = subprocess.Popen(
                [sys.executable, "-m", "soak", "--suite", suite.name, "--size", self.size,
                 "--part-out", str(out), "--work", str(work)],
                stdout=output, stderr=subprocess.STDOUT, cwd=REPO)
            try:
                code = child.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                child.kill()
                code = child.wait()
                self.failures[suite.name] = f"stopped after {limit:.0f} s; see {log}"
        if code == 0 and out.exists():
            result = SuiteResult.from_json(json.loads(out.read_text(encoding="utf-8")))
            self.results[suite.name] = result
            self.echo(f"{suite.name}: done in {result.seconds:.0f} s"
                      f"{'' if result.ok else ' (targets missed)'}\n{result.table()}")
        else:
            self.failures.setdefault(suite.name, f"exit {code}; see {log}")
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
            self.echo(f"{suite.name}: FAILED ({self.failures[suite.name]})\n    "
                      + "\n    ".join(tail))

    def _lane(self, group: list[Suite]) -> None:
        for suite in group:
            self.run_suite(suite)

    def run(self) -> None:
        threads = [threading.Thread(target=self._lane, args=(group,), name=lane)
                   for lane, group in lanes(self.chosen, self.size).items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def results_document(runner: Runner, *, started_at: datetime, elapsed_s: float) -> dict[str, Any]:
    results = [runner.results[s.name] for s in runner.chosen if s.name in runner.results]
    return {
        "suite": "soak",
        "size": runner.size,
        "started_at": started_at.isoformat(),
        "elapsed_s": round(elapsed_s, 1),
        "machine": {"python": platform.python_version(), "kernel": platform.release(),
                    "cpus": os.cpu_count()},
        "headline": [{"name": f.name, "value": f.value, "target": f.target, "ok": f.ok}
                     for f in headline(results)],
        "failed": runner.failures,
        "suites": {result.suite: result.as_json() for result in results},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--short", action="store_true",
                        help="the short sizes (what make test runs), not the long ones")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated suites (default all: "
                             f"{', '.join(s.name for s in SUITES)})")
    parser.add_argument("--plan", action="store_true", help="print the lanes and stop")
    parser.add_argument("--out", type=Path, default=None,
                        help="the JSON file (default soak/results/<UTC date>[-short].json)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="the suites' logs and work directories (default "
                             "var/soak/runs/<UTC stamp>)")
    parser.add_argument("--suite", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", default="long", choices=("short", "long"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--part-out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.suite is not None:
        if args.suite not in SUITE_BY_NAME or args.part_out is None:
            parser.error("--suite needs a known suite and --part-out")
        work = args.work or Path(tempfile.mkdtemp(prefix=f"wd-soak-{args.suite}-"))
        return run_child(SUITE_BY_NAME[args.suite], args.size, work, args.part_out)

    names = [name.strip() for name in (args.only or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in SUITE_BY_NAME]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; "
                     f"use {', '.join(SUITE_BY_NAME)}")
    chosen = [SUITE_BY_NAME[name] for name in names] if names else list(SUITES)
    size: Size = "short" if args.short else "long"
    planned = estimate(chosen, size)
    print(f"plan ({size}): " + "; ".join(
        f"lane {lane}: " + " then ".join(s.name for s in group)
        for lane, group in lanes(chosen, size).items())
        + f"; ~{planned / 60:.0f} min (budget {BUDGET_S / 60:.0f} min)", flush=True)
    if args.plan:
        return 0
    if any(suite.lab for suite in chosen) and os.geteuid() != 0:
        print("python -m soak: the lab suites build network namespaces and mount file "
              "systems; run it as root (sudo make soak).", file=sys.stderr)
        return EX_NOPERM

    started_at = datetime.now(UTC)
    run_dir = args.run_dir or RUNS_DIR / started_at.strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"logs and work directories in {run_dir}", flush=True)
    runner = Runner(chosen, size, run_dir)
    runner.run()
    elapsed = time.monotonic() - runner.began
    document = results_document(runner, started_at=started_at, elapsed_s=elapsed)
    results = [runner.results[s.name] for s in chosen if s.name in runner.results]
    print()
    for result in results:
        print(result.table())
        print()
    print(f"Headline ({size}, {elapsed / 60:.1f} min of {BUDGET_S / 60:.0f})")
    print(format_table(["figure", "value", "target", ""],
                       [[f.name, f.shown, f.target, f.verdict] for f in headline(results)]))
    for name, why in runner.failures.items():
        print(f"{name}: FAILED: {why}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "-short" if size == "short" else ""
    out = args.out or RESULTS_DIR / f"{started_at.date().isoformat()}{suffix}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    print(f"\nresults: {out}")
    ok = not runner.failures and all(result.ok for result in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
