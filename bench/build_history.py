"""Write realistic history through the real storage code, to measure size and read speed.

    python -m bench.build_history --days 365 --out var/bench-1y.db

Default settings: 3 ping targets + the gateway every 2 s with 2 echo requests each, 2 DNS and
2 HTTP checks every 30 s. A few outages (ISP, DNS, LAN) and blips per month, degraded spells,
and a couple of daemon gaps (one crash, one clean restart). Each cycle is a synthetic
``CycleResult`` with its ``Transition``s and ``Blip``s, written by ``Store._record_cycles``
(the code of ``Store.record_cycle``, an hour of cycles per transaction: one transaction per
cycle would take hours for a year) and summarised by ``Store.maintain`` every simulated hour.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from watchdog.config.schema import ScheduleConfig, StorageConfig
from watchdog.link.states import Blip, LinkState, OutageKind, Transition
from watchdog.probes.results import CycleResult, ProbeKind, ProbeResult
from watchdog.store.writer import CycleRecord, Store

PING_TARGETS = (("cloudflare", "1.1.1.1"), ("google", "8.8.8.8"), ("quad9", "9.9.9.9"))
GATEWAY = ("gateway", "192.168.1.1")
DNS_CHECKS = (("cloudflare-dns", "1.1.1.1"), ("quad9-dns", "9.9.9.9"))
HTTP_CHECKS = (
    ("google-204", "http://connectivitycheck.gstatic.com/generate_204"),
    ("cloudflare-trace", "https://www.cloudflare.com/cdn-cgi/trace"),
)
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
CONFIRM_CYCLES = 3


@dataclass(frozen=True, slots=True)
class Spell:
    """A stretch of simulated time when the link is not simply up (or the daemon is off)."""

    start: datetime
    end: datetime
    kind: str  # "isp", "dns", "lan", "degraded", "blip", "crash", "restart"


def plan(days: int, start: datetime, rng: random.Random) -> list[Spell]:
    """Outages, degraded spells, blips and daemon gaps for ``days`` from ``start``, in order,
    never overlapping."""
    end = start + timedelta(days=days)
    wanted: list[tuple[str, float, float]] = []  # kind, per 30 days, typical minutes
    wanted += [("isp", 3, 40), ("dns", 0.5, 15), ("lan", 0.5, 20)]
    wanted += [("degraded", 6, 30), ("blip", 12, 0.05)]
    spells: list[Spell] = []
    for kind, per_month, minutes in wanted:
        for _ in range(max(1, round(per_month * days / 30))):
            at = start + timedelta(seconds=rng.uniform(600, (end - start).total_seconds() - 7200))
            length = timedelta(minutes=minutes * rng.lognormvariate(0, 0.8))
            if kind == "blip":
                length = timedelta(seconds=2 * rng.randint(1, CONFIRM_CYCLES - 1))
            spells.append(Spell(at, at + length, kind))
    if days >= 2:
        spells.append(Spell(start + timedelta(days=days * 0.31), start + timedelta(days=days * 0.31,
                                                                                      minutes=25),
                            "crash"))
        spells.append(Spell(start + timedelta(days=days * 0.72),
                            start + timedelta(days=days * 0.72, minutes=4), "restart"))
    spells.sort(key=lambda spell: spell.start)
    kept: list[Spell] = []
    for spell in spells:
        if not kept or spell.start > kept[-1].end + timedelta(minutes=5):
            kept.append(spell)
    return kept


class Prober:
    """Synthetic probe results for one cycle in a given condition."""

    def __init__(self, rng: random.Random) -> None:
        self._rtts = [max(0.3, rng.gauss(18.0, 4.0)) for _ in range(9973)]
        self._slow = [max(0.3, rng.gauss(420.0, 120.0)) for _ in range(997)]
        self._lossy = [rng.random() < 0.3 for _ in range(991)]
        self._index = 0

    def _rtt(self, slow: bool = False) -> float:
        self._index += 1
        pool = self._slow if slow else self._rtts
        return pool[self._index % len(pool)]

    def cycle(self, at: datetime, kind: str, checks: bool) -> CycleResult:
        """One cycle at ``at``: ``kind`` is "up" or a spell's kind."""
        if kind == "up":
            # The common case, kept lean: a year is 15.8 million cycles.
            index = self._index = self._index + 4
            rtts = self._rtts
            size = len(rtts)
            results = [
                ProbeResult("gateway", GATEWAY[0], GATEWAY[1], True, at, rtts[index % size] / 10,
                            2, 2),
                *(ProbeResult("ping", name, address, True, at, rtts[(index + offset) % size], 2, 2)
                  for offset, (name, address) in enumerate(PING_TARGETS, 1)),
            ]
            if not checks:
                return CycleResult(at, at + _CYCLE_TIME, _PING_KINDS, tuple(results))
        else:
            results = self._failing(at, kind)
        if checks:
            results += self._checks(at, kind)
        kinds = _ALL_KINDS if checks else _PING_KINDS
        return CycleResult(at, at + _CYCLE_TIME, kinds, tuple(results))

    def _failing(self, at: datetime, kind: str) -> list[ProbeResult]:
        internet = kind not in ("isp", "lan", "blip")
        results: list[ProbeResult] = []
        results.append(
            ProbeResult("gateway", GATEWAY[0], GATEWAY[1], True, at, self._rtt() / 10, 2, 2)
            if kind != "lan"
            else ProbeResult("gateway", GATEWAY[0], GATEWAY[1], False, at, None, 2, 0, "timeout")
        )
        for name, address in PING_TARGETS:
            if not internet:
                results.append(ProbeResult("ping", name, address, False, at, None, 2, 0, "timeout"))
            elif kind == "degraded":
                lost = self._lossy[self._index % len(self._lossy)]
                results.append(ProbeResult("ping", name, address, True, at, self._rtt(slow=True),
                                           2, 1 if lost else 2))
            else:
                results.append(ProbeResult("ping", name, address, True, at, self._rtt(), 2, 2))
        return results

    def _checks(self, at: datetime, kind: str) -> list[ProbeResult]:
        internet = kind not in ("isp", "lan", "blip")
        results: list[ProbeResult] = []
        dns_ok = internet and kind != "dns"
        for name, server in DNS_CHECKS:
            results.append(
                ProbeResult("dns", name, server, True, at, self._rtt() + 2, 1, 1) if dns_ok
                else ProbeResult("dns", name, server, False, at, None, 1, 0,
                                 "timeout" if not internet else "SERVFAIL")
            )
        for name, url in HTTP_CHECKS:
            results.append(
                ProbeResult("http", name, url, True, at, self._rtt() * 3, 1, 1) if dns_ok
                else ProbeResult("http", name, url, False, at, None, 1, 0, "connection timeout")
            )
        return results


