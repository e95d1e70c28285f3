"""Targets per cycle: how long one real probe cycle takes with 100, 500 and 1000 ping targets,
and how many echo requests it wrongly counts as lost.

    sudo .venv/bin/python -m bench.targets [--sizes 100,500,1000] [--cycles 5] [--out FILE]

Where the targets live: on the loopback of the very namespace the cycle runs in, a network
namespace of our own (``wd-<pid>-targets``, holding nothing but ``lo``; the lab's sweep
deletes it if this process dies before it does). The targets are 127.1.x.y addresses: the
whole 127.0.0.0/8 is local on ``lo``, so a thousand distinct hosts need no configuration
(the documentation ranges routed to the lab's internet hold only 254 hosts), and no packet
leaves the namespace. Every echo request is answered by the kernel at once, so the figure is
the prober's own cost, sockets, event loop and matching of replies, with no network in the
way: any loss measured here is false loss, the prober's doing. A private namespace also keeps
other processes' ICMP traffic (other tests pinging the host's loopback) out of raw sockets.

Each cycle is the real ``watchdog.probes.cycle.run_cycle`` with the default ping timeout
(1 s) and echo requests per target (2), no gateway, DNS or web checks, in both ping socket
modes: unprivileged ICMP datagram sockets (``privileged=False``, what the service uses) and
raw sockets (``privileged=True``, its fallback with CAP_NET_RAW). One warm-up cycle, then
``--cycles`` timed ones per size and mode: wall time (median and max), CPU time of the
process, echo requests sent and lost, targets failed. Target: 500 targets in at most the
ping timeout + 0.5 s with no false loss. Needs root (namespaces; raw sockets).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from testbed.lab import lab_available
from watchdog.errors import EX_NOPERM

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (100, 500, 1000)
DEFAULT_CYCLES = 10
MODES = {"datagram": False, "raw": True}
TARGET_SIZE = 500
# Seconds beyond the ping timeout a cycle of TARGET_SIZE targets may take.
SLACK_S = 0.5
COMMAND_TIMEOUT = 600.0


def target_address(index: int) -> str:
    """The ``index``-th target (0-based): 127.1.0.1, 127.1.0.2, …, 127.1.0.250, 127.1.1.1, …"""
    if not 0 <= index < 250 * 256:
        raise ValueError("index out of range")
    return f"127.1.{index // 250}.{index % 250 + 1}"


@dataclass(frozen=True, slots=True)
class CycleRun:
    """One timed cycle."""

    wall_s: float
    cpu_s: float
    sent: int
    lost: int
    failed_targets: int
    errors: dict[str, int]


@dataclass(frozen=True, slots=True)
class SizeResult:
    """The timed cycles of one size in one mode, summarised."""

    mode: str
    targets: int
    cycles: list[CycleRun]
    ping_timeout_s: float

    @property
    def median_s(self) -> float:
        return statistics.median(run.wall_s for run in self.cycles)

    @property
    def max_s(self) -> float:
        return max(run.wall_s for run in self.cycles)

    @property
    def cpu_median_s(self) -> float:
        return statistics.median(run.cpu_s for run in self.cycles)

    @property
    def sent(self) -> int:
        return sum(run.sent for run in self.cycles)

    @property
    def lost(self) -> int:
        return sum(run.lost for run in self.cycles)

    @property
    def loss_percent(self) -> float:
        return 100.0 * self.lost / self.sent if self.sent else 0.0

    @property
    def within_target(self) -> bool:
        """Every cycle within timeout + slack, and no echo request lost."""
        return self.max_s <= self.ping_timeout_s + SLACK_S and self.lost == 0

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document.update(median_s=round(self.median_s, 3), max_s=round(self.max_s, 3),
                        cpu_median_s=round(self.cpu_median_s, 3), sent=self.sent,
                        lost=self.lost, loss_percent=round(self.loss_percent, 3),
                        within_target=self.within_target)
        return document


def size_result_from_json(document: dict[str, Any]) -> SizeResult:
    return SizeResult(document["mode"], document["targets"],
                      [CycleRun(**run) for run in document["cycles"]],
                      document["ping_timeout_s"])


# --- the worker: runs inside the namespace -------------------------------------------------------


def worker(sizes: Sequence[int], cycles: int, modes: Sequence[str]) -> list[dict[str, Any]]:
    """Time ``cycles`` real cycles per size and mode (after one warm-up); JSON-ready."""
    from watchdog.config.schema import PingTarget, ScheduleConfig
    from watchdog.probes.cycle import CyclePlan, run_cycle

    schedule = ScheduleConfig()
    out: list[dict[str, Any]] = []
    for mode in modes:
        for size in sizes:
            plan = CyclePlan(
                pings=tuple(PingTarget(f"t{index}", target_address(index))
                            for index in range(size)),
                gateway=None, gateway_note="gateway probing disabled", dns=(), http=(),
                ping_timeout=schedule.ping_timeout.total_seconds(),
                pings_per_target=schedule.pings_per_target,
                dns_timeout=schedule.dns_timeout.total_seconds(),
                http_timeout=schedule.http_timeout.total_seconds(),
                privileged=MODES[mode],
            )
            run_cycle(plan)
            runs: list[CycleRun] = []
            for _ in range(cycles):
                cpu, began = time.process_time(), time.perf_counter()
                result = run_cycle(plan)
                wall, cpu = time.perf_counter() - began, time.process_time() - cpu
                errors = Counter(r.error or "" for r in result.results if not r.ok)
                runs.append(CycleRun(
                    wall_s=round(wall, 4), cpu_s=round(cpu, 4),
                    sent=sum(r.sent for r in result.results),
                    lost=sum(r.sent - r.received for r in result.results),
                    failed_targets=sum(not r.ok for r in result.results),
                    errors=dict(errors)))
            out.append(SizeResult(mode, size, runs, plan.ping_timeout).as_json())
    return out


# --- the namespace ------------------------------------------------------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def loopback_namespace() -> Iterator[str]:
    """A network namespace holding only ``lo`` (up), ping sockets allowed to every group;
    deleted on exit, with anything still running in it."""
    name = f"wd-{os.getpid()}-targets"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-q", "-w",
                        "net.ipv4.ping_group_range=0 2147483647"],
                       check=True, capture_output=True, timeout=30)
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                              timeout=30, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30,
                       check=False)


def measure(sizes: Sequence[int], cycles: int,
            modes: Sequence[str] = tuple(MODES)) -> list[SizeResult]:
    """Run the worker in a loopback namespace of its own; returns its results."""
    with loopback_namespace() as name:
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-m", "bench.targets", "--worker",
             "--sizes", ",".join(map(str, sizes)), "--cycles", str(cycles),
             "--modes", ",".join(modes)],
            capture_output=True, text=True, cwd=REPO, env=environment,
            timeout=COMMAND_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the cycle worker failed ({done.returncode}):\n{done.stderr}")
    return [size_result_from_json(item) for item in json.loads(done.stdout)]


def format_results(results: Sequence[SizeResult]) -> str:
    lines = [f"{'mode':<9} {'targets':>7}  {'median':>8}  {'max':>8}  {'CPU':>7}  "
             f"{'sent':>6}  {'lost':>5}  {'failed':>6}", "-" * 66]
    for result in results:
        failed = max(run.failed_targets for run in result.cycles)
        lines.append(f"{result.mode:<9} {result.targets:>7}  {result.median_s:>6.3f} s  "
                     f"{result.max_s:>6.3f} s  {result.cpu_median_s:>5.2f} s  "
                     f"{result.sent:>6}  {result.lost:>5}  {failed:>6}")
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(text)
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targets",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="ping targets per cycle, comma-separated (default 100,500,1000)")
    parser.add_argument("--cycles", type=int, default=DEFAULT_CYCLES,
                        help=f"timed cycles per size and mode (default {DEFAULT_CYCLES})")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="datagram,raw (default both)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        sizes = _sizes(args.sizes)
    except ValueError:
        parser.error(f"--sizes {args.sizes!r} must be positive whole numbers, comma-separated")
    modes = [mode for mode in args.modes.split(",") if mode]
    if not modes or any(mode not in MODES for mode in modes):
        parser.error(f"--modes must be among {', '.join(MODES)}")
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    if args.worker:
        print(json.dumps(worker(sizes, args.cycles, modes)))
        return 0
    reason = lab_available()
    if reason:
        print(f"bench.targets: cannot measure: it {reason} (a namespace of its own, raw "
              "sockets); run it as root.", file=sys.stderr)
        return EX_NOPERM
    results = measure(sizes, args.cycles, modes)
    print(format_results(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([result.as_json() for result in results], indent=2)
                            + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
