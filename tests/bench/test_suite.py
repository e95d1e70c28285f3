"""The suite's harness (bench/: plan, runner, figures, publishing; __main__ the command):
selection, the time budget, the figures and their verdicts, the table, the results JSON and
BENCHMARKS.md; then one cheap real run when root.

Timings are never asserted: only what the harness computes from given measurements.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.__main__ import EX_NOPERM, main
from bench.alerts import AlertCut
from bench.detection import CutResult
from bench.false_outages import ScenarioResult
from bench.figures import (
    ROWS,
    alert_latency_figures,
    detection_figures,
    false_outage_figure,
    figure,
    format_table,
    kill_figure,
    resource_figures,
    size_figure,
    status_figures,
    target_figures,
)
from bench.plan import OVERHEAD_S, PART_BY_NAME, PARTS, format_plan, plan_budget, select
from bench.publishing import (
    BEGIN_MARK,
    END_MARK,
    latest_results,
    machine,
    merge,
    results_path,
    update_benchmarks,
)
from bench.resources import Sample, usage_of
from bench.runner import RUNNERS, Outcome, busy_percent, cpu_times, figures_of, format_times
from bench.status import History, Row, Timing
from bench.targets import CycleRun, SizeResult
from testbed.lab import lab_available
from tests.environment import require

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- selection and the budget -----------------------------------------------------------------


def test_every_part_has_a_runner_and_every_row_a_part() -> None:
    assert set(RUNNERS) == set(PART_BY_NAME)
    rows = [row for part in PARTS for row in part.rows]
    assert sorted(rows) == sorted(ROWS) and len(rows) == len(set(rows))


def test_only_selects_parts_by_name_or_prefix_and_status_brings_its_histories() -> None:
    names = [part.name for part in select("alerts,targets")]
    assert names == ["alerts.latency", "alerts.kills", "targets"]
    assert [part.name for part in select("status")] == ["histories", "status"]
    assert [part.name for part in select("web")] == ["histories", "web.memory", "web.response"]
    assert len(select(None)) == len(PARTS)
    with pytest.raises(ValueError, match="unknown part"):
        select("detection,nonsense")


def test_the_full_plan_fits_fifteen_minutes_with_the_long_parts_side_by_side() -> None:
    plan = plan_budget(PARTS, quick=False)

    assert plan.fits and plan.total_s <= 15 * 60
    lanes = {lane.name: lane.parts for lane in plan.lanes}
    # The three 10-minute scenarios and the 5-minute resource run each get a lab of their own.
    assert lanes["loss"] == ("false_outages.loss",)
    assert lanes["dead_target"] == ("false_outages.dead_target",)
    assert lanes["dead_resolver"] == ("false_outages.dead_resolver",)
    assert lanes["resources"][0] == "resources"
    # What a busy CPU would distort runs alone, after.
    assert plan.alone == ("status", "targets", "web.response")
    assert plan.phase1_s == max(lane.estimate_s for lane in plan.lanes)
    assert plan.total_s == pytest.approx(plan.phase1_s + plan.phase2_s + OVERHEAD_S)


def test_the_quick_plan_is_a_couple_of_minutes() -> None:
    plan = plan_budget(PARTS, quick=True)
    assert plan.fits and plan.total_s <= 4 * 60


def test_a_plan_over_its_budget_says_so() -> None:
    plan = plan_budget(PARTS, quick=False, budget_s=60)
    assert not plan.fits
    assert "OVER BUDGET" in format_plan(plan)


def test_a_partial_plan_has_only_its_lanes() -> None:
    plan = plan_budget(select("targets"), quick=False)
    assert plan.lanes == () and plan.alone == ("targets",)
    assert plan.total_s == pytest.approx(20 + OVERHEAD_S)


# --- figures and verdicts -----------------------------------------------------------------------


def detection_cut(number: int, detection_s: float, start_s: float, end_s: float) -> CutResult:
    cut_at = at(100 * number)
    restored = cut_at + timedelta(seconds=9)
    return CutResult(number=number, delay_s=0.5, hold_s=9.0, cut_at=cut_at,
                     restored_at=restored, down_seen_at=cut_at + timedelta(seconds=detection_s),
                     recovery_seen_at=restored + timedelta(seconds=3),
                     recorded_start=cut_at + timedelta(seconds=start_s),
                     recorded_end=restored + timedelta(seconds=end_s), outage_id=number,
                     kind="isp", checks_during_detection=False)


def test_detection_rows_judge_the_median_the_max_and_both_errors() -> None:
    good = [detection_cut(1, 4.0, 1.0, 1.0), detection_cut(2, 4.5, 1.5, 2.0),
            detection_cut(3, 3.5, -0.1, 0.2)]
    down, errors = detection_figures(good)
    assert (down.key, down.verdict) == ("detection.down", "ok")
    assert "median 4.00 s, max 4.50 s (3 cuts)" in down.measured
    assert errors.verdict == "ok" and errors.values["start_max_abs_s"] == pytest.approx(1.5)

    late = [*good, detection_cut(4, 8.5, 1.0, 1.0)]
    assert detection_figures(late)[0].verdict == "MISSED"  # max > 8 s
    off = [*good, detection_cut(4, 4.0, 1.0, 3.5)]
    assert detection_figures(off)[1].verdict == "MISSED"  # end error > 3 s


def alert_cut(number: int, alert: float, recovered: float) -> AlertCut:
    return AlertCut(number=number, delay_s=0.5, cut_at=at(0), restored_at=at(20),
                    outage_seen_at=at(alert - 1), alert_at=at(alert),
                    recovered_at=at(20 + recovered), queued_mail_at=at(20 + recovered + 0.1))


def test_alert_rows_judge_the_median_alert_and_every_recovery_notice() -> None:
    started, recovered = alert_latency_figures(
        [alert_cut(1, 5.0, 4.0), alert_cut(2, 7.0, 3.0), alert_cut(3, 5.5, 9.0)])
    assert started.verdict == "ok" and started.values["median_s"] == 5.5
    assert recovered.verdict == "ok" and recovered.values["max_s"] == 9.0
    _, slow = alert_latency_figures([alert_cut(1, 5.0, 4.0), alert_cut(2, 5.0, 10.5)])
    assert slow.verdict == "MISSED"


def kill_report(**changes: Any) -> SimpleNamespace:
    """What ``kill_figure`` reads of a ``bench.alerts.KillReport``."""
    values: dict[str, Any] = dict(
        outages=7, duplicate_tickets=0, lost_messages=0, unrecognisable_duplicates=0,
        same_id_redeliveries=2, messages=60, kills=20)
    values.update(changes)
    return SimpleNamespace(**values)


def test_the_kill_row_wants_no_duplicate_ticket_no_loss_and_no_duplicate_under_another_id(
) -> None:
    clean = kill_figure(kill_report())
    assert clean.verdict == "ok" and clean.measured.startswith("0 / 0 (20 kills")
    assert "2 same-id redeliveries" in clean.measured  # allowed, but reported
    assert kill_figure(kill_report(duplicate_tickets=1)).verdict == "MISSED"
    assert kill_figure(kill_report(lost_messages=1)).verdict == "MISSED"
    assert kill_figure(kill_report(unrecognisable_duplicates=1)).verdict == "MISSED"
    crashed = kill_figure(kill_report(daemon_exits_not_caused_by_a_kill=1))
    assert crashed.verdict == "MISSED" and "1 daemon exits not caused by a kill" in \
        crashed.measured


def scenario(name: str, outages: int, seconds: dict[str, float]) -> ScenarioResult:
    return ScenarioResult(
        name=name, title=name, detail="", fault_at=at(0), ended_at=at(600),
        outages=[{"id": i} for i in range(outages)], outages_before_fault=0, blips=1,
        seconds_by_state=seconds, dominant_state=max(seconds, key=lambda k: seconds[k]),
        first_degraded_after_s=2.0, echo_requests=1000, ping_loss_percent=30.1,
        timeline_problems=[], daemon_exit_code=0)


def test_a_false_outage_row_wants_no_outage_and_mostly_degraded() -> None:
    good = false_outage_figure(scenario("loss", 0, {"degraded": 590, "up": 10}))
    assert good.key == "false_outages.loss" and good.verdict == "ok"
    assert good.measured == "0 outages, 1 blip; degraded 98.3 % of 10 min 00 s"
    assert false_outage_figure(
        scenario("loss", 1, {"degraded": 590, "down": 10})).verdict == "MISSED"
    assert false_outage_figure(
        scenario("dead_resolver", 0, {"degraded": 100, "up": 500})).verdict == "MISSED"


def test_resource_rows_judge_the_size_the_flatness_and_the_cpu() -> None:
    flat = [Sample(5.0 * i, 60_000 + (i > 2) * 100, 100 + i) for i in range(61)]
    memory, cpu = resource_figures(usage_of(flat, ticks_per_second=100))
    assert memory.verdict == "ok" and "flat" in memory.measured
    assert cpu.verdict == "ok" and cpu.values["cpu_percent"] == pytest.approx(0.2)
    growing = [Sample(5.0 * i, 60_000 + 40 * i, 100 + i) for i in range(61)]
    assert resource_figures(usage_of(growing, ticks_per_second=100))[0].verdict == \
        "MISSED"
    big = [Sample(5.0 * i, 80_000, 100 + 10 * i) for i in range(61)]
    memory, cpu = resource_figures(usage_of(big, ticks_per_second=100))
    assert memory.verdict == "MISSED" and cpu.verdict == "MISSED"


def history_of(days: int, size_mb: float) -> History:
    return History(Path(f"/tmp/h{days}.db"), days, 1, "0002", 2, at(0), at(0), at(0), 1.0,
                   int(size_mb * 1e6), True, {})


def test_the_size_row_is_the_year_and_lists_the_others() -> None:
    row = size_figure([history_of(30, 45.6), history_of(365, 81.1),
                             history_of(1095, 105.1)], quick=False)
    assert row.verdict == "ok" and row.measured.startswith("81.1 MB (1 month 45.6 MB")
    assert size_figure([history_of(365, 101.0)], quick=False).verdict == "MISSED"
    assert size_figure([history_of(7, 35.0)], quick=True).verdict == "info"


def timing(median: float) -> Timing:
    return Timing(median, median + 20, median - 5, 20)


def test_status_rows_want_150_ms_and_flat_report_rows_flat() -> None:
    rows = [Row(30, 45.0, timing(80), timing(120), {}),
            Row(365, 81.0, timing(85), timing(125), {}),
            Row(1095, 105.0, timing(88), timing(200), {})]
    status, report = status_figures(rows)
    assert status.verdict == "ok" and "1 month 80 ms · 1 year 85 ms · 3 years 88 ms" in \
        status.measured
    assert report.verdict == "MISSED" and "NOT flat" in report.measured
    slow = [Row(30, 45.0, timing(160), timing(120), {})]
    assert status_figures(slow)[0].verdict == "MISSED"


def test_the_html_report_row_wants_300_ms_and_flat_when_it_was_timed() -> None:
    rows = [Row(30, 45.0, timing(80), timing(120), {}, html=timing(180)),
            Row(365, 81.0, timing(85), timing(125), {}, html=timing(190))]
    *_, html = status_figures(rows)
    assert html.key == "status.html" and html.verdict == "ok"
    assert html.measured.startswith("1 month 180 ms · 1 year 190 ms (flat")
    slow = [Row(30, 45.0, timing(80), timing(120), {}, html=timing(320))]
    assert status_figures(slow)[-1].verdict == "MISSED"
    # Results written before the HTML report was timed have no such row.
    assert len(status_figures([Row(30, 45.0, timing(80), timing(120), {})])) == 2


def size_result(mode: str, targets: int, wall: float, lost: int = 0) -> SizeResult:
    return SizeResult(mode, targets, [CycleRun(wall, wall, targets * 2, lost, 0, {})] * 3, 1.0)


def test_target_rows_are_judged_on_500_targets_per_mode() -> None:
    results = [size_result("datagram", 100, 0.02), size_result("datagram", 500, 0.1),
               size_result("datagram", 1000, 2.5), size_result("raw", 500, 1.2, lost=3)]
    datagram, raw = target_figures(results)
    assert datagram.key == "targets.datagram" and datagram.verdict == "ok"
    assert "1000: 2.50 s" in datagram.measured  # beyond the target size: reported only
    assert raw.verdict == "MISSED"  # false loss
    assert target_figures([size_result("raw", 500, 1.6)])[0].verdict == "MISSED"


# --- the table, the JSON, BENCHMARKS.md -------------------------------------------------------


def test_the_table_has_one_row_per_figure_and_markdown_escapes_pipes() -> None:
    rows = [figure("histories.size", "81.1 MB | small", "ok"),
            figure("status.status", "80 ms", "MISSED")]
    plain = format_table(rows).splitlines()
    assert plain[0].split() == ["figure", "how", "target", "measured", "verdict"]
    assert len(plain) == 4 and "`" not in "\n".join(plain)
    markdown = format_table(rows, markdown=True)
    assert "81.1 MB \\| small" in markdown and "`watchdog status` wall time" in markdown


def test_a_part_that_failed_leaves_its_rows_failed_in_the_table_order() -> None:
    parts = select("targets,histories")
    ok = Outcome("histories", ok=True, document={
        "figures": [asdict(figure("histories.size", "81 MB", "ok"))]})
    failed = Outcome("targets", error="exit 1; see x.log")
    table = figures_of({"histories": ok, "targets": failed}, parts)
    assert [item.key for item in table] == ["histories.size", "targets.datagram",
                                            "targets.raw"]
    assert [item.verdict for item in table] == ["ok", "FAILED", "FAILED"]
    assert "exit 1" in table[1].measured


def document(parts: dict[str, Any], measured_at: str = "2026-03-01T12:00:00+00:00",
             **extra: Any) -> dict[str, Any]:
    return {"suite": "bench", "machine": machine(), "elapsed_s": 700.0, "only": None,
            "parts": {name: {"part": name, "measured_at": measured_at, "seconds": 12.0,
                             "figures": figures} for name, figures in parts.items()}, **extra}


def size_row(measured: str) -> list[dict[str, Any]]:
    return [asdict(figure("histories.size", measured, "ok"))]


def test_benchmarks_md_gets_its_section_and_keeps_the_notes(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    update_benchmarks(path, document({"histories": size_row("81.1 MB")}))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks")
    assert BEGIN_MARK in text and END_MARK in text
    assert "| database size after one simulated year |" in text and "81.1 MB" in text
    assert "cores" in text and "Python" in text and "make bench" in text

    path.write_text(text + "\n## Notes\n\nWritten by hand.\n", encoding="utf-8")
    update_benchmarks(path, document({"histories": size_row("82.0 MB")}))
    again = path.read_text(encoding="utf-8")
    assert "82.0 MB" in again and "81.1 MB" not in again
    assert again.count(BEGIN_MARK) == 1 and again.endswith("Written by hand.\n")


def test_machine_names_cpu_cores_ram_kernel_and_python() -> None:
    info = machine()
    assert set(info) >= {"cpu", "cores", "ram_gib", "kernel", "python"}
    assert info["cores"] >= 1


def test_a_partial_run_merges_into_the_latest_full_results(tmp_path: Path) -> None:
    old = document({"histories": size_row("81.1 MB"), "status": []})
    (tmp_path / "2026-02-01.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "2026-02-02-quick.json").write_text(json.dumps(document({})),
                                                    encoding="utf-8")
    latest = latest_results(tmp_path)
    assert latest is not None and set(latest["parts"]) == {"histories", "status"}
    new = document({"histories": size_row("80.0 MB")}, "2026-03-02T00:00:00+00:00")
    merged = merge(latest, new)
    assert list(merged["parts"]) == ["histories", "status"]
    assert merged["parts"]["histories"]["figures"][0]["measured"] == "80.0 MB"
    assert merge(None, new) is new


def test_results_are_named_for_the_utc_date() -> None:
    assert results_path(date(2026, 3, 1), quick=False, directory=Path("r")) == \
        Path("r/2026-03-01.json")
    assert results_path(date(2026, 3, 1), quick=True, directory=Path("r")) == \
        Path("r/2026-03-01-quick.json")


def test_without_root_it_says_why_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("testbed.lab.lab_available", lambda: "needs root for namespaces")
    assert main(["--only", "targets"]) == EX_NOPERM
    error = capsys.readouterr().err
    assert "targets needs root" in error and "run it as root" in error


# --- one real run ------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_real_run_of_the_cycle_part_writes_the_table_the_json_and_benchmarks_md(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(lab_available())
    results, benchmarks = tmp_path / "results", tmp_path / "BENCHMARKS.md"

    code = main(["--only", "targets", "--seed", "3", "--results-dir", str(results),
                       "--benchmarks", str(benchmarks)])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "targets per cycle (datagram sockets)" in printed and "time per part" in printed
    [path] = results.glob("*.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    keys = [row["key"] for row in saved["parts"]["targets"]["figures"]]
    assert keys == ["targets.datagram", "targets.raw"]
    assert saved["machine"]["cores"] >= 1 and saved["only"] == ["targets"]
    assert "| targets per cycle (raw sockets) |" in benchmarks.read_text(encoding="utf-8")


def test_machine_load_is_the_busy_share_of_all_cpu_time_between_two_readings() -> None:
    assert busy_percent((100, 1000), (150, 1200)) == 25.0
    assert busy_percent(None, (1, 2)) is None
    assert busy_percent((100, 1000), (100, 1000)) is None
    reading = cpu_times()
    assert reading is None or 0 <= reading[0] <= reading[1]


def test_the_times_list_every_planned_part_with_its_phase_and_lane() -> None:
    plan = plan_budget(select("resources,detection,targets"), quick=False)
    outcomes = {"resources": Outcome("resources", seconds=301.0, ok=True,
                                           cpu_busy_percent=12.5),
                "detection": Outcome("detection", seconds=200.0, error="exit 1")}
    text = format_times(outcomes, plan, 560.0)
    assert "phase 1 resources      resources" in text and "12.5 % busy" in text
    assert "detection" in text and "FAILED" in text
    assert "phase 2 alone" in text and "total 9 min 20 s" in text


def uplink_run(number: int, seconds: float) -> Any:
    from bench.uplinks import Run

    return Run(number, at(0), at(seconds), "")


def test_uplink_rows_judge_the_median_ticket_email_and_the_median_failover() -> None:
    from bench.figures import uplink_figures

    ticket, failover = uplink_figures(
        [uplink_run(1, 12.0), uplink_run(2, 16.0), uplink_run(3, 13.5)],
        [uplink_run(1, 20.0), uplink_run(2, 58.0), uplink_run(3, 35.0)],
        open_after_s=10.0, check_interval_s=30.0)
    assert (ticket.key, ticket.verdict, ticket.values["median_s"]) == (
        "uplinks.backup_ticket", "ok", 13.5)
    assert "median 13.50 s (3 cuts: 12.0, 16.0, 13.5)" in ticket.measured
    assert ticket.target == "≤ open_after + 5 s (15 s)"
    assert (failover.verdict, failover.target) == ("ok", "≤ 2 × check_interval (60 s)")
    slow, late = uplink_figures([uplink_run(1, 15.5)], [uplink_run(1, 61.0)],
                                open_after_s=10.0, check_interval_s=30.0)
    assert (slow.verdict, late.verdict) == ("MISSED", "MISSED")