_CYCLE_TIME = timedelta(milliseconds=300)
_PING_KINDS: frozenset[ProbeKind] = frozenset({"ping", "gateway"})
_ALL_KINDS: frozenset[ProbeKind] = frozenset({"ping", "gateway", "dns", "http"})


STATE_OF: dict[str, tuple[LinkState, OutageKind | None, str]] = {
    "up": ("up", None, "all targets answer"),
    "degraded": ("degraded", None, "packet loss 25% over 1 min"),
    "isp": ("down", "isp", "no ping target answers; the gateway does"),
    "dns": ("down", "dns", "every DNS resolver fails; pings work"),
    "lan": ("lan_down", "lan", "the gateway does not answer"),
}


def simulate(
    days: int, start: datetime, rng: random.Random
) -> Iterator[tuple[str, CycleRecord | datetime]]:
    """The history as events: ("cycle", record), ("crash", at), ("shutdown", at),
    ("resume", at)."""
    schedule = ScheduleConfig()
    step = schedule.ping_interval
    checks_every = round(schedule.check_interval / step)
    end = start + timedelta(days=days)
    spells = plan(days, start, rng)
    prober = Prober(rng)
    at = start
    yield "resume", at
    state = "unknown"
    number = 0
    spell_index = 0
    while at < end:
        while spell_index < len(spells) and spells[spell_index].end <= at:
            spell_index += 1
        spell = spells[spell_index] if spell_index < len(spells) else None
        active = spell if spell is not None and spell.start <= at < spell.end else None
        if active is not None and active.kind in ("crash", "restart"):
            yield ("crash" if active.kind == "crash" else "shutdown"), at
            at = active.end
            yield "resume", at
            state = "unknown"
            continue
        condition = active.kind if active is not None else "up"
        cycle = prober.cycle(at, condition, number % checks_every == 0)
        transitions: Sequence[Transition] = ()
        blips: Sequence[Blip] = ()
        wanted = "up" if condition == "blip" else condition
        if wanted != state:
            link_state, outage_kind, cause = STATE_OF[wanted]
            # Confirmed after CONFIRM_CYCLES, back-dated to the first cycle that showed it.
            began = active.start if active is not None and wanted != "up" else at
            if active is None and spell_index > 0 and state != "unknown":
                began = max(spells[spell_index - 1].end, at - step * CONFIRM_CYCLES)
            transitions = (Transition(link_state, began, cause, outage_kind,
                                      {"failing": [name for name, _ in PING_TARGETS]}
                                      if outage_kind else {}),)
            state = wanted
        if active is not None and condition == "blip" and at + step >= active.end:
            blips = (Blip("down", active.start, active.end, 1 + (active.end - active.start) // step,
                          "no ping target answered"),)
        yield "cycle", CycleRecord(cycle, transitions, blips, at + timedelta(milliseconds=400))
        number += 1
        at += step


