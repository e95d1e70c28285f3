"""`watchdog status`, `watchdog report --month` and its HTML: wall time on 1 month, 1 year and
3 years.

    python -m bench.status [--days 30,365,1095] [--runs 20] [--json FILE]

Each database holds ``days`` of history at the default settings ending about now, written
through the real storage code by ``bench.build_history`` (fast mode; see its doc). They are
cached under ``var/bench/`` keyed by (days, seed, schema revision, generator version) and
reused while their history ended less than ``MAX_AGE`` ago (``watchdog status`` reads the
last 24 h, 7 d and 30 d from the real clock, so a history that ended long ago would leave
those windows empty); building all three takes a few minutes.

Each run is the real command as a new process: ``python -m watchdog status``,
``python -m watchdog report --month YYYY-MM`` (the month of a week ago, which every
database holds) and the same report ``--format html``; start-up, config, the read-only
queries and the rendering, what a person waits for. Their bytecode is compiled, as an
installed package has it (the warm-up run writes it when missing). One warm-up run per command and
database, then ``--runs`` timed rounds in which every command runs once on every database
(taking turns, so that load from elsewhere falls on all alike); the figure is the median.
"Flat" means the three medians lie within ``FLAT_MS`` ms or ``FLAT_RATIO`` of the smallest,
whichever is larger.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.build_history import GENERATOR_VERSION, BuildStats, build
from watchdog.cli.common import STATE_EXIT_CODES

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "var" / "bench"
DEFAULT_DAYS = (30, 365, 1095)
DEFAULT_RUNS = 20
DEFAULT_SEED = 1
MAX_AGE = timedelta(hours=24)
TARGET_MS = 150.0
HTML_TARGET_MS = 300.0
FLAT_MS = 10.0
FLAT_RATIO = 0.2
CONFIG = """\
[storage]
database = "{database}"
[[ping]]
name = "cloudflare"
address = "203.0.113.1"
[[ping]]
name = "google"
address = "203.0.113.2"
[[ping]]
name = "quad9"
address = "203.0.113.3"
"""


def schema_revision() -> str:
    """The schema revision this code writes (the Alembic head)."""
    from watchdog.store.migrate import head_revision

    return head_revision()


def cache_stem(days: int, seed: int, schema: str, generator: int = GENERATOR_VERSION) -> str:
    """The file name (without suffix) of a cached history: every input of its content."""
    return f"history-{days}d-seed{seed}-schema{schema}-gen{generator}"


@dataclass(frozen=True, slots=True)
class History:
    """A cached database: where, what it holds and how it was made."""

    path: Path
    days: int
    seed: int
    schema: str
    generator: int
    start: datetime
    end: datetime
    built_at: datetime
    build_seconds: float
    size_bytes: int
    reused: bool
    stats: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        for key in ("start", "end", "built_at"):
            document[key] = document[key].isoformat()
        document["path"] = str(self.path)
        return document


def _read_meta(meta: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def cached(days: int, *, seed: int = DEFAULT_SEED, cache: Path = CACHE,
           now: datetime | None = None, max_age: timedelta = MAX_AGE) -> History | None:
    """The cached history of ``days`` if it is there, complete, of this schema and generator,
    and ended less than ``max_age`` before ``now``; else None."""
    schema = schema_revision()
    stem = cache_stem(days, seed, schema)
    path, meta = cache / f"{stem}.db", cache / f"{stem}.json"
    document = _read_meta(meta) if path.exists() else None
    if document is None or document.get("stem") != stem:
        return None
    end = datetime.fromisoformat(document["end"])
    if (now or datetime.now(UTC)) - end > max_age:
        return None
    return History(path, days, seed, schema, GENERATOR_VERSION,
                   datetime.fromisoformat(document["start"]), end,
                   datetime.fromisoformat(document["built_at"]),
                   float(document["build_seconds"]), path.stat().st_size, True,
                   dict(document.get("stats", {})))


def history(days: int, *, seed: int = DEFAULT_SEED, cache: Path = CACHE,
            now: datetime | None = None, max_age: timedelta = MAX_AGE) -> History:
    """A database with ``days`` of history ending about ``now``: the cached one (see
    ``cached``), or a new one built now (into a temporary name, then renamed, so a killed
    build never leaves a database that looks complete)."""
    found = cached(days, seed=seed, cache=cache, now=now, max_age=max_age)
    if found is not None:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    schema = schema_revision()
    stem = cache_stem(days, seed, schema)
    for stale in cache.glob(f"history-{days}d-*"):
        stale.unlink(missing_ok=True)
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    with tempfile.TemporaryDirectory(prefix=f".{stem}-", dir=cache) as work:
        staged = Path(work) / "history.db"
        stats: BuildStats = build(staged, days, start=start, seed=seed, mode="fast")
        path = cache / f"{stem}.db"
        shutil.move(staged, path)
    size = path.stat().st_size
    built_at = datetime.now(UTC)
    stats_json = asdict(stats)
    meta = {"stem": stem, "days": days, "seed": seed, "schema": schema,
            "generator": GENERATOR_VERSION, "start": start.isoformat(),
            "end": end.isoformat(), "built_at": built_at.isoformat(),
            "build_seconds": round(stats.seconds, 1), "size_bytes": size, "stats": stats_json}
    (cache / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"built {path.name} ({days} days) in {stats.seconds:.0f} s, {size / 1e6:.1f} MB",
          file=sys.stderr, flush=True)
    return History(path, days, seed, schema, GENERATOR_VERSION, start, end, built_at,
                   stats.seconds, size, False, stats_json)


def report_month(now: datetime) -> str:
    """``YYYY-MM`` of the month a week before ``now`` (every database holds most of it)."""
    return (now - timedelta(days=7)).strftime("%Y-%m")


def write_config(database: Path) -> Path:
    """A config next to ``database`` that reads it (three ping targets, nothing else)."""
    config = database.with_suffix(".toml")
    config.write_text(CONFIG.format(database=database.resolve()), encoding="utf-8")
    return config


def _environment() -> dict[str, str]:
    """The commands' environment: none of the caller's WATCHDOG_ settings, and bytecode
    written and read as on an installed system (pip compiles it at install; a machine that
    sets PYTHONDONTWRITEBYTECODE would otherwise time the compiler on every run)."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("WATCHDOG_") and key != "PYTHONDONTWRITEBYTECODE"}


