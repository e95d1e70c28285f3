"""Running the parts: each in a child process (``python -m bench --part NAME``) that measures
and writes its figures and data as JSON; in the parent, lanes in threads side by side, then
the parts that run alone, each timed with how busy the machine was meanwhile."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.figures import (
    ROWS,
    Figure,
    alert_latency_figures,
    detection_figures,
    false_outage_figure,
    figure,
    kill_figure,
    minutes,
    resource_figures,
    size_figure,
    status_figures,
    target_figures,
    uplink_figures,
    web_memory_figure,
    web_response_figure,
)
from bench.plan import PART_BY_NAME, Lane, Part, Plan, history_days
from testbed import REPO

RUNS_DIR = REPO / "var" / "bench" / "runs"
HEARTBEAT_S = 60.0


@dataclass(frozen=True, slots=True)
class Context:
    """What a part runs with: quick or full, its seed, a work directory."""

    quick: bool
    seed: int
    work: Path


def _progress(text: str) -> None:
    print(text, flush=True)


def run_detection(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench import detection

    cuts_wanted = 2 if context.quick else 10
    cuts, path = detection.run(cuts_wanted, quick=context.quick, seed=context.seed,
                               out=context.work / "detection.json")
    return detection_figures(cuts), json.loads(path.read_text(encoding="utf-8"))


def run_alert_latency(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench import alerts

    rng = random.Random(context.seed)
    started = datetime.now(UTC)
    cuts, settings = alerts.run_latencies(context.work / "latency", 1 if context.quick else 10,
                                          rng, quick=context.quick)
    document = alerts.results_document(cuts, None, settings=settings, kill_method=None,
                                       seed=context.seed, quick=context.quick,
                                       started_at=started, finished_at=datetime.now(UTC))
    return alert_latency_figures(cuts), document


def run_alert_kills(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench import alerts

    rng = random.Random(context.seed)
    kills = alerts.QUICK_KILLS if context.quick else alerts.DEFAULT_KILLS
    report, method = alerts.run_kills(context.work / "kills", kills, rng, quick=context.quick)
    return [kill_figure(report)], {"report": asdict(report), "method": method,
                                   "seed": context.seed}


def run_false_outage(name: str) -> Callable[[Context], tuple[list[Figure], dict[str, Any]]]:
    def run(context: Context) -> tuple[list[Figure], dict[str, Any]]:
        from bench.false_outages import SCENARIOS, run_scenario

        hold = timedelta(minutes=1 if context.quick else 10)
        result, settings = run_scenario(SCENARIOS[name], hold, context.work,
                                        progress=_progress)
        return [false_outage_figure(result)], {"result": result.as_json(),
                                                "settings": settings}

    return run


def run_resources(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.resources import measure

    usage, samples, settings = measure(1 if context.quick else 5, 5, context.work,
                                       progress=_progress)
    return resource_figures(usage), {"usage": asdict(usage),
                                     "samples": [asdict(s) for s in samples],
                                     "settings": settings}


def run_histories(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.status import history

    found = [history(days) for days in history_days(context.quick)]
    return [size_figure(found, quick=context.quick)], {
        "histories": [item.as_json() for item in found]}


def run_status(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.status import measure

    rows, month = measure(history_days(context.quick), 5 if context.quick else 20)
    return status_figures(rows), {"month": month, "rows": [asdict(row) for row in rows]}


def run_targets(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.targets import measure

    sizes = (100, 500) if context.quick else (100, 500, 1000)
    results = measure(sizes, 2 if context.quick else 10)
    return target_figures(results), {"results": [result.as_json() for result in results]}


def run_web_response(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.web import DEFAULT_REQUESTS, measure_response

    rows = measure_response(history_days(context.quick), 10 if context.quick
                            else DEFAULT_REQUESTS)
    return [web_response_figure(rows)], {"rows": [asdict(row) for row in rows]}


def run_web_memory(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.web import DEFAULT_SECONDS, measure_memory

    off, on = measure_memory(context.work, 20.0 if context.quick else DEFAULT_SECONDS,
                             progress=_progress)
    return [web_memory_figure(off, on)], {"off": asdict(off), "on": asdict(on)}


def run_uplinks(context: Context) -> tuple[list[Figure], dict[str, Any]]:
    from bench.uplinks import OPEN_AFTER_S
    from bench.uplinks import run as measure

    tickets, failovers, settings = measure(context.work, quick=context.quick,
                                           seed=context.seed, progress=_progress)
    check = settings["failover_down"]["settings"]["schedule"]["check_interval"]
    return uplink_figures(tickets, failovers, open_after_s=OPEN_AFTER_S,
                          check_interval_s=check), {
        "backup_ticket": [run.as_json() for run in tickets],
        "failover_down": [run.as_json() for run in failovers], "settings": settings}


RUNNERS: dict[str, Callable[[Context], tuple[list[Figure], dict[str, Any]]]] = {
    "false_outages.loss": run_false_outage("loss"),
    "false_outages.dead_target": run_false_outage("dead_target"),
    "false_outages.dead_resolver": run_false_outage("dead_resolver"),
    "resources": run_resources,
    "detection": run_detection,
    "histories": run_histories,
    "alerts.latency": run_alert_latency,
    "alerts.kills": run_alert_kills,
    "status": run_status,
    "targets": run_targets,
    "web.memory": run_web_memory,
    "web.response": run_web_response,
    "uplinks": run_uplinks,
}


def part_main(name: str, out: Path, work: Path, *, quick: bool, seed: int) -> int:
    """In the child: run one part, write its figures and data as JSON to ``out``."""
    part = PART_BY_NAME[name]
    if part.nice:
        os.nice(part.nice)
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    figures, data = RUNNERS[name](Context(quick, seed, work))
    document = {"part": name, "measured_at": datetime.now(UTC).isoformat(),
                "seconds": round(time.monotonic() - began, 1), "seed": seed, "quick": quick,
                "figures": [asdict(item) for item in figures], "data": data}
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    return 0


@dataclass
class Outcome:
    """How a part went in this run; ``cpu_busy_percent``: how busy the whole machine was
    meanwhile (all cores, every process: the other lanes' load it shared the CPUs with)."""

    part: str
    started_s: float = 0.0
    seconds: float = 0.0
    ok: bool = False
    error: str | None = None
    document: dict[str, Any] | None = None
    log: Path | None = None
    cpu_busy_percent: float | None = None


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat (None where it cannot be read)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(value) for value in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_percent(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time spent busy between two ``cpu_times`` readings, in percent."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100.0 * (after[0] - before[0]) / (after[1] - before[1]), 1)


class Runner:
    """Runs the planned parts as child processes, lanes in threads, and times them."""

    def __init__(self, plan: Plan, run_dir: Path, *, quick: bool, seed: int,
                 echo: Callable[[str], None] = _progress) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.quick = quick
        self.seed = seed
        self.echo = echo
        self.began = time.monotonic()
        self.outcomes: dict[str, Outcome] = {}
        self.running: dict[str, float] = {}
        self._lock = threading.Lock()

    def stamp(self) -> str:
        return f"[{time.monotonic() - self.began:5.0f} s]"

    def run_part(self, name: str) -> Outcome:
        index = list(PART_BY_NAME).index(name)
        out = self.run_dir / f"{name}.json"
        log = self.run_dir / f"{name}.log"
        argv = [sys.executable, "-m", "bench", "--part", name, "--part-out", str(out),
                "--work", str(self.run_dir / "work" / name), "--seed", str(self.seed + index)]
        if self.quick:
            argv.append("--quick")
        outcome = Outcome(name, started_s=time.monotonic() - self.began, log=log)
        with self._lock:
            self.running[name] = time.monotonic()
        self.echo(f"{self.stamp()} {name}: started")
        began, cpu_before = time.monotonic(), cpu_times()
        with open(log, "wb") as output:
            done = subprocess.run(argv, stdout=output, stderr=subprocess.STDOUT, cwd=REPO,
                                  env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
        outcome.seconds = time.monotonic() - began
        outcome.cpu_busy_percent = busy_percent(cpu_before, cpu_times())
        with self._lock:
            self.running.pop(name, None)
        if done.returncode == 0 and out.exists():
            outcome.ok = True
            outcome.document = json.loads(out.read_text(encoding="utf-8"))
            outcome.document["machine_busy_percent"] = outcome.cpu_busy_percent
            self.echo(f"{self.stamp()} {name}: done in {minutes(outcome.seconds)}")
        else:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            outcome.error = f"exit {done.returncode}; see {log}"
            self.echo(f"{self.stamp()} {name}: FAILED ({outcome.error})\n    "
                      + "\n    ".join(tail))
        self.outcomes[name] = outcome
        return outcome

    def _lane(self, lane: Lane) -> None:
        for name in lane.parts:
            self.run_part(name)

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            with self._lock:
                now = time.monotonic()
                busy = ", ".join(f"{name} ({now - since:.0f} s)"
                                 for name, since in self.running.items())
            if busy:
                self.echo(f"{self.stamp()} running: {busy}")

    def run(self) -> dict[str, Outcome]:
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), daemon=True)
        beat.start()
        try:
            threads = [threading.Thread(target=self._lane, args=(lane,), name=lane.name)
                       for lane in self.plan.lanes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for name in self.plan.alone:
                self.run_part(name)
        finally:
            stop.set()
        return self.outcomes


def figures_of(outcomes: dict[str, Outcome], parts: Sequence[Part]) -> list[Figure]:
    """Every row of the selected parts, in the table's order; a failed part's rows FAILED."""
    found: dict[str, Figure] = {}
    for part in parts:
        outcome = outcomes.get(part.name)
        if outcome is not None and outcome.ok and outcome.document is not None:
            for item in outcome.document["figures"]:
                found[item["key"]] = Figure(**item)
        else:
            reason = outcome.error if outcome is not None and outcome.error else "did not run"
            for key in part.rows:
                found[key] = figure(key, f"not measured ({reason})", "FAILED")
    return [found[key] for key in ROWS if key in found]


def format_times(outcomes: dict[str, Outcome], plan: Plan, total_s: float) -> str:
    """Per part: phase, lane, how long it took, how busy the machine was meanwhile."""
    lines = ["time per part (machine busy: all cores, all processes, during the part):"]
    placed = [(1, lane.name, name) for lane in plan.lanes for name in lane.parts]
    placed += [(2, "alone", name) for name in plan.alone]
    for phase, lane, name in placed:
        outcome = outcomes.get(name)
        took = minutes(outcome.seconds) if outcome else "-"
        busy = (f"{outcome.cpu_busy_percent:5.1f} % busy"
                if outcome and outcome.cpu_busy_percent is not None else "")
        lines.append(f"  phase {phase} {lane:<14} {name:<28} {took:>12}  {busy}"
                     f"{'' if outcome and outcome.ok else '  FAILED'}".rstrip())
    lines.append(f"  total {minutes(total_s)} (estimated {minutes(plan.total_s)})")
    return "\n".join(lines)