def build(path: Path, days: int, *, start: datetime = DEFAULT_START, seed: int = 1,
          batch_cycles: int = 1800) -> Store:
    """Write ``days`` of history into a new database at ``path``; returns the closed store."""
    if path.exists():
        raise SystemExit(f"{path} exists; remove it or choose another --out")
    storage = StorageConfig(database=path)
    interval = ScheduleConfig().ping_interval
    rng = random.Random(seed)
    store = Store.open(path)
    batch: list[CycleRecord] = []
    last_maintained = start

    def flush(now: datetime) -> None:
        nonlocal last_maintained
        store._record_cycles(batch)
        batch.clear()
        if now - last_maintained >= timedelta(hours=1):
            store.maintain(now, storage)
            last_maintained = now

    now = start
    for event, value in simulate(days, start, rng):
        if isinstance(value, CycleRecord):
            batch.append(value)
            now = value.now
            if len(batch) >= batch_cycles:
                flush(now)
            continue
        flush(now) if batch else None
        if event == "resume":
            store.resume(value, interval)
        elif event == "shutdown":
            store.shutdown(value)
        # "crash": nothing more is written; the heartbeat stays where it was.
    if batch:
        flush(now)
    store.maintain(now, storage)
    store.shutdown(now)
    store.close()
    return store


def time_status(path: Path, now: datetime, repeat: int = 51) -> float:
    """Median wall time of ``read_status`` on ``path`` at ``now``, in milliseconds."""
    from watchdog.store.reader import read_status

    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        read_status(path, now)
        timings.append(time.perf_counter() - began)
    return 1000 * statistics.median(timings)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``--days``, ``--out``, ``--seed``, ``--start``."""
    parser = argparse.ArgumentParser(prog="python -m bench.build_history", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--out", type=Path, required=True, help="new database file to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=DEFAULT_START,
                        help="first day, UTC (default 2025-01-01)")
    args = parser.parse_args(argv)
    start = args.start if args.start.tzinfo else args.start.replace(tzinfo=UTC)
    began = time.perf_counter()
    build(args.out, args.days, start=start, seed=args.seed)
    elapsed = time.perf_counter() - began
    size = args.out.stat().st_size
    status_ms = time_status(args.out, start + timedelta(days=args.days))
    print(f"{args.out}: {args.days} days in {elapsed:.1f} s, {size / 1e6:.1f} MB, "
          f"read_status {status_ms:.2f} ms (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
