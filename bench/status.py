"""`watchdog status` wall time on databases holding one month and one year of history.

    python -m bench.status [--days 30,365] [--runs 20]

Each database is written through the real storage code by ``bench.build_history``, ending
now, and kept under ``var/bench/`` for reuse while it is less than 12 hours old (a year takes
minutes to build). Each run is the real command, ``python -m watchdog status``, as a new
process: start-up, config, the read-only queries and the rendering, what a person waits for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.build_history import build

CACHE = Path("var/bench")
MAX_AGE = timedelta(hours=12)
TARGET_MS = 150.0
CONFIG = """\
[storage]
database = "{database}"
[[ping]]
name = "cloudflare"
address = "1.1.1.1"
[[ping]]
name = "google"
address = "8.8.8.8"
[[ping]]
name = "quad9"
address = "9.9.9.9"
"""


def history(days: int, cache: Path = CACHE) -> Path:
    """A database with ``days`` of history ending about now (rebuilt when too old)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"history-{days}d.db"
    stamp = path.with_suffix(".built")
    if path.exists() and stamp.exists():
        built = datetime.fromisoformat(stamp.read_text().strip())
        if datetime.now(UTC) - built < MAX_AGE:
            return path
    for stale in (path, stamp, path.with_name(path.name + "-wal"),
                  path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    now = datetime.now(UTC)
    began = time.perf_counter()
    build(path, days, start=now - timedelta(days=days))
    print(f"built {path} ({days} days) in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    stamp.write_text(now.isoformat())
    return path


def time_command(database: Path, runs: int) -> list[float]:
    """Wall times (ms) of ``runs`` runs of ``watchdog status`` on ``database``."""
    config = database.with_suffix(".toml")
    config.write_text(CONFIG.format(database=database.resolve()))
    argv = [sys.executable, "-m", "watchdog", "status", "--config", str(config)]
    subprocess.run(argv, check=True, capture_output=True)  # warm the page cache once
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        timings.append(1000 * (time.perf_counter() - began))
    return timings


def measure(days_list: Sequence[int], runs: int) -> list[dict[str, float | int]]:
    rows: list[dict[str, float | int]] = []
    for days in days_list:
        path = history(days)
        timings = time_command(path, runs)
        rows.append({
            "days": days,
            "size_mb": round(path.stat().st_size / 1e6, 1),
            "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
        })
    return rows


def table(rows: Sequence[dict[str, float | int]]) -> str:
    lines = [f"{'history':>8}  {'db size':>9}  {'status median':>14}  {'max':>8}  target",
             "-" * 56]
    for row in rows:
        verdict = "ok" if row["median_ms"] <= TARGET_MS else "MISSED"
        lines.append(f"{row['days']:>6} d  {row['size_mb']:>6} MB  {row['median_ms']:>11} ms"
                     f"  {row['max_ms']:>5} ms  ≤ {TARGET_MS:.0f} ms {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default="30,365",
                        help="comma-separated history lengths in days (default 30,365)")
    parser.add_argument("--runs", type=int, default=20, help="runs per database (default 20)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        days_list = [int(part) for part in args.days.split(",")]
    except ValueError:
        parser.error(f"--days {args.days!r} must be whole numbers separated by commas")
    rows = measure(days_list, args.runs)
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
