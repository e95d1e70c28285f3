"""The benchmark suite: every figure of issue 5 in one run, one table, one JSON, BENCHMARKS.md.

    sudo .venv/bin/python -m bench [--quick] [--only NAME,...] [--seed S]   (or: make bench)

Each part measures figures (``--list`` names them, with their time estimates):

==========================  ===================================================================
part                        what it measures (its module's doc says how)
==========================  ===================================================================
detection                   WAN cut → ``down`` recorded; recorded start and end errors
                            (bench/detection.py, 10 cuts at random phases of the cycle)
alerts.latency              cut → ``outage_started`` and restore → ``recovered`` at a LAN
                            webhook (bench/alerts.py, 10 cuts)
alerts.kills                20 SIGKILLs at random instants → duplicate tickets, lost messages
                            (bench/alerts.py)
false_outages.loss          10 min of 30 % random loss → outages, dominant state
false_outages.dead_target   10 min with one of three ping targets dead
false_outages.dead_resolver 10 min with one of two resolvers dead (bench/false_outages.py)
resources                   the daemon's RSS and CPU over 5 min, link up (bench/resources.py)
histories                   builds 1 month, 1 year, 3 years of history (cached under
                            var/bench); database size after one year (bench/build_history.py)
status                      ``watchdog status`` and ``watchdog report --month`` wall time on
                            them, median of 20 runs (bench/status.py)
targets                     one real probe cycle with 100, 500, 1000 ping targets, both socket
                            modes: time and false loss (bench/targets.py)
uplinks                     fibre cut → ticket email over a 4G uplink; failover behind the
                            router → fibre ``down`` recorded, 5 each (bench/uplinks.py)
==========================  ===================================================================

The time budget (15 min on 2 cores) is planned before anything runs and printed: phase 1 runs
side by side, each lane in a lab of its own (the three 10-minute false-outage scenarios, the
resource measurement then the detection cuts, the history builds at the lowest CPU priority
then the alert latencies, the SIGKILL sequence); the daemons there sleep between cycles, so
the labs barely compete for the CPU. Phase 2 runs alone what a busy CPU would distort: the
command wall times and the big probe cycles. Each part runs as a child process (``--part``)
with its output in ``var/bench/runs/<stamp>/<part>.log``.

Writes ``bench/results/<UTC date>.json`` (a run with ``--only`` merges into the latest full
results) and the generated section of ``BENCHMARKS.md`` (figures, targets, the machine, how to
rerun; text outside its markers is kept). ``--quick`` is a smoke run of a couple of minutes:
short holds, few cuts, small histories; it writes ``bench/results/<date>-quick.json`` and
leaves BENCHMARKS.md alone. Needs root for every part but ``histories`` and ``status``;
without it, it says why and exits non-zero. Exit status: 0 when every part ran (a missed
target is a figure, not a failure), 1 when a part failed.

This module reads the command line; the work is in ``bench/plan.py`` (the parts, ``--only``,
the budget), ``bench/runner.py`` (the child processes and lanes), ``bench/figures.py`` (the
table's rows and verdicts) and ``bench/publishing.py`` (the results JSON, BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import format_table, minutes
from bench.plan import PART_BY_NAME, PARTS, format_plan, plan_budget, root_problem, select
from bench.publishing import (
    BENCHMARKS,
    RESULTS_DIR,
    latest_results,
    merge,
    results_path,
    suite_document,
    update_benchmarks,
)
from bench.runner import RUNS_DIR, Runner, figures_of, format_times, part_main

EX_NOPERM = 77


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a couple of minutes")
    parser.add_argument("--only", default=None,
                        help="comma-separated parts (a prefix selects its parts: alerts, "
                             "false_outages); see --list")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: drawn, recorded)")
    parser.add_argument("--list", action="store_true", help="name the parts and stop")
    parser.add_argument("--plan", action="store_true", help="print the plan and stop")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help=argparse.SUPPRESS)
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part-out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)

    if args.part is not None:
        if args.part not in PART_BY_NAME or args.part_out is None:
            parser.error("--part needs a known part and --part-out")
        work = args.work or Path(tempfile.mkdtemp(prefix="wd-bench-"))
        try:
            return part_main(args.part, args.part_out, work, quick=args.quick, seed=seed)
        except Exception:
            traceback.print_exc()
            return 1

    try:
        parts = select(args.only)
    except ValueError as error:
        parser.error(str(error))
    plan = plan_budget(parts, quick=args.quick)
    if args.list:
        for part in PARTS:
            print(f"{part.name:<28} phase {part.phase}, lane {part.lane:<14} "
                  f"~{minutes(part.full_s):>12} (quick ~{minutes(part.quick_s)})"
                  f"{'' if part.needs_root else '  (no root needed)'}  {part.title}")
        return 0
    print(format_plan(plan), flush=True)
    if args.plan:
        return 0
    problem = root_problem(parts)
    if problem:
        print(f"python -m bench: cannot measure: {problem}; run it as root "
              "(sudo make bench).", file=sys.stderr)
        return EX_NOPERM

    started_at = datetime.now(UTC)
    run_dir = RUNS_DIR / started_at.strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"seed {seed}; logs in {run_dir}", flush=True)
    runner = Runner(plan, run_dir, quick=args.quick, seed=seed)
    outcomes = runner.run()
    elapsed = time.monotonic() - runner.began

    only = [part.name for part in parts] if args.only else None
    document = suite_document(outcomes, quick=args.quick, only=only, seed=seed,
                              started_at=started_at, elapsed_s=elapsed, plan=plan)
    print()
    print(format_table(figures_of(outcomes, parts)))
    print()
    print(format_times(outcomes, plan, elapsed))
    directory: Path = args.results_dir
    directory.mkdir(parents=True, exist_ok=True)
    if not args.quick and only is not None:
        document = merge(latest_results(directory), document)
    path = results_path(started_at.date(), quick=args.quick, directory=directory)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    print(f"\nresults: {path}")
    if args.quick:
        print("quick run: BENCHMARKS.md left as it is (a smoke run's figures are not the "
              "benchmark)")
    else:
        update_benchmarks(args.benchmarks, document)
        print(f"updated {args.benchmarks}")
    return 0 if all(outcome.ok for outcome in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
