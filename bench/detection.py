"""How fast and how exactly the real daemon records a WAN cut, at the shipped default settings.

    sudo .venv/bin/python -m bench.detection [--cuts N] [--quick] [--seed S] [--out FILE]

Builds the end-to-end lab (testbed/lab: office ↔ router ↔ internet in network namespaces),
runs ``watchdog run`` in the office with the default schedule and detection (pings every 2 s,
1 s timeout, retries every 1 s, 3 cycles to confirm down and up; only the targets and the
database differ from the shipped config), and cuts the router's WAN ``--cuts`` times, each
after a random delay so the cut falls at a random phase of the probe cycle. Each cut is held
8 s ± half a ping interval, at random (so the restore, too, falls at a random phase: a hold of
exactly 8 s, four intervals, would restore at the cut's own phase and make the end error a copy
of the start error), and never less than until the outage is recorded; then the WAN is restored
and the link left to recover. The database is polled every 50 ms. Per cut it measures:

- cut → down recorded: when the outage row first appears in the database, minus the cut;
- start error: the recorded ``started_at`` minus the cut (back-dating to the first failing probe);
- end error: the recorded ``ended_at`` minus the restore;
- restore → recovery recorded: when ``ended_at`` first appears, minus the restore.

It prints a table (per cut, then median and max) and writes JSON to
``bench/results/detection-<UTC date>.json``. ``--quick`` restores as soon as the outage is
recorded and settles less between cuts (a smoke run; the schedule stays the default).
Needs root (network namespaces); without it, it says so and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import find_outage
from testbed.daemon.waiting import POLL_INTERVAL
from testbed.lab import Lab, lab_available
from watchdog.config import Config
from watchdog.config.schema import DetectionConfig, ScheduleConfig
from watchdog.errors import EX_NOPERM
from watchdog.store.invariants import timeline_problems
from watchdog.store.reader import connect, read_blips

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_CUTS = 5
# How long each cut lasts, from the cut to the restore, give or take half a ping interval at
# random (and at least until the outage is recorded).
HOLD = timedelta(seconds=8)
# How long a wait on the database may take: detection at the defaults takes ~3-5 s, up to
# ~9 s when the 30-s DNS and HTTP checks (5 s HTTP timeout) fall inside the cut.
DEADLINE = 60.0

METRICS: tuple[tuple[str, str], ...] = (
    ("detection_s", "cut → down recorded"),
    ("start_error_s", "recorded start − cut"),
    ("end_error_s", "recorded end − restore"),
    ("recovery_s", "restore → up recorded"),
)


class MeasuredCut:
    """What every cut's record shares: its metrics (seconds derived from its instants, named
    in ``METRIC_NAMES`` by the subclass) and its JSON form (instants as ISO text, metrics
    rounded to the millisecond)."""

    __slots__ = ()
    METRIC_NAMES: ClassVar[tuple[tuple[str, str], ...]] = ()

    def metric(self, name: str) -> float:
        value: float = getattr(self, name)
        return value

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()  # type: ignore[call-overload]
        }
        for name, _ in self.METRIC_NAMES:
            document[name] = round(self.metric(name), 3)
        return document


@dataclass(frozen=True, slots=True)
class CutResult(MeasuredCut):
    """One WAN cut: the lab's instants (right after each kernel change), when the poller first
    saw the outage and its end in the database, and what the daemon recorded."""

    number: int
    delay_s: float
    hold_s: float
    cut_at: datetime
    restored_at: datetime
    down_seen_at: datetime
    recovery_seen_at: datetime
    recorded_start: datetime
    recorded_end: datetime
    outage_id: int
    kind: str
    # Whether the 30-s DNS/HTTP checks ran between the cut and the outage being recorded
    # (such a cycle lasts up to the HTTP timeout, so it delays the confirmation).
    checks_during_detection: bool
    METRIC_NAMES: ClassVar[tuple[tuple[str, str], ...]] = METRICS

    @property
    def detection_s(self) -> float:
        return (self.down_seen_at - self.cut_at).total_seconds()

    @property
    def start_error_s(self) -> float:
        return (self.recorded_start - self.cut_at).total_seconds()

    @property
    def end_error_s(self) -> float:
        return (self.recorded_end - self.restored_at).total_seconds()

    @property
    def recovery_s(self) -> float:
        return (self.recovery_seen_at - self.restored_at).total_seconds()



@dataclass(frozen=True, slots=True)
class Summary:
    """Median, maximum and minimum of one metric over the cuts."""

    median: float
    max: float
    min: float


def summarize(values: Sequence[float]) -> Summary:
    """Median (mean of the two middle values for an even count), max and min."""
    if not values:
        raise ValueError("no values to summarize")
    return Summary(statistics.median(values), max(values), min(values))


def summaries(cuts: Sequence[CutResult]) -> dict[str, Summary]:
    """Every metric of ``METRICS`` summarized over ``cuts``."""
    return {name: summarize([cut.metric(name) for cut in cuts]) for name, _ in METRICS}


def format_table(cuts: Sequence[CutResult]) -> str:
    """The per-cut table, then a median and a max row (seconds; errors signed). ``delay`` is
    the random wait before the cut, ``hold`` the cut's length, ``checks`` whether the 30-s
    DNS/HTTP checks ran while the outage was being confirmed."""
    headers = ["cut", "delay", "hold", *(label for _, label in METRICS), "checks"]
    signed = {"start_error_s", "end_error_s"}

    def cell(name: str, value: float) -> str:
        return f"{value:+.2f} s" if name in signed else f"{value:.2f} s"

    rows = [
        [str(cut.number), f"{cut.delay_s:.2f} s", f"{cut.hold_s:.2f} s",
         *(cell(name, cut.metric(name)) for name, _ in METRICS),
         "yes" if cut.checks_during_detection else "no"]
        for cut in cuts
    ]
    if cuts:
        summary = summaries(cuts)
        rows.append(["median", "", "", *(cell(n, summary[n].median) for n, _ in METRICS), ""])
        rows.append(["max", "", "", *(cell(n, summary[n].max) for n, _ in METRICS), ""])
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(text.rjust(width) for text, width in zip(row, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    body = [line(row) for row in rows]
    if cuts:
        body.insert(len(cuts), rule)
    return "\n".join([line(headers), rule, *body])


def settings_of(config: Config) -> dict[str, Any]:
    """The schedule and detection settings of ``config`` (durations in seconds), for the JSON."""
    def plain(value: Any) -> Any:
        return value.total_seconds() if isinstance(value, timedelta) else value

    return {
        "schedule": {k: plain(v) for k, v in asdict(config.schedule).items()},
        "detection": {k: plain(v) for k, v in asdict(config.detection).items()},
        "ping_targets": len(config.ping),
        "dns_checks": len(config.dns),
        "http_checks": len(config.http),
    }


def check_default_settings(config: Config) -> None:
    """Raise ``ValueError`` unless ``config``'s schedule and detection are the shipped defaults."""
    differing = [
        f"{section}.{key} = {value!r} (default {getattr(default, key)!r})"
        for section, actual, default in (
            ("schedule", config.schedule, ScheduleConfig()),
            ("detection", config.detection, DetectionConfig()),
        )
        for key, value in asdict(actual).items()
        if value != getattr(default, key)
    ]
    if differing:
        raise ValueError("the benchmark config is not at the default settings: "
                         + "; ".join(differing))


