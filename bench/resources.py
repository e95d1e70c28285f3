"""The real daemon's memory and CPU with the link up, at the shipped default settings.

    sudo .venv/bin/python -m bench.resources [--minutes 5] [--every 5] [--out FILE]

Builds the end-to-end lab (testbed/lab) and runs ``watchdog run`` in its office at the
default schedule and detection against the lab's real targets (three ping targets, two
resolvers and two web checks in the internet namespace; only the addresses and the database
differ from the shipped config). Once the link is recorded ``up`` it samples the daemon's
process every ``--every`` seconds for ``--minutes``:

- memory: ``VmRSS`` from ``/proc/PID/status`` (resident set: what the process costs the
  machine), with ``VmHWM`` (its peak) at the end;
- CPU: ``utime + stime`` from ``/proc/PID/stat`` (all its threads, in clock ticks); the
  figure is CPU seconds over wall seconds between the first and the last sample, in percent
  of one core.

Reported: RSS at the first and last sample, its maximum, its growth after the first minute
(``flat`` when that is at most ``FLAT_GROWTH_KIB``, i.e. no growth beyond page-level noise),
the least-squares trend in MiB per hour, and the CPU percentage. Needs root (namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.detection import settings_of
from bench.false_outages import daemon_at_defaults
from testbed.lab import lab_available
from watchdog.errors import EX_NOPERM

DEFAULT_MINUTES = 5.0
DEFAULT_EVERY = 5.0
# RSS growth after the warm-up minute still counted as flat (allocator and page noise).
FLAT_GROWTH_KIB = 1024
WARMUP_S = 60.0
TARGET_RSS_MB = 70.0
TARGET_CPU_PERCENT = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the process: seconds since the first, RSS (KiB), CPU ticks so far."""

    t_s: float
    rss_kib: int
    cpu_ticks: int


def read_rss_kib(status_text: str, key: str = "VmRSS") -> int:
    """``key`` (kB) from the text of ``/proc/PID/status``."""
    for line in status_text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise ValueError(f"no {key} in /proc/PID/status")


def read_cpu_ticks(stat_text: str) -> int:
    """utime + stime (fields 14 and 15) from the text of ``/proc/PID/stat`` (the command
    name, in parentheses, may hold spaces: fields are counted after its closing one)."""
    fields = stat_text.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def sample(pid: int, t_s: float) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    return Sample(t_s, read_rss_kib(status), read_cpu_ticks(stat))


def trend_mib_per_hour(samples: Sequence[Sample]) -> float:
    """Least-squares slope of RSS over time, in MiB per hour (0 with fewer than 2 samples)."""
    if len(samples) < 2:
        return 0.0
    slope = statistics.linear_regression([s.t_s for s in samples],
                                         [s.rss_kib / 1024 for s in samples]).slope
    return slope * 3600


@dataclass(frozen=True, slots=True)
class Usage:
    """The figures of one run (memory in MB of 10⁶ bytes, as the targets are written)."""

    seconds: float
    samples: int
    rss_start_mb: float
    rss_end_mb: float
    rss_max_mb: float
    rss_peak_hwm_mb: float | None
    growth_after_warmup_kib: int
    trend_mib_per_hour: float
    cpu_percent: float

    @property
    def flat(self) -> bool:
        return self.growth_after_warmup_kib <= FLAT_GROWTH_KIB

    @property
    def memory_ok(self) -> bool:
        return self.rss_max_mb <= TARGET_RSS_MB and self.flat

    @property
    def cpu_ok(self) -> bool:
        return self.cpu_percent <= TARGET_CPU_PERCENT


def usage_of(samples: Sequence[Sample], hwm_kib: int | None = None,
             ticks_per_second: int = CLOCK_TICKS) -> Usage:
    """The figures of ``samples`` (at least two, in time order)."""
    if len(samples) < 2:
        raise ValueError("need at least two samples")
    first, last = samples[0], samples[-1]
    seconds = last.t_s - first.t_s
    warm = [s for s in samples if s.t_s - first.t_s >= WARMUP_S] or [last]
    cpu = 100.0 * (last.cpu_ticks - first.cpu_ticks) / ticks_per_second / seconds
    mb = 1024 / 1e6
    return Usage(
        seconds=round(seconds, 1), samples=len(samples),
        rss_start_mb=round(first.rss_kib * mb, 1), rss_end_mb=round(last.rss_kib * mb, 1),
        rss_max_mb=round(max(s.rss_kib for s in samples) * mb, 1),
        rss_peak_hwm_mb=None if hwm_kib is None else round(hwm_kib * mb, 1),
        growth_after_warmup_kib=max(s.rss_kib for s in warm) - warm[0].rss_kib,
        trend_mib_per_hour=round(trend_mib_per_hour(warm), 2),
        cpu_percent=round(cpu, 3),
    )


def measure(minutes: float, every: float, work: Path, *,
            progress: Callable[[str], None] = print) -> tuple[Usage, list[Sample],
                                                               dict[str, Any]]:
    """Run the daemon in a lab of its own and sample it; returns the figures, the samples and
    the daemon's settings."""
    with daemon_at_defaults(work) as (_lab, daemon):
        settings = settings_of(daemon.settings)
        pid = daemon.pid
        began = time.monotonic()
        samples = [sample(pid, 0.0)]
        deadline = began + minutes * 60
        next_at = began + every
        while next_at <= deadline + 1e-6:
            time.sleep(max(0.0, next_at - time.monotonic()))
            samples.append(sample(pid, time.monotonic() - began))
            next_at += every
            if len(samples) % max(1, round(60 / every)) == 0:
                progress(f"resources: {samples[-1].t_s / 60:.0f} of {minutes:g} min, RSS "
                         f"{samples[-1].rss_kib / 1024:.1f} MiB")
        hwm = read_rss_kib(Path(f"/proc/{pid}/status").read_text(), "VmHWM")
        state = daemon.status().state
        daemon.stop()
    settings["state_at_end"] = state
    return usage_of(samples, hwm), samples, settings


def format_usage(usage: Usage) -> str:
    return (f"RSS start {usage.rss_start_mb} MB, end {usage.rss_end_mb} MB, max "
            f"{usage.rss_max_mb} MB (peak {usage.rss_peak_hwm_mb} MB); growth after the first "
            f"minute {usage.growth_after_warmup_kib} KiB ({'flat' if usage.flat else 'GROWING'},"
            f" trend {usage.trend_mib_per_hour:+.2f} MiB/h); CPU {usage.cpu_percent:.2f} % of "
            f"one core over {usage.seconds:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.resources",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                        help=f"how long to sample (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--every", type=float, default=DEFAULT_EVERY,
                        help=f"seconds between samples (default {DEFAULT_EVERY:g})")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.every <= 0 or args.every > args.minutes * 60:
        parser.error("--minutes and --every must be positive, --every within --minutes")
    reason = lab_available()
    if reason:
        print(f"bench.resources: cannot measure: the lab {reason}; run it as root.",
              file=sys.stderr)
        return EX_NOPERM
    with tempfile.TemporaryDirectory(prefix="wd-bench-resources-") as work:
        usage, samples, settings = measure(args.minutes, args.every, Path(work))
    print(format_usage(usage))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "measured_at": datetime.now(UTC).isoformat(), "usage": asdict(usage),
            "samples": [asdict(s) for s in samples], "settings": settings}, indent=2) + "\n",
            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
