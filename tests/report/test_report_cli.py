"""``watchdog report``: a period's availability, outages and tickets, in the site's zone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from tests.incidents.conftest import make_config
from tests.report.conftest import moment
from tests.store.store_helpers import cycle, transition
from watchdog.cli import main
from watchdog.errors import EX_CANTCREAT, EX_USAGE
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK


def test_the_report_counts_each_state_and_lists_the_outages_with_their_tickets(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["report", "--month", "2026-11", "--json", "--config", str(site)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"]["start"] == "2026-11-01T00:00:00.000+01:00"
    assert data["period"]["observed_until"] == "2026-11-20T01:00:00.000+01:00"
    figures = data["availability"]
    seconds = figures["seconds"]
    assert seconds["down"] == 6 * 3600
    assert seconds["lan_down"] == 3600
    assert seconds["unknown"] == 2 * 3600
    # Nov 1 00:00 in Paris is Oct 31 23:00 UTC; the history starts at 23:30.
    assert figures["unrecorded_s"] == 1800
    watched = 19 * 86400 + 3600 - 1800 - 2 * 3600
    assert figures["observed_s"] == watched
    assert seconds["up"] + seconds["degraded"] + seconds["down"] + seconds["lan_down"] == (
        watched)
    assert figures["availability_percent"] == pytest.approx(
        100 * (watched - 7 * 3600) / watched)
    assert figures["provider_availability_percent"] == pytest.approx(
        100 * (watched - 7 * 3600) / (watched - 3600))
    outages = data["outages"]
    assert [(o["kind"], o["ticket"], o["provider_ref"], o["gtr_breached"])
            for o in outages] == [("isp", "WD-2026-0001", "4411-XYZ", True),
                                  ("lan", "WD-2026-0002", None, False)]
    assert outages[0]["started_at"] == "2026-11-03T11:00:00.000+01:00"
    assert outages[0]["start_bracket"] == {"after": "2026-11-03T10:59:58.400+01:00",
                                           "by": "2026-11-03T11:00:00.006+01:00"}
    assert outages[0]["end_bracket"]["by"] == "2026-11-03T17:00:00.006+01:00"
    assert data["clock"] == {"synchronised": True, "checked_at": "2026-11-20T01:00:00.000+01:00",
                             "since": "2026-11-20T01:00:00.000+01:00", "whole_period": False}
    assert (outages[0]["duration_s"], outages[0]["seconds_in_period"]) == (6 * 3600, 6 * 3600)
    assert outages[0]["reminders_sent"] == 1
    # Every day begun so far, in the site's zone; the third is marked by the outage.
    assert [day["date"] for day in data["days"]][:3] == ["2026-11-01", "2026-11-02",
                                                         "2026-11-03"]
    assert len(data["days"]) == 20
    assert data["days"][2]["mark"] == "down" and data["days"][4]["mark"] == "lan_down"
    assert [t["reference"] for t in data["tickets"]] == ["WD-2026-0001", "WD-2026-0002"]
    assert [e["kind"] for e in data["tickets"][0]["timeline"]] == [
        "started", "ticket_opened", "reminder", "recovered", "provider_ref"]


def test_the_report_reads_like_a_claim(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["report", "--config", str(site)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Connectivity report — Example Office — 2026-11")
    assert "Line FTTH-42, Example Telecom" in out
    assert "Guaranteed time to repair (GTR): 4 h, counted 24/7, from the outage's start." in out
    assert ("#1 provider: 2026-11-03 11:00:00.000 CET → 2026-11-03 17:00:00.000 CET" in out)
    assert ("Duration 6 h; In this period 6 h; Ticket WD-2026-0001; Provider's ref. 4411-XYZ; "
            "Repair due 2026-11-03 15:00:00 CET; Repair time exceeded") in out
    assert "not observed 2 h 30 min" in out
    # The brackets, cut (after) and rounded up (by) to the millisecond.
    assert "started between 2026-11-03 10:59:58.400 CET and 11:00:00.006 CET" in out
    assert "ended between 2026-11-03 16:59:58.400 CET and 17:00:00.006 CET" in out
    # The clock said "synchronised" once, at the end: not throughout the month.
    assert ("Server clock: synchronised (NTP) when last checked, 2026-11-20 01:00:00 CET, and "
            "since 2026-11-20 01:00:00 CET") in out


def test_the_same_figures_in_every_format_and_the_digest_can_be_recomputed(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from watchdog.report.build import digest

    outputs = {}
    with time_machine.travel(moment(20, 0), tick=False):
        for fmt in ("json", "csv", "html", "text"):
            target = tmp_path / f"report.{fmt}"
            assert main(["report", "--month", "2026-11", "--format", fmt, "-o", str(target),
                         "--config", str(site)]) == 0
            outputs[fmt] = target.read_text(encoding="utf-8")
    data = json.loads(outputs["json"])
    assert digest(data) == data["digest"]["value"]
    said = capsys.readouterr().out
    assert f"SHA-256 {data['digest']['value']}" in said
    for fmt in ("html", "text"):
        assert data["digest"]["value"] in outputs[fmt]
    rows = outputs["csv"].splitlines()
    assert rows[0].startswith("id,kind,started_at,start_after,start_by,ended_at,end_after,"
                              "end_by,duration_s")
    assert rows[1].startswith("1,isp,2026-11-03T11:00:00.000+01:00,2026-11-03T10:59:58.400+01:00,"
                              "2026-11-03T11:00:00.006+01:00,2026-11-03T17:00:00.000+01:00,")
    assert ",21600.0,21600.0,0.0,WD-2026-0001,4411-XYZ,2026-11-03T15:00:00.000+01:00,True,0,1," \
        in rows[1]
    assert len(rows) == 3
    assert "98.460 %" in outputs["html"] and "98.460 %" in outputs["text"]


def test_a_period_of_days_and_french_words(site: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    site.write_text(site.read_text().replace('[site]\n', '[site]\nlanguage = "fr"\n'))
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["report", "--from", "2026-11-03", "--to", "2026-11-04",
                     "--config", str(site)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Rapport de connectivité — Example Office — 2026-11-03 – 2026-11-04")
    assert "Disponibilité: 87,500 %" in out  # 6 h down of 48 h observed
    assert "#1 opérateur: 2026-11-03 11:00:00.000 CET" in out


@pytest.mark.parametrize(("arguments", "message"), [
    (["--from", "2026-11-03"], "give both --from and --to"),
    (["--from", "2026-11-05", "--to", "2026-11-03"], "is before --from"),
    (["--from", "3 Nov", "--to", "2026-11-04"], "write it as YYYY-MM-DD"),
    (["--month", "2026-11", "--from", "2026-11-03", "--to", "2026-11-04"], "not both"),
    (["--month", "2027-01"], "has not begun yet"),
])
def test_bad_periods_are_one_sentence(site: Path, capsys: pytest.CaptureFixture[str],
                                      arguments: list[str], message: str) -> None:
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["report", *arguments, "--config", str(site)]) == EX_USAGE
    assert message in capsys.readouterr().err


def test_an_unwritable_output_is_one_sentence(site: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with time_machine.travel(moment(20, 0), tick=False):
        code = main(["report", "-o", "/proc/nope/report.html", "--config", str(site)])
    assert code == EX_CANTCREAT
    assert "cannot write the report to /proc/nope/report.html" in capsys.readouterr().err


def test_a_bad_month_is_one_sentence(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--month", "November", "--config", str(site)]) == EX_USAGE
    assert "write it as YYYY-MM" in capsys.readouterr().err


def test_maintenance_time_is_left_out_of_availability_and_shown_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, '[storage]\ndatabase = "watchdog.db"\n')
    with Store.open(config.storage.database) as store:
        store.resume(moment(2, 0), timedelta(seconds=2), link=DEFAULT_LINK)
        for hour, state in ((0, "up"), (10, "maintenance"), (13, "down"), (14, "up")):
            when = moment(2, hour)
            store.record_cycle(cycle(when), [transition(state, when, "isp")], [], when,
                               link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(3, 0)), [], [], moment(3, 0), link=DEFAULT_LINK)
    with time_machine.travel(moment(3, 0), tick=False):
        assert main(["report", "--month", "2026-11", "--json", "--config",
                     str(config.source)]) == 0
        data = json.loads(capsys.readouterr().out)
        assert main(["report", "--month", "2026-11", "--config", str(config.source)]) == 0
        out = capsys.readouterr().out
    figures = data["availability"]
    assert figures["seconds"]["maintenance"] == 3 * 3600
    # 24 h recorded, 3 h of it works: 20 h up of the 21 h that count.
    assert figures["availability_percent"] == pytest.approx(100 * 20 / 21)
    assert figures["contract"]["maintenance_s"] == 3 * 3600
    assert figures["contract"]["availability_percent"] == pytest.approx(100 * 20 / 21)
    assert "planned maintenance 3 h" in out