def run_once(argv: Sequence[str]) -> float:
    """Wall time (ms) of one run of ``argv`` as a new process. Raises ``RuntimeError`` with
    its output when it fails: ``status`` exits with the link's state (0 to 3, the history's
    daemon long stopped: 3), so only a code above that is a failure."""
    began = time.perf_counter()
    done = subprocess.run(list(argv), capture_output=True, text=True, env=_environment(),
                          check=False)
    elapsed = 1000 * (time.perf_counter() - began)
    if done.returncode not in STATE_EXIT_CODES.values():
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    return elapsed


def time_commands(commands: Sequence[Sequence[str]], runs: int) -> list[list[float]]:
    """Wall times (ms) of ``runs`` runs of each command, after one warm-up run each (which
    fills the page cache). The commands take turns, run after run, so that a burst of load
    from elsewhere falls on all of them alike rather than on one database."""
    for argv in commands:
        run_once(argv)
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, argv in enumerate(commands):
            timings[index].append(run_once(argv))
    return timings


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall times of one command on one database (ms)."""

    median_ms: float
    max_ms: float
    min_ms: float
    runs: int

    @classmethod
    def of(cls, timings: Sequence[float]) -> Timing:
        return cls(round(statistics.median(timings), 1), round(max(timings), 1),
                   round(min(timings), 1), len(timings))


@dataclass(frozen=True, slots=True)
class Row:
    """One database: its size, the commands' timings (``html``: the month's HTML report), and
    the median time of their reads alone (``read_status``, ``read_period`` in this process:
    what grows with the data, apart from the interpreter's start-up)."""

    days: int
    size_mb: float
    status: Timing
    report: Timing
    history: dict[str, Any]
    status_read_ms: float | None = None
    report_read_ms: float | None = None
    html: Timing | None = None


def read_times(path: Path, month: str, repeat: int = 21) -> tuple[float, float]:
    """Median ms of ``read_status`` and of the month's ``read_period`` on ``path``, now."""
    from watchdog.report.period import month as month_period
    from watchdog.store.reader import read_status
    from watchdog.store.report_reader import read_period

    now = datetime.now(UTC)
    period = month_period(month, UTC, now)
    start, end = period.start, period.end

    def median_ms(call: Any) -> float:
        timings = []
        for _ in range(repeat):
            began = time.perf_counter()
            call()
            timings.append(1000 * (time.perf_counter() - began))
        return round(statistics.median(timings), 2)

    return (median_ms(lambda: read_status(path, now)),
            median_ms(lambda: read_period(path, start, end, now)))


def is_flat(medians: Sequence[float], *, absolute_ms: float = FLAT_MS,
            ratio: float = FLAT_RATIO) -> bool:
    """Whether ``medians`` lie within ``absolute_ms`` or ``ratio`` of the smallest (whichever
    is larger) of each other."""
    if not medians:
        raise ValueError("no medians")
    low, high = min(medians), max(medians)
    return high - low <= max(absolute_ms, ratio * low)


def measure(days_list: Sequence[int], runs: int, *, month: str | None = None,
            seed: int = DEFAULT_SEED, cache: Path = CACHE) -> tuple[list[Row], str]:
    """Build (or reuse) each history, then time both commands on each; returns the rows and
    the month given to ``report``."""
    histories = [history(days, seed=seed, cache=cache) for days in days_list]
    month = month or report_month(datetime.now(UTC))
    base = [sys.executable, "-m", "watchdog"]
    commands: list[list[str]] = []
    for found in histories:
        config = str(write_config(found.path))
        report = [*base, "report", "--month", month, "--config", config]
        commands += [[*base, "status", "--config", config], report, [*report, "--format", "html"]]
    timings = time_commands(commands, runs)
    rows = [Row(found.days, round(found.size_bytes / 1e6, 1), Timing.of(timings[3 * index]),
                Timing.of(timings[3 * index + 1]), found.as_json(),
                *read_times(found.path, month), html=Timing.of(timings[3 * index + 2]))
            for index, found in enumerate(histories)]
    return rows, month


def table(rows: Sequence[Row]) -> str:
    """Per database: size, then each command's median and max."""
    lines = [f"{'history':>8}  {'db size':>9}  {'status median':>14}  {'max':>8}  "
             f"{'report median':>14}  {'max':>8}  {'html median':>12}  "
             "reads (status / report)", "-" * 110]
    for row in rows:
        html = f"{row.html.median_ms:>9} ms" if row.html else f"{'—':>12}"
        lines.append(f"{row.days:>6} d  {row.size_mb:>6} MB  {row.status.median_ms:>11} ms"
                     f"  {row.status.max_ms:>5} ms  {row.report.median_ms:>11} ms"
                     f"  {row.report.max_ms:>5} ms  {html}  {row.status_read_ms} / "
                     f"{row.report_read_ms} ms")
    status = [row.status.median_ms for row in rows]
    report = [row.report.median_ms for row in rows]
    if rows:
        lines.append(f"status: ≤ {TARGET_MS:.0f} ms "
                     f"{'ok' if max(status) <= TARGET_MS else 'MISSED'}, "
                     f"{'flat' if is_flat(status) else 'NOT flat'}; report: "
                     f"{'flat' if is_flat(report) else 'NOT flat'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default=",".join(map(str, DEFAULT_DAYS)),
                        help="comma-separated history lengths in days (default 30,365,1095)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                        help=f"timed runs per command and database (default {DEFAULT_RUNS})")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        days_list = [int(part) for part in args.days.split(",")]
    except ValueError:
        parser.error(f"--days {args.days!r} must be whole numbers separated by commas")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    rows, month = measure(days_list, args.runs)
    print(table(rows))
    print(f"report --month {month}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"month": month, "rows": [asdict(row) for row in rows]},
                                        indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
