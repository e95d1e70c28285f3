"""False outages: does the real daemon call an outage when the link is only degraded?

    sudo .venv/bin/python -m bench.false_outages [--minutes 10] [--scenario NAME,...] [--out F]

Each scenario builds its own end-to-end lab (testbed/lab: office ↔ router ↔ internet
with three ping targets, two resolvers and a web server), runs ``watchdog run`` in the office
at the shipped default schedule and detection (only the targets and the database differ from
the shipped config), waits until the link is recorded ``up``, applies one fault and holds it
for ``--minutes``:

- ``loss``: 30 % random packet loss on the router, on the packets it forwards *from the LAN*
  (``Lab.packet_loss(30, "up")``). One direction only, so that every probe fails with exactly
  30 % probability (a dropped request never reaches the host, which is what a lost reply does
  to the prober too); both directions would make it 51 %. The gateway itself is never dropped.
  DNS queries and web requests through the router lose 30 % of their packets as well.
- ``dead_target``: one of the three ping targets (203.0.113.3) removed from the internet:
  its packets are dropped silently, as a dead host's.
- ``dead_resolver``: one of the two resolvers (203.0.113.54) stopped: its port answers ICMP
  port unreachable.

Measured per scenario, over the hold (from the instant right after the fault to the end):
the outages recorded (target 0), the blips, the time spent in each state and the dominant
state (expected ``degraded``), how long after the fault ``degraded`` was first recorded, and
the ping loss the daemon recorded. When an outage is recorded, the intervals, blips and
failing samples around it are kept in the JSON, so the mechanism can be read, not guessed.
Needs root (network namespaces); without it, it says so and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.detection import check_default_settings, settings_of
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import Interval, ping_loss_percent, read_intervals
from testbed.lab import Lab, lab_available
from testbed.lab.topology import DNS_SERVERS, PING_TARGETS
from watchdog.errors import EX_NOPERM
from watchdog.store.invariants import timeline_problems
from watchdog.store.reader import BlipRow, OutageRow, connect, read_blips, read_outages

DEFAULT_MINUTES = 10.0
EXPECTED_STATE = "degraded"
# How long the daemon may take to record "up" after it starts.
START_DEADLINE = 60.0
# Around an outage, how much of the timeline the JSON keeps to explain it.
CONTEXT = timedelta(minutes=2)
LOSS_PERCENT = 30.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """One fault that is not an outage: how to apply it, and what it is."""

    name: str
    title: str
    detail: str
    apply: Callable[[Lab], datetime]


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario for scenario in (
        Scenario("loss", "30 % random loss",
                 f"{LOSS_PERCENT:g} % of the packets from the LAN dropped by the router",
                 lambda lab: lab.packet_loss(LOSS_PERCENT, "up")),
        Scenario("dead_target", "one of three ping targets dead",
                 f"ping target {PING_TARGETS[2]} removed from the internet",
                 lambda lab: lab.remove_target(PING_TARGETS[2])),
        Scenario("dead_resolver", "one of two resolvers dead",
                 f"resolver {DNS_SERVERS[1]} stopped (port unreachable)",
                 lambda lab: lab.stop_dns(DNS_SERVERS[1])),
    )
}


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """What the daemon recorded during one scenario's hold."""

    name: str
    title: str
    detail: str
    fault_at: datetime
    ended_at: datetime
    outages: list[dict[str, Any]]
    outages_before_fault: int
    blips: int
    seconds_by_state: dict[str, float]
    dominant_state: str
    first_degraded_after_s: float | None
    echo_requests: int
    ping_loss_percent: float | None
    timeline_problems: list[str]
    daemon_exit_code: int | None
    explanations: list[dict[str, Any]] = field(default_factory=list)
    # Every blip of the hold (short failures dismissed before confirmation), as recorded.
    blip_list: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hold_s(self) -> float:
        return (self.ended_at - self.fault_at).total_seconds()

    @property
    def ok(self) -> bool:
        return not self.outages and self.dominant_state == EXPECTED_STATE

    def share(self, state: str) -> float:
        """The fraction of the hold spent in ``state`` (0 to 1)."""
        total = sum(self.seconds_by_state.values())
        return self.seconds_by_state.get(state, 0.0) / total if total else 0.0

    def summary(self) -> str:
        """One line: outages, blips, dominant state and its share."""
        shares = ", ".join(f"{state} {100 * self.share(state):.1f} %"
                           for state, _ in sorted(self.seconds_by_state.items(),
                                                  key=lambda item: -item[1]))
        first = ("never" if self.first_degraded_after_s is None
                 else f"{self.first_degraded_after_s:.0f} s after the fault")
        return (f"{len(self.outages)} outage(s), {self.blips} blip(s); {shares}; "
                f"degraded first recorded {first}")

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["fault_at"] = self.fault_at.isoformat()
        document["ended_at"] = self.ended_at.isoformat()
        document["hold_s"] = round(self.hold_s, 1)
        document["ok"] = self.ok
        return document


