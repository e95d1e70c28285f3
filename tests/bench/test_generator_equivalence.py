"""The generator's fast mode writes the same database as its exact mode.

Exact mode writes every cycle through ``Store.record_cycles`` and lets ``Store.maintain`` roll
up and purge, as the daemon does; fast mode writes only the cycles whose raw samples survive
(or that change the timeline) that way, and the plain "up" minutes in between as the minute
rows the roll-up would have made from them. On four days with one day of raw retention and two
of minute retention (so that raw samples, minute rows and evidence windows all expire), every
table the history lives in must come out identical, row for row.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from bench.build_history import (
    DEFAULT_START,
    EPOCH,
    BuildStats,
    Event,
    Run,
    build,
    cycles_before,
    ms_of,
    plan,
    raw_minutes,
    timeline,
)
from watchdog.clock import to_ms
from watchdog.config.schema import StorageConfig
from watchdog.store.invariants import timeline_problems

DAYS = 4
SEED = 1  # its four days hold every kind of spell: ISP, DNS and LAN outages, degraded, blips
STORAGE = StorageConfig(raw_retention=timedelta(days=1), minute_retention=timedelta(days=2))
# Everything the history lives in (the outbox stays empty: no channel is configured).
TABLES = ("state_interval", "outage", "blip", "sample", "sample_minute", "sample_hour",
          "target", "probe_error", "incident", "incident_event", "outbox", "watermark",
          "daemon")


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, BuildStats]]:
    directory = tmp_path_factory.mktemp("generator")
    result = {}
    for mode in ("exact", "fast"):
        path = directory / f"{mode}.db"
        result[mode] = (path, build(path, DAYS, seed=SEED, mode=mode, storage=STORAGE))
    return result


@pytest.mark.parametrize("table", TABLES)
def test_fast_and_exact_modes_leave_the_same_rows(
    built: dict[str, tuple[Path, BuildStats]], table: str
) -> None:
    exact, fast = rows(built["exact"][0], table), rows(built["fast"][0], table)
    assert fast == exact


def test_the_span_exercises_what_expires_and_what_is_kept(
    built: dict[str, tuple[Path, BuildStats]],
) -> None:
    path, stats = built["exact"]
    assert {"isp", "dns", "lan", "degraded", "blip", "crash", "restart"} <= set(stats.spells)
    assert timeline_problems(path) == []
    end_ms = to_ms(DEFAULT_START + timedelta(days=DAYS))
    day_ms = 86_400_000
    with closing(sqlite3.connect(path)) as connection:
        oldest_sample = connection.execute("SELECT min(at_ms) FROM sample").fetchone()[0]
        evidence = connection.execute("SELECT count(*) FROM sample WHERE at_ms < ?",
                                      (end_ms - day_ms - 60_000,)).fetchone()[0]
        oldest_minute = connection.execute("SELECT min(minute_ms) FROM sample_minute") \
            .fetchone()[0]
        first_hour = connection.execute("SELECT min(hour_ms) FROM sample_hour").fetchone()[0]
        tickets = connection.execute(
            "SELECT count(*) FROM incident WHERE reference IS NOT NULL").fetchone()[0]
    # Raw samples older than a day survive only as the evidence of outages ...
    assert oldest_sample < end_ms - 3 * day_ms and evidence > 0
    # ... minutes older than two days are gone, hours go back to the start.
    assert oldest_minute >= end_ms - 2 * day_ms - 3_600_000
    assert first_hour == to_ms(DEFAULT_START)
    assert tickets >= 1  # an outage long enough for a ticket, through the real incident code


def test_the_fast_mode_writes_a_fraction_of_the_cycles(
    built: dict[str, tuple[Path, BuildStats]],
) -> None:
    exact, fast = built["exact"][1], built["fast"][1]
    assert exact.summarised_minutes == 0
    assert fast.summarised_minutes > 0 and fast.minute_rows >= 4 * fast.summarised_minutes
    assert fast.raw_cycles < exact.raw_cycles / 2
    assert fast.incident_calls == exact.incident_calls > 0


def test_to_ms_without_a_datetime_is_to_ms() -> None:
    rng = random.Random(5)
    start = int((DEFAULT_START - EPOCH).total_seconds()) * 10**6
    for micros in [start, start + 1, start + 999, start + 1000,
                   *(rng.randrange(start, start + 10**14) for _ in range(20_000))]:
        assert ms_of(micros) == to_ms(EPOCH + timedelta(microseconds=micros))


def test_cycles_before_counts_the_instants_strictly_before_the_limit() -> None:
    step = timedelta(seconds=2)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    assert cycles_before(t0, t0, step) == 0
    assert cycles_before(t0, t0 + timedelta(microseconds=1), step) == 1
    assert cycles_before(t0, t0 + step, step) == 1
    assert cycles_before(t0, t0 + step + timedelta(microseconds=1), step) == 2


def test_the_history_is_a_gapless_sequence_of_cycles_and_events() -> None:
    step = timedelta(seconds=2)
    spells, history = timeline(DAYS, DEFAULT_START, random.Random(SEED), step)
    assert spells == plan(DAYS, DEFAULT_START, random.Random(SEED))
    number = 0
    for item in history:
        if isinstance(item, Run):
            assert item.first == number and item.count > 0
            number += item.count
    gaps = [item for item in history if isinstance(item, Event)]
    assert [event.kind for event in gaps] == ["resume", "crash", "resume", "shutdown", "resume"]


def test_raw_minutes_cover_every_spell_with_its_margin_and_the_retention() -> None:
    start = DEFAULT_START
    end = start + timedelta(days=DAYS)
    spells = plan(DAYS, start, random.Random(SEED))
    ranges = raw_minutes(spells, start, end, STORAGE)
    assert all(low % 60_000 == 0 and high % 60_000 == 0 and low < high for low, high in ranges)
    assert all(a[1] < b[0] for a, b in pairwise(ranges))

    def covered(moment: datetime) -> bool:
        return any(low <= to_ms(moment) < high for low, high in ranges)

    for spell in spells:
        margin = STORAGE.evidence_margin if spell.kind in ("isp", "dns", "lan") else timedelta()
        assert covered(spell.start - margin) and covered(spell.end + margin)
    assert covered(end - STORAGE.raw_retention) and covered(start)
