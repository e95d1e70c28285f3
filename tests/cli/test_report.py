"""``watchdog report``: a month's availability, outages and tickets, in the site's zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from tests.incidents.conftest import make_config
from tests.store.store_helpers import cycle, transition
from watchdog.cli import main
from watchdog.errors import EX_USAGE
from watchdog.incidents.service import IncidentService
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

# Times in UTC; the site is in Paris (UTC+1 in November).
NOV = datetime(2026, 11, 1, tzinfo=UTC)


def moment(day: int, hour: float) -> datetime:
    return NOV + timedelta(days=day - 1, hours=hour)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """October 31 23:30 UTC (Nov 1 00:30 in Paris) up; an ISP outage Nov 3 10:00-16:00 UTC
    (ticket, GTR breached), a LAN fault Nov 5 for 1 h, the daemon off Nov 10 for 2 h."""
    config = make_config(tmp_path, '[storage]\ndatabase = "watchdog.db"\n')
    path = tmp_path / "watchdog.toml"
    path.write_text(path.read_text().replace('[site]\n', '[site]\ntimezone = "Europe/Paris"\n'))
    with Store.open(tmp_path / "watchdog.db") as store:
        store.on_cycle = IncidentService(config).after_cycle
        start = NOV - timedelta(minutes=30)
        store.resume(start, timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(start), [transition("up", start)], [], start, link=DEFAULT_LINK)
        steps = [
            (moment(3, 10), "down", "isp", False), (moment(3, 10.05), None, None, False),
            (moment(3, 15), None, None, False), (moment(3, 16), "up", None, True),
            (moment(5, 9), "lan_down", "lan", False), (moment(5, 9.5), None, None, False),
            (moment(5, 10), "up", None, True),
        ]
        for when, state, kind, ok in steps:
            changes = [transition(state, when, kind)] if state else []
            store.record_cycle(cycle(when, ok=ok), changes, [], when, link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(10, 8)), [], [], moment(10, 8), link=DEFAULT_LINK)
        store.shutdown(moment(10, 8))
        store.resume(moment(10, 10), timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(10, 10)), [transition("up", moment(10, 10))], [],
                           moment(10, 10), link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(20, 0)), [], [], moment(20, 0), link=DEFAULT_LINK)
    return tmp_path / "watchdog.toml"


def test_the_report_counts_each_state_and_lists_the_outages_with_their_tickets(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["report", "--month", "2026-11", "--json", "--config", str(site)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["start"] == "2026-11-01T00:00:00+01:00"
    seconds = data["seconds"]
    assert seconds["down"] == 6 * 3600
    assert seconds["lan_down"] == 3600
    assert seconds["unknown"] == 2 * 3600
    # Nov 1 00:00 in Paris is Oct 31 23:00 UTC; the history starts at 23:30.
    watched = 19 * 86400 + 3600 - 1800 - 2 * 3600
    assert seconds["up"] + seconds["degraded"] + seconds["down"] + seconds["lan_down"] == (
        watched)
    assert data["availability_percent"] == pytest.approx(100 * (watched - 7 * 3600) / watched)
    assert data["provider_availability_percent"] == pytest.approx(
        100 * (watched - 7 * 3600) / (watched - 3600))
    outages = data["outages"]
    assert [(o["kind"], o["reference"], o["gtr_breached"]) for o in outages] == [
        ("isp", "WD-2026-0001", True), ("lan", "WD-2026-0002", False)]
    assert outages[0]["reminders_sent"] == 1


def test_the_report_reads_like_a_claim(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with time_machine.travel(moment(20, 0), tick=False):
        assert main(["report", "--config", str(site)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Connectivity report — Example Office — 2026-11")
    assert "Line FTTH-42, Example Telecom, guaranteed repair time 4 h" in out
    assert "#1    isp Tue 03 Nov 11:00 → Tue 03 Nov 17:00  6 h  (WD-2026-0001, GTR breached, " \
           "1 reminder(s))" in out
    assert "not watched: 2 h" in out


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
    assert data["seconds"]["maintenance"] == 3 * 3600
    # 24 h watched, 3 h of it works: 20 h up of the 21 h that count.
    assert data["availability_percent"] == pytest.approx(100 * 20 / 21)
    assert "maintenance windows: 3 h" in out