def results_document(
    cuts: Sequence[CutResult],
    *,
    settings: dict[str, Any],
    seed: int,
    quick: bool,
    started_at: datetime,
    finished_at: datetime,
    checks: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured, as the JSON written to ``bench/results``."""
    return {
        "benchmark": "detection",
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "host": {"python": platform.python_version(), "kernel": platform.release(),
                 "cpus": os.cpu_count()},
        "settings": settings,
        "method": {"cuts": len(cuts), "quick": quick, "seed": seed,
                   "hold_s": None if quick else HOLD.total_seconds(),
                   "hold_jitter_s": None if quick else _hold_jitter(settings),
                   "poll_interval_s": POLL_INTERVAL},
        "cuts": [cut.as_json() for cut in cuts],
        "summary": {name: {"median": round(s.median, 3), "max": round(s.max, 3),
                           "min": round(s.min, 3)}
                    for name, s in (summaries(cuts).items() if cuts else ())},
        "checks": checks,
    }


def _hold_jitter(settings: dict[str, Any]) -> float | None:
    interval = settings.get("schedule", {}).get("ping_interval")
    return None if interval is None else interval / 2


def default_output(day: date) -> Path:
    """``bench/results/detection-YYYY-MM-DD.json`` for the UTC ``day``."""
    return RESULTS_DIR / f"detection-{day.isoformat()}.json"


def write_results(document: dict[str, Any], path: Path) -> Path:
    """Write ``document`` as indented JSON at ``path`` (creating its directory); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- the measurement (needs the lab, so root) --------------------------------------------------


def _checks_ran(database: Path, since: datetime, until: datetime) -> bool:
    with connect(database) as connection:
        count = connection.execute(
            "SELECT COUNT(*) FROM sample s JOIN target t ON t.id = s.target_id "
            "WHERE t.kind IN ('dns', 'http') AND s.at_ms BETWEEN ? AND ?",
            (int(since.timestamp() * 1000), int(until.timestamp() * 1000)),
        ).fetchone()[0]
    return bool(count)


def measure_cut(
    lab: Lab, daemon: LabDaemon, number: int, rng: random.Random, *, quick: bool
) -> CutResult:
    """One cut on a running lab and daemon; waits for the link to be up first."""
    interval = daemon.settings.schedule.ping_interval.total_seconds()
    daemon.wait_for_state("up", timeout=DEADLINE)
    known = {outage.id for outage in daemon.outages()}
    # Settle one interval after the recovery (quick: not at all), then a random phase.
    delay = rng.uniform(0.0, interval)
    hold = HOLD + timedelta(seconds=rng.uniform(-interval / 2, interval / 2))
    time.sleep(delay + (0.0 if quick else interval))
    cut = lab.cut_wan()
    down = daemon.poll(lambda: find_outage(daemon.database, exclude=known),
                       timeout=DEADLINE, what=f"the outage of cut {number}")
    restore_at = down.at if quick else max(down.at, cut + hold)
    time.sleep(max(0.0, (restore_at - datetime.now(UTC)).total_seconds()))
    restored = lab.restore_wan()
    up = daemon.wait_for_outage(ended=True, outage_id=down.value.id, timeout=DEADLINE)
    daemon.wait_for_state("up", timeout=DEADLINE)
    assert up.value.ended_at is not None
    return CutResult(
        number=number, delay_s=round(delay, 3),
        hold_s=round((restored - cut).total_seconds(), 3), cut_at=cut, restored_at=restored,
        down_seen_at=down.at, recovery_seen_at=up.at, recorded_start=up.value.started_at,
        recorded_end=up.value.ended_at, outage_id=up.value.id, kind=up.value.kind,
        checks_during_detection=_checks_ran(daemon.database, cut, down.at),
    )


def run(cuts: int, *, quick: bool, seed: int, out: Path) -> tuple[list[CutResult], Path]:
    """Build the lab, start the daemon at the default settings, measure ``cuts`` cuts, write
    the JSON to ``out``; return the cuts and the path."""
    rng = random.Random(seed)
    started_at = datetime.now(UTC)
    results: list[CutResult] = []
    with tempfile.TemporaryDirectory(prefix="wd-bench-detection-") as work, Lab() as lab:
        # Only the targets (the lab's) and the database differ from the shipped defaults.
        config_path = lab.write_config(Path(work) / "watchdog.toml", schedule=None,
                                       detection=None)
        with LabDaemon(lab, config_path) as daemon:
            config = daemon.settings
            check_default_settings(config)
            daemon.start()
            for number in range(1, cuts + 1):
                result = measure_cut(lab, daemon, number, rng, quick=quick)
                results.append(result)
                print(f"cut {number}/{cuts}: down recorded {result.detection_s:.2f} s after "
                      f"the cut, up {result.recovery_s:.2f} s after the restore", flush=True)
            outages = daemon.outages()
            checks = {
                "outages_recorded": len(outages),
                "outage_kinds": sorted({outage.kind for outage in outages}),
                "blips_recorded": len(read_blips(daemon.database, None)),
                "timeline_problems": timeline_problems(daemon.database),
                "daemon_exit_code": daemon.stop(),
            }
    document = results_document(
        results, settings=settings_of(config), seed=seed, quick=quick, started_at=started_at,
        finished_at=datetime.now(UTC), checks=checks,
    )
    return results, write_results(document, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.detection",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cuts", type=int, default=DEFAULT_CUTS,
                        help=f"how many WAN cuts to measure (default {DEFAULT_CUTS}, at least 1)")
    parser.add_argument("--quick", action="store_true",
                        help="restore as soon as the outage is recorded; settle less (smoke run)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the random delays (default: drawn and recorded)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the JSON file (default bench/results/detection-<UTC date>.json)")
    args = parser.parse_args(argv)
    if args.cuts < 1:
        parser.error("--cuts must be at least 1")

    reason = lab_available()
    if reason:
        print(f"bench.detection: cannot measure: the lab {reason} (it builds network "
              "namespaces and cuts a link in them); run it as root.", file=sys.stderr)
        return EX_NOPERM
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    out = args.out or default_output(datetime.now(UTC).date())
    cuts, path = run(args.cuts, quick=args.quick, seed=seed, out=out)
    print()
    print(format_table(cuts))
    print(f"\nseed {seed}; results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
