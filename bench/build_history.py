"""Write realistic history through the real storage code, to measure size and read speed.

    python -m bench.build_history --days 365 --out var/bench-1y.db [--mode fast|exact]

Default settings: 3 ping targets + the gateway every 2 s with 2 echo requests each, 2 DNS and
2 HTTP checks every 30 s (skipped while the internet is unreachable, as the daemon does). A
few outages (ISP, DNS, LAN) and blips per month, degraded spells, and a couple of daemon gaps
(one crash, one clean restart). The incident service (``IncidentService``, the daemon's own
hook) turns outages into incidents and tickets; no delivery channel is configured, so no
message waits in the outbox.

Two modes write the same database (``tests/bench/test_generator_equivalence.py`` proves it on a
small span, table by table):

- **exact**: every cycle is a ``CycleResult`` with its ``Transition``s and ``Blip``s written
  by ``Store.record_cycles`` (the code of ``Store.record_cycle``, an hour of cycles per
  transaction), and ``Store.maintain`` rolls up and purges every simulated hour. About 30,000
  cycles a second: a year (15.8 million cycles) takes about 9 minutes.
- **fast** (default): only the cycles whose raw samples survive, or which change the
  timeline, are written that way: the last ``raw_retention``, the evidence window around
  every outage, and a minute or more around every other spell, gap and the start. The plain
  "up" minutes in between, whose raw samples the daemon would have rolled up and deleted,
  are written directly as their ``sample_minute`` rows (the aggregates that ``rollup``'s SQL
  computes from the samples, computed here from the same values), and ``Store.maintain``
  (the real roll-up and retention code) then makes the hour rows and deletes what expires.
  Intervals, outages, blips, incidents and the heartbeat all come from the real timeline
  and incident code. A year takes about a minute, three years about two and a half.

Every probe value is a pure function of the cycle number (a per-target pool of synthetic
round trips, indexed cyclically), which is what lets the fast mode sum a minute without
building its cycles.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlmodel import Session

from watchdog.clock import to_ms
from watchdog.config.schema import Config, ScheduleConfig, StorageConfig
from watchdog.incidents.service import IncidentService
from watchdog.link.states import Blip, Transition, is_outage
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.store.writer import CycleRecord, Store
from watchdog.vocabulary import DEFAULT_LINK, LinkState, OutageKind, ProbeKind

# Bump when the history written for a (days, seed, start) changes: it keys the bench cache.
GENERATOR_VERSION = 2

Mode = Literal["exact", "fast"]
MODES: tuple[Mode, ...] = ("exact", "fast")

PING_TARGETS = (("cloudflare", "203.0.113.1"), ("google", "203.0.113.2"), ("quad9", "203.0.113.3"))
GATEWAY = ("gateway", "192.168.1.1")
DNS_CHECKS = (("cloudflare-dns", "203.0.113.1"), ("quad9-dns", "203.0.113.3"))
HTTP_CHECKS = (
    ("google-204", "http://connectivitycheck.gstatic.com/generate_204"),
    ("cloudflare-trace", "https://www.cloudflare.com/cdn-cgi/trace"),
)
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
CONFIRM_CYCLES = 3
PINGS_PER_TARGET = ScheduleConfig().pings_per_target
# A cycle's samples are recorded this long after its start (the daemon records at the end).
RECORD_DELAY = timedelta(milliseconds=400)
CYCLE_TIME = timedelta(milliseconds=300)
# Exact mode: cycles per transaction, and how often (simulated) the store is maintained.
BATCH_CYCLES = 1800
MAINTAIN_EVERY = timedelta(hours=1)
# Fast mode: summarised minutes are inserted about a day (of 8 targets) at a time.
FAST_CHUNK_ROWS = 8 * 1440
# Fast mode: raw cycles this far around every spell, the start and the retention window,
# beyond the evidence margin for outages (covers the back-dated transitions and blips).
RAW_PAD = timedelta(minutes=1)
MINUTE_MS = 60_000

OUTAGE_SPELLS = frozenset({"isp", "dns", "lan"})
GAP_SPELLS = frozenset({"crash", "restart"})
# Conditions in which the internet is unreachable: the daemon skips DNS and web checks.
UNREACHABLE = frozenset({"isp", "lan", "blip"})

_PING_KINDS: frozenset[ProbeKind] = frozenset({"ping", "gateway"})
_ALL_KINDS: frozenset[ProbeKind] = frozenset({"ping", "gateway", "dns", "http"})


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
        spells.append(Spell(start + timedelta(days=days * 0.31),
                            start + timedelta(days=days * 0.31, minutes=25), "crash"))
        spells.append(Spell(start + timedelta(days=days * 0.72),
                            start + timedelta(days=days * 0.72, minutes=4), "restart"))
    spells.sort(key=lambda spell: spell.start)
    kept: list[Spell] = []
    for spell in spells:
        if not kept or spell.start > kept[-1].end + timedelta(minutes=5):
            kept.append(spell)
    return kept


# --- probe values: pure functions of the cycle number ------------------------------------------


def _pool(rng: random.Random, size: int, mean: float, sd: float, low: float) -> list[float]:
    return [max(low, rng.gauss(mean, sd)) for _ in range(size)]


class _Series:
    """One target's synthetic round trips (ms), indexed cyclically by cycle or check number,
    with what ``SampleWriter`` stores of them (µs) and prefix sums for the fast mode."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.size = len(values)
        # The very expression SampleWriter applies to ``ProbeResult.rtt_ms``.
        micro = [round(value * 1000) for value in values]
        self.doubled = micro + micro
        sums = [0]
        for value in self.doubled:
            sums.append(sums[-1] + value)
        self.sums = sums

    def at(self, index: int) -> float:
        return self.values[index % self.size]

    def span(self, first: int, count: int) -> tuple[int, int, int]:
        """(min, max, sum) in µs of the values for indexes ``first`` .. ``first + count - 1``."""
        if count > self.size:
            raise ValueError("a span longer than the pool")
        start = first % self.size
        chunk = self.doubled[start:start + count]
        return min(chunk), max(chunk), self.sums[start + count] - self.sums[start]


