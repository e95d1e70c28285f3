"""Roll-ups (exact minute and hour values, behind a watermark) and retention (evidence kept)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from store_helpers import at, cycle, rows, transition

from watchdog.config.schema import StorageConfig
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

DEFAULTS = StorageConfig()
SHORT = StorageConfig(
    raw_retention=timedelta(hours=1),
    minute_retention=timedelta(days=1),
    evidence_margin=timedelta(minutes=10),
)
MINUTE = 60
ROLLUP_COLUMNS = "samples, failures, sent, lost, rtt_min_us, rtt_max_us, rtt_sum_us, rtt_samples"


def _ms(seconds: float) -> int:
    return int(at(seconds).timestamp() * 1000)


def _google(db_path: Path, table: str, key: str) -> list[tuple[Any, ...]]:
    return rows(db_path, f"SELECT {key}, {ROLLUP_COLUMNS} FROM {table} "
                         "WHERE target_id = (SELECT id FROM target WHERE name = 'google') "
                         f"ORDER BY {key}")


def _sample_minutes(db_path: Path) -> list[int]:
    """Minutes (from T0) that still have raw samples."""
    found = rows(db_path, "SELECT DISTINCT at_ms FROM sample ORDER BY at_ms")
    return sorted({(ms - _ms(0)) // 60000 for (ms,) in found})


def test_minute_rollup_counts_failures_packets_and_rtt_exactly(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(0), rtt_ms=10.0), [], [], at(1), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(10), rtt_ms=20.5, received=1), [], [], at(11), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(20), ok=False), [], [], at(21), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(70), rtt_ms=30.0), [], [], at(71), link=DEFAULT_LINK)
    store.maintain(at(2 * MINUTE), DEFAULTS)
    assert _google(db_path, "sample_minute", "minute_ms") == [
        (_ms(0), 3, 1, 6, 3, 10000, 20500, 30500, 2),
    ]
    _, _, _, _, _, _, _, rtt_sum, rtt_samples = _google(db_path, "sample_minute", "minute_ms")[0]
    assert rtt_sum / rtt_samples == 15250.0  # the mean RTT, exact


def test_a_minute_is_rolled_up_only_once_it_is_complete_and_settled(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(0)), [], [], at(1), link=DEFAULT_LINK)
    store.maintain(at(MINUTE + 59), DEFAULTS)  # the minute ended, but late samples may come
    assert _google(db_path, "sample_minute", "minute_ms") == []
    store.maintain(at(2 * MINUTE), DEFAULTS)
    assert len(_google(db_path, "sample_minute", "minute_ms")) == 1


def test_hour_rollup_sums_its_minutes_exactly(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(0), rtt_ms=10.0), [], [], at(1), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(30 * MINUTE), rtt_ms=40.0, received=1), [], [], at(1801),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(59 * MINUTE), ok=False), [], [], at(3541), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(60 * MINUTE), rtt_ms=99.0), [], [], at(3601), link=DEFAULT_LINK)
    store.maintain(at(30 * MINUTE + 30), DEFAULTS)  # a first pass mid-hour
    store.maintain(at(62 * MINUTE), DEFAULTS)
    assert _google(db_path, "sample_hour", "hour_ms") == [
        (_ms(0), 3, 1, 6, 3, 10000, 40000, 50000, 2),
    ]


def test_maintain_is_idempotent_and_only_adds_new_minutes(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(0)), [], [], at(1), link=DEFAULT_LINK)
    store.maintain(at(2 * MINUTE), DEFAULTS)
    store.maintain(at(2 * MINUTE), DEFAULTS)
    store.maintain(at(2 * MINUTE + 30), DEFAULTS)
    assert [row[1] for row in _google(db_path, "sample_minute", "minute_ms")] == [1]
    store.record_cycle(cycle(at(2 * MINUTE + 40)), [], [], at(161), link=DEFAULT_LINK)
    store.maintain(at(4 * MINUTE), DEFAULTS)
    assert [row[0] for row in _google(db_path, "sample_minute", "minute_ms")] == [
        _ms(0), _ms(2 * MINUTE)
    ]


def test_maintain_with_nothing_recorded_does_nothing(store: Store, db_path: Path) -> None:
    store.maintain(at(3600), DEFAULTS)
    assert rows(db_path, "SELECT minute_until_ms, hour_until_ms, raw_purged_until_ms "
                         "FROM watermark") == [(None, None, None)]


def _every_minute_for(store: Store, minutes: int) -> None:
    for minute in range(minutes):
        store.record_cycle(cycle(at(minute * MINUTE)), [], [], at(minute * MINUTE + 1),
            link=DEFAULT_LINK)


def test_raw_samples_expire_except_around_outages_which_keep_them_as_evidence(
    store: Store, db_path: Path
) -> None:
    _every_minute_for(store, 60)
    store.record_cycle(cycle(at(60 * MINUTE)), [transition("down", at(60 * MINUTE), "isp")], [],
                       at(3601), link=DEFAULT_LINK)
    _every_minute_for_range(store, 61, 65)
    store.record_cycle(cycle(at(65 * MINUTE)), [transition("up", at(65 * MINUTE))], [], at(3901),
        link=DEFAULT_LINK)
    _every_minute_for_range(store, 66, 180)
    store.maintain(at(182 * MINUTE), SHORT)
    # Kept: the outage +-10 min (50..75) and the last hour (122..179); minute summaries of all.
    assert _sample_minutes(db_path) == [*range(50, 76), *range(122, 180)]
    assert len(_google(db_path, "sample_minute", "minute_ms")) == 180
    assert len(_google(db_path, "sample_hour", "hour_ms")) == 3


def _every_minute_for_range(store: Store, first: int, last: int) -> None:
    for minute in range(first, last):
        store.record_cycle(cycle(at(minute * MINUTE)), [], [], at(minute * MINUTE + 1),
            link=DEFAULT_LINK)


def test_an_open_outages_evidence_is_kept_until_it_ends_then_the_rest_expires(
    store: Store, db_path: Path
) -> None:
    _every_minute_for(store, 60)
    store.record_cycle(cycle(at(60 * MINUTE)), [transition("down", at(60 * MINUTE), "isp")], [],
                       at(3601), link=DEFAULT_LINK)
    _every_minute_for_range(store, 61, 180)
    store.maintain(at(182 * MINUTE), SHORT)
    assert _sample_minutes(db_path) == list(range(50, 180))
    store.record_cycle(cycle(at(180 * MINUTE)), [transition("up", at(180 * MINUTE))], [],
                       at(10801), link=DEFAULT_LINK)
    _every_minute_for_range(store, 181, 300)
    store.maintain(at(302 * MINUTE), SHORT)
    assert _sample_minutes(db_path) == [*range(50, 191), *range(242, 300)]


def test_minute_summaries_expire_after_minute_retention_but_hours_stay(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(0)), [], [], at(1), link=DEFAULT_LINK)
    store.maintain(at(2 * 3600), SHORT)
    day = 24 * 3600
    store.record_cycle(cycle(at(day + 7200)), [], [], at(day + 7201), link=DEFAULT_LINK)
    store.maintain(at(day + 3 * 3600 + 120), SHORT)
    assert [row[0] for row in _google(db_path, "sample_minute", "minute_ms")] == [
        _ms(day + 7200)
    ]
    assert [row[0] for row in _google(db_path, "sample_hour", "hour_ms")] == [
        _ms(0), _ms(day + 7200)
    ]
    assert _sample_minutes(db_path) == []  # older than raw_retention too