def seconds_by_state(intervals: Sequence[Interval], start: datetime,
                     end: datetime) -> dict[str, float]:
    """Seconds spent in each state within [``start``, ``end``] (an open interval runs to
    ``end``); states never entered are left out."""
    seconds: dict[str, float] = {}
    for interval in intervals:
        began = max(interval.started_at, start)
        ended = min(interval.ended_at or end, end)
        if ended > began:
            seconds[interval.state] = seconds.get(interval.state, 0.0) + (
                ended - began).total_seconds()
    return seconds


def dominant(seconds: dict[str, float]) -> str:
    """The state with the most time (``unknown`` when nothing was recorded)."""
    return max(seconds.items(), key=lambda item: item[1])[0] if seconds else "unknown"


def first_entered(intervals: Sequence[Interval], state: str, since: datetime) -> float | None:
    """Seconds from ``since`` to the first interval in ``state`` that holds at or after it."""
    for interval in intervals:
        if interval.state == state and (interval.ended_at is None or interval.ended_at > since):
            return max(0.0, (interval.started_at - since).total_seconds())
    return None


def _outage_json(outage: OutageRow) -> dict[str, Any]:
    return {"id": outage.id, "kind": outage.kind, "started_at": outage.started_at.isoformat(),
            "ended_at": None if outage.ended_at is None else outage.ended_at.isoformat(),
            "duration_s": outage.duration_s, "cause": outage.cause,
            "evidence": outage.evidence}


def _blip_json(blip: BlipRow) -> dict[str, Any]:
    return {"state": blip.state, "started_at": blip.started_at.isoformat(),
            "ended_at": blip.ended_at.isoformat(), "cycles": blip.cycles, "cause": blip.cause}