class Values:
    """Synthetic probe results for any cycle: ``results(n, at, condition, checks)``."""

    def __init__(self, rng: random.Random) -> None:
        self.gateway = _Series(_pool(rng, 4999, 1.8, 0.4, 0.03))
        self.pings = [_Series(_pool(rng, size, 18.0, 4.0, 0.3)) for size in (9973, 9967, 9949)]
        self.slow = _pool(rng, 997, 420.0, 120.0, 0.3)
        self.lossy = [rng.random() < 0.3 for _ in range(991)]
        self.dns = [_Series(_pool(rng, size, 20.0, 4.0, 0.3)) for size in (1009, 1013)]
        self.http = [_Series(_pool(rng, size, 54.0, 12.0, 0.9)) for size in (1019, 1021)]

    def results(self, n: int, at: datetime, condition: str, checks: bool,
                check_number: int) -> tuple[ProbeResult, ...]:
        """The results of cycle number ``n`` at ``at`` in ``condition`` ("up" or a spell's
        kind); with ``checks``, the DNS and web checks of check number ``check_number``."""
        lan = condition == "lan"
        gateway = (ProbeResult("gateway", GATEWAY[0], GATEWAY[1], False, at, None,
                               PINGS_PER_TARGET, 0, "timeout") if lan
                   else ProbeResult("gateway", GATEWAY[0], GATEWAY[1], True, at,
                                    self.gateway.at(n), PINGS_PER_TARGET, PINGS_PER_TARGET))
        results = [gateway]
        unreachable = condition in UNREACHABLE
        for slot, (name, address) in enumerate(PING_TARGETS):
            if unreachable:
                results.append(ProbeResult("ping", name, address, False, at, None,
                                           PINGS_PER_TARGET, 0, "timeout"))
            elif condition == "degraded":
                lost = self.lossy[(3 * n + slot) % len(self.lossy)]
                results.append(ProbeResult(
                    "ping", name, address, True, at,
                    self.slow[(n + 331 * slot) % len(self.slow)], PINGS_PER_TARGET,
                    PINGS_PER_TARGET - 1 if lost else PINGS_PER_TARGET))
            else:
                results.append(ProbeResult("ping", name, address, True, at,
                                           self.pings[slot].at(n), PINGS_PER_TARGET,
                                           PINGS_PER_TARGET))
        if checks and not unreachable:
            dns_ok = condition != "dns"
            for slot, (name, server) in enumerate(DNS_CHECKS):
                results.append(
                    ProbeResult("dns", name, server, True, at, self.dns[slot].at(check_number),
                                1, 1) if dns_ok
                    else ProbeResult("dns", name, server, False, at, None, 1, 0, "SERVFAIL"))
            for slot, (name, url) in enumerate(HTTP_CHECKS):
                results.append(
                    ProbeResult("http", name, url, True, at, self.http[slot].at(check_number),
                                1, 1) if dns_ok
                    else ProbeResult("http", name, url, False, at, None, 1, 0,
                                     "name resolution failed"))
        return tuple(results)


