"""The detection benchmark's harness: its arithmetic, table and JSON without namespaces, and
one short real run (one cut, --quick) when this process may build the lab."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bench import detection
from bench.detection import (
    METRICS,
    CutResult,
    check_default_settings,
    default_output,
    format_table,
    main,
    results_document,
    settings_of,
    summarize,
    write_results,
)
from testbed.lab import Lab, lab_available
from tests.environment import require
from watchdog.config.loader import load_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def cut(number: int, *, detection_s: float, start_s: float, restore_after_s: float,
        end_s: float, recovery_s: float) -> CutResult:
    """A cut at T0 + 100 s × number with the given delays (seconds)."""
    cut_at = T0 + timedelta(seconds=100 * number)
    restored_at = cut_at + timedelta(seconds=restore_after_s)
    return CutResult(
        number=number, delay_s=0.5, hold_s=restore_after_s, cut_at=cut_at,
        restored_at=restored_at,
        down_seen_at=cut_at + timedelta(seconds=detection_s),
        recovery_seen_at=restored_at + timedelta(seconds=recovery_s),
        recorded_start=cut_at + timedelta(seconds=start_s),
        recorded_end=restored_at + timedelta(seconds=end_s),
        outage_id=number, kind="isp", checks_during_detection=number == 2,
    )


CUTS = [
    cut(1, detection_s=4.0, start_s=1.0, restore_after_s=8, end_s=0.5, recovery_s=2.5),
    cut(2, detection_s=9.0, start_s=1.8, restore_after_s=9, end_s=1.9, recovery_s=4.0),
    cut(3, detection_s=3.5, start_s=-0.02, restore_after_s=8, end_s=0.1, recovery_s=2.1),
]


def test_a_cut_measures_detection_errors_and_recovery_from_its_instants() -> None:
    first = CUTS[0]

    assert first.detection_s == pytest.approx(4.0)
    assert first.start_error_s == pytest.approx(1.0)
    assert first.end_error_s == pytest.approx(0.5)
    assert first.recovery_s == pytest.approx(2.5)
    assert CUTS[2].start_error_s == pytest.approx(-0.02)  # a start stamped before the cut


def test_summaries_give_the_median_and_the_max() -> None:
    assert summarize([3.0, 1.0, 2.0]) == detection.Summary(2.0, 3.0, 1.0)
    assert summarize([4.0, 1.0, 2.0, 3.0]).median == pytest.approx(2.5)
    with pytest.raises(ValueError, match="no values"):
        summarize([])
    summary = detection.summaries(CUTS)
    assert set(summary) == {name for name, _ in METRICS}
    assert summary["detection_s"] == detection.Summary(4.0, 9.0, 3.5)


def test_the_table_has_a_row_per_cut_then_median_and_max() -> None:
    lines = format_table(CUTS).splitlines()

    assert "cut → down recorded" in lines[0] and "restore → up recorded" in lines[0]
    rows = [line.split() for line in lines if line.strip() and not line.startswith("-")]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "median", "max"]
    assert rows[2][:5] == ["2", "0.50", "s", "9.00", "s"] and rows[2][-1] == "yes"
    assert "+1.80 s" in lines[3] and "-0.02 s" in lines[4]  # errors carry their sign
    assert rows[4][1:3] == ["4.00", "s"] and rows[5][1:3] == ["9.00", "s"]
    widths = {len(line) for line in lines}
    assert len(widths) == 1  # aligned columns


def test_the_table_of_no_cut_is_just_the_header() -> None:
    assert len(format_table([]).splitlines()) == 2


def test_the_json_holds_settings_every_cut_and_the_summary(tmp_path: Path) -> None:
    config = load_config(Lab().write_config(tmp_path / "lab.toml", schedule=None))
    document = results_document(
        CUTS, settings=settings_of(config), seed=7, quick=False, started_at=T0,
        finished_at=T0 + timedelta(minutes=2), checks={"outages_recorded": 3},
    )
    path = write_results(document, tmp_path / "results" / "nested" / "detection.json")

    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["settings"]["schedule"]["ping_interval"] == 2.0
    assert loaded["settings"]["detection"]["confirm_down"] == 3
    assert loaded["settings"]["ping_targets"] == 3
    assert loaded["method"] == {"cuts": 3, "quick": False, "seed": 7, "hold_s": 8.0,
                                "hold_jitter_s": 1.0, "poll_interval_s": 0.05}
    assert loaded["cuts"][1]["hold_s"] == 9
    assert [c["number"] for c in loaded["cuts"]] == [1, 2, 3]
    assert loaded["cuts"][1]["detection_s"] == 9.0
    assert loaded["cuts"][1]["cut_at"] == (T0 + timedelta(seconds=200)).isoformat()
    assert loaded["summary"]["end_error_s"] == {"median": 0.5, "max": 1.9, "min": 0.1}
    assert loaded["checks"] == {"outages_recorded": 3}


def test_results_go_to_a_file_named_for_the_utc_date() -> None:
    path = default_output(date(2026, 3, 1))
    assert path.name == "detection-2026-03-01.json"
    assert path.parent == Path(detection.__file__).resolve().parent / "results"


def test_the_benchmark_refuses_a_config_off_the_default_settings(tmp_path: Path) -> None:
    lab = Lab()  # writing a config needs no running lab
    defaults = load_config(lab.write_config(tmp_path / "defaults.toml", schedule=None))
    check_default_settings(defaults)

    quick = load_config(lab.write_config(tmp_path / "quick.toml"))  # the e2e schedule
    with pytest.raises(ValueError, match=r"schedule\.ping_interval"):
        check_default_settings(quick)


def test_without_the_lab_it_says_why_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(detection, "lab_available", lambda: "needs root for network namespaces")

    assert main(["--cuts", "1"]) != 0
    assert "needs root" in capsys.readouterr().err


def test_at_least_one_cut_is_required() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--cuts", "0"])
    assert exit_info.value.code != 0


@pytest.mark.netns
@pytest.mark.timeout(90)
def test_one_quick_real_cut_is_measured_and_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(lab_available())
    out = tmp_path / "detection.json"

    assert main(["--cuts", "1", "--quick", "--seed", "1", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "median" in printed and str(out) in printed
    loaded = json.loads(out.read_text(encoding="utf-8"))
    (measured,) = loaded["cuts"]
    assert measured["kind"] == "isp"
    # At the defaults: the first failing probe within one 2 s interval of the cut, confirmed
    # by three 1 s cycles; the recovery likewise (generous bounds: this is a smoke test).
    assert -0.1 <= measured["start_error_s"] <= 2.5
    assert 2.5 <= measured["detection_s"] <= 12
    assert -0.1 <= measured["end_error_s"] <= 2.5
    assert 1.5 <= measured["recovery_s"] <= 10
    assert loaded["checks"]["outages_recorded"] == 1
    assert loaded["checks"]["timeline_problems"] == []
    assert loaded["checks"]["daemon_exit_code"] == 0
