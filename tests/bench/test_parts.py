"""The arithmetic of the suite's own parts, without namespaces: false outages (time per state),
resources (/proc parsing, flatness, CPU), status (the history cache, flatness) and targets.

One real status measurement on a one-day history (no root needed) checks the commands run.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import status
from bench.false_outages import SCENARIOS, dominant, first_entered, seconds_by_state
from bench.resources import (
    FLAT_GROWTH_KIB,
    Sample,
    read_cpu_ticks,
    read_rss_kib,
    trend_mib_per_hour,
    usage_of,
)
from bench.targets import CycleRun, SizeResult, target_address
from testbed.daemon.records import Interval

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- false outages ----------------------------------------------------------------------------


def interval(state: str, start: float, end: float | None) -> Interval:
    return Interval(1, state, "", at(start), None if end is None else at(end))  # type: ignore[arg-type]


def test_time_per_state_is_clipped_to_the_hold_and_an_open_interval_runs_to_its_end() -> None:
    intervals = [interval("up", -100, 5), interval("degraded", 5, 300),
                 interval("down", 300, 310), interval("degraded", 310, None)]

    seconds = seconds_by_state(intervals, at(0), at(600))

    assert seconds == {"up": 5.0, "degraded": 585.0, "down": 10.0}
    assert dominant(seconds) == "degraded" and dominant({}) == "unknown"
    assert first_entered(intervals, "degraded", at(0)) == 5.0
    assert first_entered(intervals, "degraded", at(400)) == 0.0  # already in it
    assert first_entered(intervals, "lan_down", at(0)) is None


def test_the_scenarios_are_the_issues_three() -> None:
    assert list(SCENARIOS) == ["loss", "dead_target", "dead_resolver"]
    assert "30" in SCENARIOS["loss"].title


# --- resources --------------------------------------------------------------------------------


STATUS_TEXT = "Name:\twatchdog\nVmHWM:\t   86000 kB\nVmRSS:\t   83840 kB\nRssAnon:\t 60000 kB\n"
STAT_TEXT = ("4242 (watch dog) S 1 4242 4242 0 -1 4194560 5000 0 0 0 "
             "1234 567 0 0 20 0 5 0 100 123456789 20960 18446744073709551615")


def test_proc_status_and_stat_are_read_even_with_a_space_in_the_command_name() -> None:
    assert read_rss_kib(STATUS_TEXT) == 83840
    assert read_rss_kib(STATUS_TEXT, "VmHWM") == 86000
    assert read_cpu_ticks(STAT_TEXT) == 1234 + 567
    with pytest.raises(ValueError):
        read_rss_kib("Name:\tx\n")


def test_usage_gives_start_end_max_growth_after_warmup_and_cpu_of_one_core() -> None:
    # 5 min every 5 s; 600 KiB of start-up growth in the first minute, then flat; 1.5 s CPU.
    samples = [Sample(5.0 * i, 70_000 + min(i, 12) * 50, 1000 + int(i * 2.5)) for i in range(61)]

    usage = usage_of(samples, hwm_kib=71_000, ticks_per_second=100)

    assert usage.seconds == 300.0 and usage.samples == 61
    assert usage.rss_start_mb == round(70_000 * 1024 / 1e6, 1)
    assert usage.rss_end_mb == usage.rss_max_mb == round(70_600 * 1024 / 1e6, 1)
    assert usage.growth_after_warmup_kib == 0 and usage.flat
    assert usage.cpu_percent == pytest.approx(100 * (samples[-1].cpu_ticks - 1000) / 100 / 300)
    assert usage.rss_peak_hwm_mb == round(71_000 * 1024 / 1e6, 1)


def test_growth_beyond_the_limit_after_the_first_minute_is_not_flat() -> None:
    step = FLAT_GROWTH_KIB // 40 + 1
    samples = [Sample(5.0 * i, 70_000 + i * step, 0) for i in range(61)]
    usage = usage_of(samples, ticks_per_second=100)
    assert not usage.flat and not usage.memory_ok
    assert trend_mib_per_hour(samples) == pytest.approx(step / 1024 / 5 * 3600)
    with pytest.raises(ValueError):
        usage_of(samples[:1])


# --- status: the cache and flatness -----------------------------------------------------------


def test_flat_allows_ten_ms_or_a_fifth_of_the_smallest() -> None:
    assert status.is_flat([50, 55, 60])
    assert not status.is_flat([50, 55, 61])
    assert status.is_flat([200, 230, 240])
    assert not status.is_flat([200, 241])
    with pytest.raises(ValueError):
        status.is_flat([])


def test_the_cache_key_holds_days_seed_schema_and_generator() -> None:
    stem = status.cache_stem(365, 1, "0002", 2)
    assert stem == "history-365d-seed1-schema0002-gen2"
    assert status.cache_stem(365, 1, "0003", 2) != stem
    assert status.cache_stem(365, 2, "0002", 2) != stem
    assert status.cache_stem(365, 1, "0002", 3) != stem


def test_a_cached_history_is_reused_while_fresh_and_complete(tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    stem = status.cache_stem(30, 1, status.schema_revision())
    (tmp_path / f"{stem}.db").write_bytes(b"x" * 10)
    meta = {"stem": stem, "start": (now - timedelta(days=30)).isoformat(),
            "end": now.isoformat(), "built_at": now.isoformat(), "build_seconds": 12.5,
            "stats": {"raw_cycles": 1}}
    (tmp_path / f"{stem}.json").write_text(json.dumps(meta), encoding="utf-8")

    found = status.cached(30, cache=tmp_path, now=now + timedelta(hours=3))
    assert found is not None and found.reused and found.size_bytes == 10
    assert status.cached(30, cache=tmp_path, now=now + timedelta(hours=25)) is None
    assert status.cached(365, cache=tmp_path, now=now) is None
    (tmp_path / f"{stem}.json").write_text("{not json", encoding="utf-8")
    assert status.cached(30, cache=tmp_path, now=now) is None


def test_the_report_month_is_one_every_database_holds() -> None:
    assert status.report_month(datetime(2026, 11, 26, tzinfo=UTC)) == "2026-11"
    assert status.report_month(datetime(2026, 12, 3, tzinfo=UTC)) == "2026-11"


@pytest.mark.timeout(120)
def test_status_and_report_run_on_a_built_history(tmp_path: Path) -> None:
    rows, month = status.measure([1], 1, cache=tmp_path)

    [row] = rows
    assert row.days == 1 and row.size_mb > 0 and row.status.runs == 1
    assert row.status.median_ms > 0 and row.report.median_ms > 0
    assert month == status.report_month(datetime.now(UTC))
    assert not row.history["reused"]
    again, _ = status.measure([1], 1, cache=tmp_path)
    assert again[0].history["reused"]
    assert sorted(path.suffix for path in tmp_path.iterdir() if path.is_file()) == \
        [".db", ".json", ".toml"]
    assert os.access(tmp_path / f"{Path(row.history['path']).stem}.toml", os.R_OK)


# --- targets ----------------------------------------------------------------------------------


def test_target_addresses_are_distinct_loopback_hosts() -> None:
    addresses = [target_address(i) for i in range(1000)]
    assert len(set(addresses)) == 1000
    assert addresses[0] == "127.1.0.1" and addresses[249] == "127.1.0.250"
    assert addresses[250] == "127.1.1.1"
    assert all(address.startswith("127.") for address in addresses)


def test_a_size_is_within_target_when_every_cycle_is_in_time_and_nothing_is_lost() -> None:
    def result(walls: list[float], lost: int = 0) -> SizeResult:
        return SizeResult("datagram", 500,
                          [CycleRun(wall, 0.1, 1000, lost, 0, {}) for wall in walls], 1.0)

    assert result([0.1, 0.2, 1.5]).within_target
    assert not result([0.1, 1.51]).within_target
    assert not result([0.1, 0.1], lost=1).within_target
    assert result([0.1, 0.3, 0.2]).median_s == 0.2
    assert result([0.1], lost=10).loss_percent == 1.0