STATE_OF: dict[str, tuple[LinkState, OutageKind | None, str]] = {
    "up": ("up", None, "all targets answer"),
    "degraded": ("degraded", None, "packet loss 25% over 1 min"),
    "isp": ("down", "isp", "no ping target answers; the gateway does"),
    "dns": ("down", "dns", "every DNS resolver fails; pings work"),
    "lan": ("lan_down", "lan", "the gateway does not answer"),
}


# --- the history as runs of cycles ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """``count`` consecutive cycles in one condition: the k-th at ``start + k × step`` with
    cycle number ``first + k``; the first may carry a transition, the last a blip."""

    condition: str
    start: datetime
    first: int
    count: int
    transition: Transition | None = None
    blip: Blip | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """The daemon starts (``resume``), crashes or stops cleanly (``shutdown``) at ``at``."""

    kind: Literal["resume", "crash", "shutdown"]
    at: datetime


def _micros(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def cycles_before(at: datetime, limit: datetime, step: timedelta) -> int:
    """How many cycles ``at + k × step`` (k ≥ 0) fall before ``limit``."""
    return max(0, -(-_micros(limit - at) // _micros(step)))


def timeline(days: int, start: datetime, rng: random.Random,
             step: timedelta) -> tuple[list[Spell], list[Run | Event]]:
    """The spells and the history they make: runs of cycles and daemon events, in order.

    A change of condition is confirmed after ``CONFIRM_CYCLES`` and back-dated, as the
    tracker does: an outage or degraded spell to its start, the return to ``up`` to the end of
    the spell (or three cycles back); a blip is recorded at its last cycle.
    """
    end = start + timedelta(days=days)
    spells = plan(days, start, rng)
    history: list[Run | Event] = [Event("resume", start)]
    at, state, number, index = start, "unknown", 0, 0
    while at < end:
        while index < len(spells) and spells[index].end <= at:
            index += 1
        spell = spells[index] if index < len(spells) else None
        active = spell if spell is not None and spell.start <= at else None
        if active is not None and active.kind in GAP_SPELLS:
            history.append(Event("crash" if active.kind == "crash" else "shutdown", at))
            at = active.end
            history.append(Event("resume", at))
            state = "unknown"
            continue
        condition = active.kind if active is not None else "up"
        if active is not None:
            limit = min(end, active.end)
        else:
            limit = min(end, spell.start) if spell is not None else end
        count = cycles_before(at, limit, step)
        wanted = "up" if condition == "blip" else condition
        transition = None
        if wanted != state:
            link_state, outage_kind, cause = STATE_OF[wanted]
            began = active.start if active is not None and wanted != "up" else at
            if active is None and index > 0 and state != "unknown":
                began = max(spells[index - 1].end, at - step * CONFIRM_CYCLES)
            transition = Transition(link_state, began, cause, outage_kind,
                                    {"failing": [name for name, _ in PING_TARGETS]}
                                    if outage_kind else {})
            state = wanted
        blip = None
        last_at = at + step * (count - 1)
        if active is not None and condition == "blip" and last_at + step >= active.end:
            blip = Blip("down", active.start, active.end,
                        1 + (active.end - active.start) // step, "no ping target answered")
        history.append(Run(condition, at, number, count, transition, blip))
        number += count
        at += step * count
    return spells, history


def raw_minutes(spells: Sequence[Spell], start: datetime, end: datetime,
                storage: StorageConfig) -> list[tuple[int, int]]:
    """Fast mode: the minutes (epoch-ms ranges [from, to), whole minutes, merged) written
    cycle by cycle: the start, the last ``raw_retention``, every outage with its evidence
    margin, and every other spell, each padded by ``RAW_PAD``."""
    spans: list[tuple[datetime, datetime]] = [(start - RAW_PAD, start + RAW_PAD),
                                              (end - storage.raw_retention - RAW_PAD,
                                               end + RAW_PAD)]
    for spell in spells:
        pad = RAW_PAD + (storage.evidence_margin if spell.kind in OUTAGE_SPELLS
                         else timedelta(0))
        spans.append((spell.start - pad, spell.end + pad))
    ranges = sorted(((to_ms(low) // MINUTE_MS) * MINUTE_MS,
                     -(-to_ms(high) // MINUTE_MS) * MINUTE_MS) for low, high in spans)
    merged: list[tuple[int, int]] = []
    for low, high in ranges:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


# --- writing ------------------------------------------------------------------------------------

_INSERT_MINUTES = (
    "INSERT INTO sample_minute (minute_ms, target_id, samples, failures, sent, lost, "
    "rtt_min_us, rtt_max_us, rtt_sum_us, rtt_samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
MinuteRow = tuple[int, int, int, int, int, int, int, int, int, int]


class IncidentHook:
    """``Store.on_cycle`` as the daemon sets it (``IncidentService.after_cycle``), called only
    on the cycles where it can do something: those with transitions, and every cycle while
    an outage is open. On the others (no transition, no open outage, hence no ongoing
    incident) ``after_cycle`` reads two empty queries and returns: skipping it changes
    nothing and saves two queries a cycle."""

    def __init__(self, service: IncidentService) -> None:
        self.service = service
        self.outage_open = False
        self.calls = 0

    def __call__(self, session: Session, link: int, transitions: Sequence[Transition],
                 now: datetime) -> None:
        if transitions or self.outage_open:
            self.calls += 1
            self.service.after_cycle(session, link, transitions, now)
        for transition in transitions:
            self.outage_open = is_outage(transition.state)


@dataclass
class BuildStats:
    """What a build wrote: cycles through the store, summarised minutes, transactions."""

    mode: Mode
    raw_cycles: int = 0
    summarised_minutes: int = 0
    minute_rows: int = 0
    maintains: int = 0
    incident_calls: int = 0
    seconds: float = 0.0
    spells: dict[str, int] = field(default_factory=dict)


class _Writer:
    """Feeds cycles and summarised minutes to the store in time order.

    Cycles go through ``Store.record_cycles`` ``BATCH_CYCLES`` at a time; minute rows are
    inserted a day at a time; ``Store.maintain`` runs when an hour (simulated) has passed
    since it last ran, at a flush. (When it runs does not change what is left: roll-ups and
    purges work behind watermarks on complete minutes and hours.)
    """

    def __init__(self, store: Store, storage: StorageConfig, stats: BuildStats) -> None:
        self.store = store
        self.storage = storage
        self.stats = stats
        self.batch: list[CycleRecord] = []
        self.rows: list[MinuteRow] = []
        self.now: datetime | None = None
        self.last_maintained: datetime | None = None

    def cycle(self, record: CycleRecord) -> None:
        if self.rows:
            self.flush_minutes()
        self.batch.append(record)
        self.now = record.now
        if len(self.batch) >= BATCH_CYCLES:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        self.stats.raw_cycles += len(self.batch)
        self.store.record_cycles(self.batch)
        self.batch.clear()
        self._maybe_maintain()

    def minutes(self, rows: list[MinuteRow], minutes: int, now: datetime) -> None:
        """Rows of ``minutes`` summarised minutes, the last of them recorded at ``now``."""
        self.flush()
        self.rows.extend(rows)
        self.stats.summarised_minutes += minutes
        self.stats.minute_rows += len(rows)
        self.now = now
        if len(self.rows) >= FAST_CHUNK_ROWS:
            self.flush_minutes()

    def flush_minutes(self) -> None:
        if not self.rows:
            return
        with self.store.write() as session:
            session.connection().exec_driver_sql(_INSERT_MINUTES, self.rows)
        self.rows.clear()
        self._maybe_maintain()

    def _maybe_maintain(self) -> None:
        assert self.now is not None
        if self.last_maintained is None:
            self.last_maintained = self.now
        if self.now - self.last_maintained >= MAINTAIN_EVERY:
            self.maintain()

    def maintain(self) -> None:
        assert self.now is not None
        self.store.maintain(self.now, self.storage)
        self.last_maintained = self.now
        self.stats.maintains += 1

    def settle(self) -> None:
        self.flush()
        self.flush_minutes()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_of(micros: int) -> int:
    """``to_ms`` of the instant ``micros`` µs after the epoch, without making a datetime:
    ``datetime.timestamp()`` is the µs count divided by 10⁶ (correctly rounded), then
    ``to_ms`` multiplies by 1000 and truncates: the same float operations."""
    return int(micros / 1_000_000 * 1000)


class _Clock:
    """The instants of a run's cycles as integers: cycle k at ``start + k × step`` µs."""

    def __init__(self, run: Run, step: timedelta) -> None:
        self.run = run
        self.start = _micros(run.start - EPOCH)
        self.step = _micros(step)

    def ms(self, k: int) -> int:
        return ms_of(self.start + k * self.step)

    def first_from(self, boundary_ms: int) -> int:
        """The first k (0 … count) whose cycle's ``to_ms`` is ≥ ``boundary_ms``."""
        count = self.run.count
        k = min(max(-(-(boundary_ms * 1000 - self.start) // self.step), 0), count)
        while k > 0 and self.ms(k - 1) >= boundary_ms:
            k -= 1
        while k < count and self.ms(k) < boundary_ms:
            k += 1
        return k


class _Builder:
    """One build: the values, the store and how each run of the history is written."""

    def __init__(self, store: Store, storage: StorageConfig, values: Values, mode: Mode,
                 raw: list[tuple[int, int]], step: timedelta, checks_every: int,
                 stats: BuildStats) -> None:
        self.store = store
        self.writer = _Writer(store, storage, stats)
        self.values = values
        self.mode = mode
        self.raw = raw
        self.step = step
        self.checks_every = checks_every
        self.target_ids: list[int] | None = None

    def run(self, run: Run) -> None:
        if self.mode == "fast" and run.condition == "up":
            self._up_fast(run)
        else:
            self._cycles(run, 0, run.count)

    def _cycles(self, run: Run, first: int, stop: int) -> None:
        """Cycles ``first`` … ``stop - 1`` of ``run`` through the store, one by one."""
        values, writer, checks_every = self.values, self.writer, self.checks_every
        step = self.step
        at = run.start + step * first
        last = run.count - 1
        for k in range(first, stop):
            n = run.first + k
            checks = n % checks_every == 0 and run.condition not in UNREACHABLE
            results = values.results(n, at, run.condition, checks, n // checks_every)
            cycle = CycleResult(at, at + CYCLE_TIME, _ALL_KINDS if checks else _PING_KINDS,
                                results)
            transitions = (run.transition,) if k == 0 and run.transition is not None else ()
            blips = (run.blip,) if k == last and run.blip is not None else ()
            writer.cycle(CycleRecord(cycle, transitions, blips, at + RECORD_DELAY,
                link=DEFAULT_LINK))
            at += step

    def _up_fast(self, run: Run) -> None:
        """An "up" run: its raw minutes cycle by cycle, the others as minute rows."""
        clock = _Clock(run, self.step)
        raw = self.raw
        k = 0
        while k < run.count:
            minute = (clock.ms(k) // MINUTE_MS) * MINUTE_MS
            while raw and raw[0][1] <= minute:
                raw.pop(0)
            if raw and raw[0][0] <= minute:
                stop = clock.first_from(raw[0][1])
                self._cycles(run, k, stop)
            else:
                stop = clock.first_from(raw[0][0]) if raw else run.count
                self._summarise(clock, k, stop)
            k = stop

    def _ids(self) -> list[int]:
        """The target ids, in the order of ``_summarise``'s rows (created by the first cycle,
        which is always written through the store)."""
        if self.target_ids is None:
            self.writer.flush()
            names = [("gateway", GATEWAY[0]), *(("ping", name) for name, _ in PING_TARGETS),
                     *(("dns", name) for name, _ in DNS_CHECKS),
                     *(("http", name) for name, _ in HTTP_CHECKS)]
            with self.store.write() as session:
                found: dict[str, int] = {
                    str(key): int(value) for key, value in session.connection().exec_driver_sql(
                        "SELECT kind || ':' || name, id FROM target").fetchall()}
            self.target_ids = [found[f"{kind}:{name}"] for kind, name in names]
        return self.target_ids

    def _summarise(self, clock: _Clock, first: int, stop: int) -> None:
        """Cycles ``first`` … ``stop - 1`` of an "up" run (whole minutes, none at either end
        of the run) as minute rows.

        Each minute's rows are what ``rollup``'s ``_ROLL_MINUTES`` computes from its samples:
        count(*), sum(ok = 0), sum(sent), sum(sent - received), min/max/sum/count(rtt_us).
        """
        run = clock.run
        ids = self._ids()
        every = self.checks_every
        pinged = [(ids[0], self.values.gateway),
                  *zip(ids[1:4], self.values.pings, strict=True)]
        checked = list(zip(ids[4:], [*self.values.dns, *self.values.http], strict=True))
        rows: list[MinuteRow] = []
        minutes = 0
        k = first
        while k < stop:
            minute = (clock.ms(k) // MINUTE_MS) * MINUTE_MS
            end = clock.first_from(minute + MINUTE_MS)
            if k == 0 or end >= run.count or end > stop:
                raise AssertionError(f"minute {minute} is not inside its run: it must be raw")
            count = end - k
            n0 = run.first + k
            sent = PINGS_PER_TARGET * count
            for target_id, series in pinged:
                start = n0 % series.size
                chunk = series.doubled[start:start + count]
                rows.append((minute, target_id, count, 0, sent, 0, min(chunk), max(chunk),
                             series.sums[start + count] - series.sums[start], count))
            c0 = -(-n0 // every)
            checks = -(-(n0 + count) // every) - c0
            if checks:
                for target_id, series in checked:
                    low, high, total = series.span(c0, checks)
                    rows.append((minute, target_id, checks, 0, checks, 0, low, high, total,
                                 checks))
            minutes += 1
            k = end
            if len(rows) >= FAST_CHUNK_ROWS or k >= stop:
                now = run.start + self.step * (k - 1) + RECORD_DELAY
                self.writer.minutes(rows, minutes, now)
                rows, minutes = [], 0

    def event(self, event: Event, interval: timedelta) -> None:
        self.writer.settle()
        if event.kind == "resume":
            self.store.resume(event.at, interval, link=DEFAULT_LINK)
        elif event.kind == "shutdown":
            self.store.shutdown(event.at)
        # "crash": nothing more is written; the heartbeat stays where it was.

    def finish(self) -> None:
        writer = self.writer
        writer.settle()
        assert writer.now is not None
        writer.maintain()
        self.store.shutdown(writer.now)


def build(path: Path, days: int, *, start: datetime = DEFAULT_START, seed: int = 1,
          mode: Mode = "fast", storage: StorageConfig | None = None) -> BuildStats:
    """Write ``days`` of history from ``start`` into a new database at ``path`` (see the
    module doc for ``mode``); ``storage`` defaults to the shipped retention settings.
    Returns what was written and how long it took."""
    if path.exists():
        raise SystemExit(f"{path} exists; remove it or choose another --out")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    began = time.perf_counter()
    storage = storage or StorageConfig()
    storage = StorageConfig(database=path, raw_retention=storage.raw_retention,
                            minute_retention=storage.minute_retention,
                            evidence_margin=storage.evidence_margin)
    schedule = ScheduleConfig()
    step = schedule.ping_interval
    checks_every = round(schedule.check_interval / step)
    rng = random.Random(seed)
    spells, history = timeline(days, start, rng, step)
    values = Values(rng)
    end = start + timedelta(days=days)
    stats = BuildStats(mode)
    for spell in spells:
        stats.spells[spell.kind] = stats.spells.get(spell.kind, 0) + 1
    store = Store.open(path)
    service = IncidentService(Config(storage=storage))
    hook = IncidentHook(service)
    store.on_cycle = hook
    store.on_resume = service.after_resume
    builder = _Builder(store, storage, values, mode, raw_minutes(spells, start, end, storage),
                       step, checks_every, stats)
    try:
        for item in history:
            if isinstance(item, Event):
                builder.event(item, step)
            else:
                builder.run(item)
        builder.finish()
    finally:
        store.close()
    stats.incident_calls = hook.calls
    stats.seconds = time.perf_counter() - began
    return stats


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
    """The command line: ``--days``, ``--out``, ``--seed``, ``--start``, ``--mode``."""
    parser = argparse.ArgumentParser(prog="python -m bench.build_history", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--out", type=Path, required=True, help="new database file to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=DEFAULT_START,
                        help="first day, UTC (default 2025-01-01)")
    parser.add_argument("--mode", choices=MODES, default="fast",
                        help="fast (default) or exact: every cycle through the store")
    args = parser.parse_args(argv)
    start = args.start if args.start.tzinfo else args.start.replace(tzinfo=UTC)
    stats = build(args.out, args.days, start=start, seed=args.seed, mode=args.mode)
    size = args.out.stat().st_size
    status_ms = time_status(args.out, start + timedelta(days=args.days))
    print(f"{args.out}: {args.days} days ({args.mode}) in {stats.seconds:.1f} s, "
          f"{size / 1e6:.1f} MB, read_status {status_ms:.2f} ms (median); "
          f"{stats.raw_cycles} cycles through the store, "
          f"{stats.summarised_minutes} minutes summarised")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