def _failures_between(database: Path, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Failing samples in [start, end]: when, which target, why (for an explanation)."""
    with connect(database) as connection:
        rows = connection.execute(
            "SELECT s.at_ms, t.kind, t.name, s.sent, s.received, e.text FROM sample s "
            "JOIN target t ON t.id = s.target_id LEFT JOIN probe_error e ON e.id = s.error_id "
            "WHERE s.ok = 0 AND s.at_ms BETWEEN ? AND ? ORDER BY s.at_ms",
            (int(start.timestamp() * 1000), int(end.timestamp() * 1000))).fetchall()
    return [{"at": datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(), "kind": kind,
             "target": name, "sent": sent, "received": received, "error": error}
            for at_ms, kind, name, sent, received, error in rows]


def explain(database: Path, outage: OutageRow, intervals: Sequence[Interval],
            blips: Sequence[BlipRow]) -> dict[str, Any]:
    """The timeline around ``outage``: intervals, blips and failing samples within
    ``CONTEXT`` of it, as recorded."""
    start = outage.started_at - CONTEXT
    end = (outage.ended_at or outage.started_at) + CONTEXT
    return {
        "outage": _outage_json(outage),
        "intervals": [{"state": i.state, "started_at": i.started_at.isoformat(),
                       "ended_at": None if i.ended_at is None else i.ended_at.isoformat(),
                       "cause": i.cause}
                      for i in intervals if (i.ended_at or end) >= start and i.started_at <= end],
        "blips": [_blip_json(b) for b in blips if b.ended_at >= start and b.started_at <= end],
        "failing_samples": _failures_between(database, start, end),
    }


@contextmanager
def daemon_at_defaults(work: Path, **overrides: Any) -> Iterator[tuple[Lab, LabDaemon]]:
    """A lab and the real daemon in its office at the shipped default schedule and detection
    (only the lab's targets and the database differ, and the config's tables ``overrides``
    gives, as ``Lab.write_config`` takes them), started and recorded ``up``."""
    with Lab() as lab:
        config = lab.write_config(work / "watchdog.toml", schedule=None, detection=None,
                                  **overrides)
        with LabDaemon(lab, config) as daemon:
            check_default_settings(daemon.settings)
            daemon.start()
            daemon.wait_for_state("up", timeout=START_DEADLINE)
            yield lab, daemon


def run_scenario(scenario: Scenario, hold: timedelta, work: Path, *,
                 progress: Callable[[str], None] = print) -> tuple[ScenarioResult, dict[str, Any]]:
    """One scenario in a lab of its own; returns its result and the daemon's settings."""
    with daemon_at_defaults(work) as (lab, daemon):
        settings = settings_of(daemon.settings)
        fault_at = scenario.apply(lab)
        until = fault_at + hold
        minute = 0
        while (left := (until - datetime.now(UTC)).total_seconds()) > 0:
            daemon.hold(min(until, datetime.now(UTC) + timedelta(seconds=min(left, 60))),
                        unwanted=lambda: None)
            minute += 1
            status = daemon.status()
            progress(f"{scenario.name}: {min(minute, round(hold.total_seconds() / 60))} of "
                     f"{hold.total_seconds() / 60:g} min, state {status.state}, "
                     f"{len(daemon.outages())} outage(s)")
        ended_at = datetime.now(UTC)
        database = daemon.database
        exit_code = daemon.stop()
    intervals = read_intervals(database) if database.exists() else []
    return _result(scenario, database, fault_at, ended_at, intervals, exit_code), settings


def _result(scenario: Scenario, database: Path, fault_at: datetime, ended_at: datetime,
            intervals: list[Interval], exit_code: int | None) -> ScenarioResult:
    outages = read_outages(database, None)
    blips = read_blips(database, None)
    held = [blip for blip in blips if blip.ended_at >= fault_at]
    during = [outage for outage in outages if (outage.ended_at or ended_at) >= fault_at]
    sent, loss = ping_loss_percent(database, fault_at)
    seconds = seconds_by_state(intervals, fault_at, ended_at)
    return ScenarioResult(
        name=scenario.name, title=scenario.title, detail=scenario.detail, fault_at=fault_at,
        ended_at=ended_at, outages=[_outage_json(outage) for outage in during],
        outages_before_fault=len(outages) - len(during),
        blips=len(held),
        seconds_by_state={state: round(value, 1) for state, value in seconds.items()},
        dominant_state=dominant(seconds),
        first_degraded_after_s=first_entered(intervals, EXPECTED_STATE, fault_at),
        echo_requests=sent, ping_loss_percent=None if loss is None else round(loss, 2),
        timeline_problems=timeline_problems(database),
        daemon_exit_code=exit_code,
        explanations=[explain(database, outage, intervals, blips) for outage in during],
        blip_list=[_blip_json(blip) for blip in held],
    )


def format_results(results: Sequence[ScenarioResult]) -> str:
    """One line per scenario, and the mechanism of every outage recorded."""
    lines = []
    for result in results:
        verdict = "ok" if result.ok else "MISSED"
        lines.append(f"{result.title:<32} {result.hold_s / 60:4.1f} min  {result.summary()}"
                     f"  [{verdict}]")
        for blip in result.blip_list:
            lines.append(f"  blip {blip['state']} {blip['started_at']} ({blip['cycles']} "
                         f"cycle(s)): {blip['cause']}")
        for explanation in result.explanations:
            outage = explanation["outage"]
            lines.append(f"  outage {outage['id']} ({outage['kind']}) {outage['started_at']} → "
                         f"{outage['ended_at']}: {outage['cause']}")
            for interval in explanation["intervals"]:
                lines.append(f"    interval {interval['state']:<9} {interval['started_at']} → "
                             f"{interval['ended_at']}  {interval['cause']}")
            for blip in explanation["blips"]:
                lines.append(f"    blip {blip['state']} {blip['started_at']} → "
                             f"{blip['ended_at']} ({blip['cycles']} cycles) {blip['cause']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.false_outages",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                        help=f"how long each fault is held (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--scenario", default=",".join(SCENARIOS),
                        help=f"which, comma-separated (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.scenario.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; use {', '.join(SCENARIOS)}")
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    reason = lab_available()
    if reason:
        print(f"bench.false_outages: cannot measure: the lab {reason}; run it as root.",
              file=sys.stderr)
        return EX_NOPERM
    results: list[ScenarioResult] = []
    for name in names:
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"wd-bench-false-{name}-") as work:
            result, _settings = run_scenario(SCENARIOS[name], timedelta(minutes=args.minutes),
                                             Path(work))
        results.append(result)
        print(f"{name}: done in {time.monotonic() - began:.0f} s", flush=True)
    print()
    print(format_results(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([result.as_json() for result in results], indent=2,
                                       ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
