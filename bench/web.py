"""The web server (``[web]``): response time of the status page and ``/metrics`` on 1 month,
1 year and 3 years of history, and the daemon's memory with ``[web]`` on against off.

    python -m bench.web response [--days 30,365,1095] [--requests 50]
    sudo .venv/bin/python -m bench.web memory [--seconds 60]

``response``: the server (``watchdog.web.server.WebServer``, nothing kept between requests, so
every request reads the database and renders) runs in a child process on each cached history
of ``bench.status``; this process is a real HTTP client (``http.client``, a new connection per
request, as a browser or Prometheus makes them) asking ``/`` and ``/metrics`` in turns, after
three warm-up requests each. The figure is the median wall time from sending the request to
the last byte of the answer; the target is ≤ ``TARGET_MS`` on the 1-year history.

``memory``: the real daemon in the lab at the default settings twice, ``[web]`` off then on
(the only difference); after ``WARMUP_S`` its ``VmRSS`` is read every ``EVERY_S`` seconds for
``--seconds``, while with ``[web]`` on a visitor loads the page every 5 s and a scraper asks
``/metrics`` every second, from the office. The figure is the difference of the two runs'
median RSS; the target is ≤ ``TARGET_EXTRA_MB`` (prometheus_client, the HTTP server's threads,
the page's modules and what the renders leave behind).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.status import DEFAULT_DAYS, history, write_config

TARGET_MS = 50.0
TARGET_EXTRA_MB = 5.0
WARMUP_S = 20.0
EVERY_S = 2.0
DEFAULT_REQUESTS = 50
DEFAULT_SECONDS = 60.0
PATHS = ("/", "/metrics")
# The child that serves a history: prints its port, serves until its stdin closes.
SERVE = """\
import sys
from dataclasses import replace
from watchdog.config import load_config
from watchdog.web.server import WebServer

config = load_config(sys.argv[1])
config = replace(config, web=replace(config.web, listen="127.0.0.1:0"))
server = WebServer(config, page_seconds=0, metrics_seconds=0)
server.start()
print(server.address[1], flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass(frozen=True, slots=True)
class Latency:
    """Wall times (ms) of one path on one history."""

    median_ms: float
    p95_ms: float
    max_ms: float
    requests: int
    bytes: int

    @classmethod
    def of(cls, timings: Sequence[float], size: int) -> Latency:
        ordered = sorted(timings)
        return cls(round(statistics.median(ordered), 1),
                   round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
                   round(ordered[-1], 1), len(ordered), size)


@dataclass(frozen=True, slots=True)
class ResponseRow:
    days: int
    size_mb: float
    page: Latency
    metrics: Latency


def fetch(port: int, path: str) -> tuple[float, int, int]:
    """(ms, status, body length) of one GET on a new connection."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    return 1000 * (time.perf_counter() - began), answer.status, len(body)


def time_paths(port: int, requests: int) -> dict[str, Latency]:
    """``requests`` GETs of each path in turns after three warm-up ones; raises
    ``RuntimeError`` on an answer that is not 200."""
    timings: dict[str, list[float]] = {path: [] for path in PATHS}
    sizes: dict[str, int] = {}
    for round_number in range(3 + requests):
        for path in PATHS:
            elapsed, status, size = fetch(port, path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            sizes[path] = size
            if round_number >= 3:
                timings[path].append(elapsed)
    return {path: Latency.of(timings[path], sizes[path]) for path in PATHS}


def serve(database: Path) -> tuple[subprocess.Popen[str], int]:
    """The web server on ``database`` in a child process, and its port."""
    child = subprocess.Popen([sys.executable, "-c", SERVE, str(write_config(database))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    seen = []
    for line in child.stdout:  # its log line first, then the port
        if line.strip().isdigit():
            return child, int(line)
        seen.append(line)
    child.kill()
    raise RuntimeError(f"the web server did not start: {''.join(seen)}")


def measure_response(days_list: Sequence[int], requests: int) -> list[ResponseRow]:
    rows = []
    for days in days_list:
        found = history(days)
        child, port = serve(found.path)
        try:
            timed = time_paths(port, requests)
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=30)
        rows.append(ResponseRow(days, round(found.size_bytes / 1e6, 1), timed["/"],
                                timed["/metrics"]))
    return rows


# --- memory -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryRun:
    """One daemon run: ``web`` on or off, its RSS samples (KiB) after the warm-up, and the
    answers the visitors got (with ``web`` on)."""

    web: bool
    rss_kib: list[int]
    answers: dict[str, int]

    @property
    def median_mb(self) -> float:
        return round(statistics.median(self.rss_kib) * 1024 / 1e6, 2)


def _visitors(lab: Any, stop: threading.Event, answers: dict[str, int]) -> list[threading.Thread]:
    """A visitor loading the page every 5 s and a scraper every second, from the office."""
    from testbed.lab.http_client import get

    def visit(path: str, every: float) -> None:
        while not stop.wait(every):
            try:
                status, _ = get(lab, "office", "127.0.0.1", 9830, path)
            except OSError:
                status = 0
            key = f"{path} {status}"
            answers[key] = answers.get(key, 0) + 1

    return [threading.Thread(target=visit, args=("/", 5.0)),
            threading.Thread(target=visit, args=("/metrics", 1.0))]


def memory_run(work: Path, *, web: bool, seconds: float,
               progress: Callable[[str], None] = print) -> MemoryRun:
    """The daemon at the defaults in a lab of its own, ``[web]`` on or off; RSS after the
    warm-up."""
    from bench.false_outages import daemon_at_defaults
    from bench.resources import read_rss_kib

    overrides = {"web": {"enabled": True, "listen": "127.0.0.1:9830"}} if web else {}
    answers: dict[str, int] = {}
    with daemon_at_defaults(work, **overrides) as (lab, daemon):
        stop = threading.Event()
        visitors = _visitors(lab, stop, answers) if web else []
        for thread in visitors:
            thread.start()
        try:
            time.sleep(WARMUP_S)
            samples = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                samples.append(read_rss_kib(Path(f"/proc/{daemon.pid}/status").read_text()))
                time.sleep(EVERY_S)
        finally:
            stop.set()
            for thread in visitors:
                thread.join()
        daemon.stop()
    run = MemoryRun(web, samples, answers)
    progress(f"web.memory: [web] {'on' if web else 'off'}: median RSS {run.median_mb} MB")
    return run


def measure_memory(work: Path, seconds: float,
                   progress: Callable[[str], None] = print) -> tuple[MemoryRun, MemoryRun]:
    """(off, on): two runs one after the other, each in a lab of its own."""
    return (memory_run(work / "off", web=False, seconds=seconds, progress=progress),
            memory_run(work / "on", web=True, seconds=seconds, progress=progress))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web",
                                     description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    response = commands.add_parser("response")
    response.add_argument("--days", default=",".join(map(str, DEFAULT_DAYS)))
    response.add_argument("--requests", type=int, default=DEFAULT_REQUESTS)
    memory = commands.add_parser("memory")
    memory.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    args = parser.parse_args(argv)
    if args.command == "response":
        rows = measure_response([int(day) for day in args.days.split(",")], args.requests)
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return 0
    with tempfile.TemporaryDirectory(prefix="wd-bench-web-") as work:
        off, on = measure_memory(Path(work), args.seconds)
    print(f"RSS median: [web] off {off.median_mb} MB, on {on.median_mb} MB "
          f"({on.median_mb - off.median_mb:+.2f} MB); answers {on.answers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
