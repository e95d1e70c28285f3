"""The read commands with several uplinks: ``status`` says the site's state then each uplink,
``outages`` names each outage's uplink, ``report`` reports one uplink and lists them all."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from tests.cli.conftest import LOOPBACK_CONFIG
from tests.cli.test_cli import run
from tests.store.store_helpers import at, cycle, transition
from watchdog.errors import EX_USAGE
from watchdog.store.writer import Store

UPLINKS = """
[isp]
name = "Fibre Co"
line_id = "FTTH-42"

[[uplink]]
name = "fibre"
kind = "fibre"
interface = "lo"

[[uplink]]
name = "4g"
kind = "4g"
source = "127.0.0.1"

[uplink.isp]
name = "Mobile Co"
line_id = "+33 6 00 00 00 00"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "watchdog.toml"
    path.write_text(LOOPBACK_CONFIG + UPLINKS)
    return path


@pytest.fixture
def history(config: Path) -> Path:
    """Both uplinks up from T0; the fibre cut from T0+60 s, still cut at T0+600 s; the 4G
    had a 10 s outage at T0+300 s."""
    database = config.parent / "watchdog.db"
    with Store.open(database) as store:
        for name in ("fibre", "4g"):
            store.resume(at(0), timedelta(seconds=2), link=name)
            store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(0), link=name)
        store.record_cycle(cycle(at(60), ok=False), [transition("down", at(60), "isp")], [],
                           at(61), link="fibre")
        store.record_cycle(cycle(at(300), ok=False), [transition("down", at(300), "isp")], [],
                           at(301), link="4g")
        store.record_cycle(cycle(at(310)), [transition("up", at(310))], [], at(311), link="4g")
        for name in ("fibre", "4g"):
            store.record_cycle(cycle(at(599), ok=name == "4g"), [], [], at(600), link=name)
    return database


def test_status_says_the_site_is_on_backup_then_shows_each_uplink(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        code, out, _ = run(capsys, "status", "--config", str(config))
    assert code == 1  # on backup: served, a WARNING to monitoring plugins
    lines = out.splitlines()
    assert lines[0] == "Site: ON BACKUP: the traffic leaves through 4g"
    fibre = lines.index(next(line for line in lines if line.startswith("Uplink fibre")))
    mobile = lines.index(next(line for line in lines if line.startswith("Uplink 4g")))
    assert 0 < fibre < mobile
    assert lines[fibre].startswith("Uplink fibre (fibre, primary): DOWN (internet provider) "
                                   "since 13:01")
    assert lines[mobile].startswith("Uplink 4g (4g): UP since 13:05")
    assert out.count("Daemon: running") == 1 and out.count("Database:") == 1


def test_status_exits_with_the_primarys_state_unless_the_site_is_on_backup(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def code_at(seconds: int) -> int:
        with time_machine.travel(at(seconds), tick=False):
            return run(capsys, "status", "--config", str(config))[0]

    # The store stays open, as the daemon keeps it, while status reads.
    with Store.open(config.parent / "watchdog.db") as store:
        for name in ("fibre", "4g"):
            store.resume(at(0), timedelta(seconds=2), link=name)
            store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(0), link=name)
        assert code_at(1) == 0
        # The 4G cut: the site is still up through its primary.
        store.record_cycle(cycle(at(60), ok=False), [transition("down", at(60), "isp")], [],
                           at(61), link="4g")
        store.record_cycle(cycle(at(60)), [], [], at(61), link="fibre")
        assert code_at(62) == 0
        # Both cut: nothing leaves, CRITICAL.
        store.record_cycle(cycle(at(120), ok=False), [transition("down", at(120), "isp")], [],
                           at(121), link="fibre")
        store.record_cycle(cycle(at(120), ok=False), [], [], at(121), link="4g")
        assert code_at(122) == 2


def test_status_json_keeps_the_primarys_keys_and_adds_the_site_and_each_link(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        _, out, _ = run(capsys, "status", "--json", "--config", str(config))
    data = json.loads(out)
    assert data["state"] == "down" and data["outage"]["kind"] == "isp"
    assert data["site"] == {"state": "on_backup", "carrier": "4g"}
    assert [(link["name"], link["kind"], link["primary"], link["state"])
            for link in data["links"]] == [("fibre", "fibre", True, "down"),
                                           ("4g", "4g", False, "up")]
    assert data["links"][1]["outage"] is None
    assert data["links"][1]["uptime"]["24h"] == pytest.approx(100 * 591 / 601, abs=0.01)


def test_outages_name_their_uplink_and_can_keep_one(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        _, out, _ = run(capsys, "outages", "--config", str(config))
        assert "#1    fibre isp  2025-03-01 13:01 → still going on" in out
        assert "#2    4g isp  2025-03-01 13:05 → 2025-03-01 13:05  10 s" in out
        _, out, _ = run(capsys, "outages", "--json", "--link", "4g", "--config", str(config))
        assert [(row["id"], row["link"]) for row in json.loads(out)] == [(2, "4g")]
        code, _, err = run(capsys, "outages", "--link", "adsl", "--config", str(config))
    assert code == EX_USAGE
    assert "--link 'adsl' is not a link of this config; use one of 'fibre', '4g'" in err


def test_the_report_is_the_primarys_by_default_and_lists_every_uplink(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        _, out, _ = run(capsys, "report", "--json", "--month", "2025-03", "--config",
                        str(config))
        fibre = json.loads(out)
        _, out, _ = run(capsys, "report", "--json", "--link", "4g", "--month", "2025-03",
                        "--config", str(config))
        mobile = json.loads(out)
        _, text, _ = run(capsys, "report", "--link", "4g", "--month", "2025-03", "--config",
                         str(config))
    assert (fibre["link"], fibre["provider"]["name"]) == ("fibre", "Fibre Co")
    assert (mobile["link"], mobile["provider"]["line_id"]) == ("4g", "+33 6 00 00 00 00")
    assert [(u["name"], u["primary"], u["reported"]) for u in mobile["uplinks"]] == [
        ("fibre", True, False), ("4g", False, True)]
    # Observed until the last heartbeat (T0+600 s): 60 s up of 600.
    assert mobile["uplinks"][0]["availability_percent"] == pytest.approx(10.0)
    assert [len(report["outages"]) for report in (fibre, mobile)] == [1, 1]
    assert "Link: 4g" in text and "Availability of each uplink:" in text
