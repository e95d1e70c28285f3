"""The command line: readable output, the JSON contract, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from tests.cli.conftest import LOOPBACK_CONFIG
from tests.store.store_helpers import at, cycle, transition
from watchdog.cli import main
from watchdog.errors import EX_CONFIG, EX_NOINPUT, EX_USAGE, ConfigError
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK, LinkState, OutageKind


@pytest.fixture
def history(config: Path) -> Path:
    """A database: up from T0, an ISP outage from T0+60 s (between the probes of 58 s and
    60.0045 s), still going on at T0+600 s."""
    database = config.parent / "watchdog.db"
    with Store.open(database) as store:
        store.resume(at(0), timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(0), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(60), ok=False),
                           [transition("down", at(60), "isp", "the gateway answers but 3 of 3 "
                                       "internet targets do not answer", after=at(58),
                                       by=at(60.0045))], [], at(61), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(599), ok=False), [], [], at(600), link=DEFAULT_LINK)
    return database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json_keeps_its_contract(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        code, out, _ = run(capsys, "status", "--json", "--config", str(config))
    assert code == 2  # down
    data = json.loads(out)
    assert {"state", "since", "cause", "daemon", "uptime", "unknown_seconds", "outage",
            "targets"} <= data.keys()
    assert data["state"] == "down"
    assert data["since"] == "2025-03-01T13:01:00+01:00"  # site time zone, with its offset
    assert data["daemon"] == {"running": True, "last_cycle_at": "2025-03-01T13:10:00+01:00"}
    assert set(data["uptime"]) == set(data["unknown_seconds"]) == {"24h", "7d", "30d"}
    assert data["uptime"]["24h"] == pytest.approx(100 * 60 / 601, abs=0.01)
    assert data["outage"] == {"id": 1, "kind": "isp", "started_at": "2025-03-01T13:01:00+01:00",
                              "duration_s": 541}
    target = data["targets"][1]
    assert {"name", "kind", "ok", "rtt_ms", "at", "error"} <= target.keys()
    assert (target["ok"], target["error"]) == (False, "timeout")


def test_status_tells_a_person_what_is_going_on(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        code, out, _ = run(capsys, "status", "--config", str(config))
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == "Internet link: DOWN (internet provider) since 13:01:00 (9 min 1 s)"
    assert "the gateway answers but 3 of 3 internet targets do not answer" in lines[1]
    assert lines[2] == "  outage #1 (isp) since 13:01:00, 9 min 1 s so far"
    assert "Daemon: running, last cycle 1 s ago" in out
    assert f"Database: {history}" in out


# The Nagios plugins' convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
@pytest.mark.parametrize(("state", "kind", "code"), [
    ("up", None, 0), ("degraded", None, 1), ("maintenance", None, 1), ("down", "isp", 2),
    ("lan_down", "lan", 2), ("down", "dns", 2),
])
def test_status_exits_with_the_state_as_monitoring_plugins_read_it(
    config: Path, capsys: pytest.CaptureFixture[str], state: LinkState, kind: OutageKind | None,
    code: int,
) -> None:
    with Store.open(config.parent / "watchdog.db") as store:
        store.resume(at(0), timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(0), link=DEFAULT_LINK)
        changes = [transition(state, at(60), kind)] if state != "up" else []
        store.record_cycle(cycle(at(60), ok=state in ("up", "degraded")), changes, [], at(60),
                           link=DEFAULT_LINK)
    with time_machine.travel(at(61), tick=False):
        assert run(capsys, "status", "--config", str(config))[0] == code
        assert run(capsys, "status", "--json", "--config", str(config))[0] == code
    # The daemon stopped (no heartbeat for long), or never ran: UNKNOWN.
    with time_machine.travel(at(3600), tick=False):
        assert run(capsys, "status", "--config", str(config))[0] == 3
    (config.parent / "watchdog.db").unlink()
    with Store.open(config.parent / "watchdog.db") as store:
        store.resume(at(0), timedelta(seconds=2), link=DEFAULT_LINK)
    with time_machine.travel(at(1), tick=False):
        assert run(capsys, "status", "--config", str(config))[0] == 3


def test_status_help_documents_its_exit_codes() -> None:
    result = subprocess.run([sys.executable, "-m", "watchdog", "status", "--help"],
                            capture_output=True, text=True, timeout=30, check=True)
    text = " ".join(result.stdout.split())
    assert "0 up (OK), 1 degraded or in a maintenance window (WARNING), 2 down or a LAN fault " \
        "(CRITICAL), 3 unknown: the daemon is not running or never ran (UNKNOWN)" in text


def test_status_after_the_daemon_stopped_says_so(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(3600), tick=False):
        code, out, _ = run(capsys, "status", "--config", str(config))
    assert code == 3
    assert out.startswith("Internet link: UNKNOWN since 13:10:00 (50 min)")
    assert "not running" in out


def test_status_of_a_running_daemon_that_stopped_writing_its_database_says_both(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from watchdog.store.files import hold_writer_lock

    # The daemon holds its lock but wrote nothing for 50 min (its disk full or read-only).
    with hold_writer_lock(history), time_machine.travel(at(3600), tick=False):
        code, out, _ = run(capsys, "status", "--config", str(config))
    assert code == 3
    lines = out.splitlines()
    assert lines[0].startswith("Internet link: UNKNOWN since 13:10:00")
    assert "the watchdog runs but has not written its database since then" in lines[1]
    assert (f"Daemon: running (pid {os.getpid()}) but not writing its database since 13:10:00: "
            "is its file system full or read-only?") in out
    assert "not running" not in out


def test_status_without_a_database_is_one_sentence(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "--config", str(config))
    assert code == EX_NOINPUT
    assert out == ""
    assert err.count("\n") == 1
    assert "does not exist; start the daemon (watchdog run)" in err


def test_outages_lists_each_with_its_duration(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        code, out, _ = run(capsys, "outages", "--config", str(config))
        assert code == 0
        assert "#1    isp  2025-03-01 13:01 → still going on  9 min 1 s" in out
        # The bracket in milliseconds, its "by" side rounded up (60.0045 s is shown .005).
        assert "      started between 2025-03-01 13:00:58.000 and 13:01:00.005\n" in out
        assert "ended" not in out
        code, out, _ = run(capsys, "outages", "--json", "--config", str(config))
    assert json.loads(out) == [{
        "id": 1, "link": "default", "kind": "isp", "started_at": "2025-03-01T13:01:00+01:00",
        "ended_at": None,
        "duration_s": 541,
        "cause": "the gateway answers but 3 of 3 internet targets do not answer",
        "unobserved_s": 0, "end_observed": None,
        "start_bracket": {"after": "2025-03-01T13:00:58.000+01:00",
                          "by": "2025-03-01T13:01:00.005+01:00"},
        "end_bracket": None,
    }]


def test_outages_since_filters_in_site_time(
    config: Path, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(601), tick=False):
        _, out, _ = run(capsys, "outages", "--json", "--since", "2025-03-02",
                        "--config", str(config))
        assert len(json.loads(out)) == 1  # still going on, so it counts
        _, out, _ = run(capsys, "outages", "--json", "--since", "2025-03-01T13:00",
                        "--config", str(config))
        assert len(json.loads(out)) == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["outages", "--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["status", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["config", "frob"], "invalid choice: 'frob'"),
    ],
)
def test_a_bad_argument_is_one_sentence_with_exit_64(
    config: Path, history: Path, argv: list[str], words: str
) -> None:
    result = subprocess.run([sys.executable, "-m", "watchdog", *argv, "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == EX_USAGE, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_check_prints_the_effective_config(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "config", "check", "--config", str(config))
    assert code == 0
    assert 'ping_interval = "2s"' in out
    assert f'database = "{config.parent / "watchdog.db"}"' in out


def test_config_check_lists_every_problem_with_exit_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(LOOPBACK_CONFIG + '[schedule]\nping_interval = "soon"\nretries = 3\n')
    code, out, err = run(capsys, "config", "check", "--config", str(bad))
    assert code == EX_CONFIG
    assert out == ""
    assert err.splitlines() == [
        f"{bad}: schedule.ping_interval: 'soon' is not a duration; write a number with a unit "
        '(ms, s, m, h, d, w), for example "2s", "5m" or "4h"',
        f"{bad}: schedule.retries: unknown key; (allowed here: ping_interval, ping_timeout, "
        "pings_per_target, retry_interval, check_interval, dns_timeout, http_timeout)",
    ]


def test_the_read_commands_stay_off_the_heavy_imports(config: Path, history: Path) -> None:
    # A heartbeat configured: status shows its record, still without the heavy libraries.
    config.write_text(config.read_text() + '[[heartbeat]]\nname = "hc"\nurl_env = "HC"\n')
    code = (
        "import sys\n"
        "from watchdog.cli import main\n"
        "for command in ('status', 'outages', 'report', 'tickets', 'outbox', 'maintenance list'):\n"
        f"    main([*command.split(), '--config', {str(config)!r}])\n"
        "heavy = {'sqlmodel', 'sqlalchemy', 'apscheduler', 'requests', 'alembic', 'pydantic',\n"
        "         'icmplib', 'dns', 'structlog', 'prometheus_client'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def test_status_says_what_has_been_done_about_the_outage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.incidents.conftest import make_config
    from watchdog.incidents.service import IncidentService

    config = make_config(tmp_path, '[storage]\ndatabase = "watchdog.db"\n')
    with Store.open(tmp_path / "watchdog.db") as store:
        store.on_cycle = IncidentService(config).after_cycle
        store.resume(at(0), timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(0), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(60), ok=False), [transition("down", at(60), "isp")], [],
                           at(61), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(300), ok=False), [], [], at(300), link=DEFAULT_LINK)
    with time_machine.travel(at(301), tick=False):
        code, out, _ = run(capsys, "status", "--config", str(tmp_path / "watchdog.toml"))
        assert code == 2
        assert "  ticket WD-2025-0001 opened 12:05:00, 0 reminder(s) sent; 5 message(s) " \
               "waiting to be sent" in out
        code, out, _ = run(capsys, "status", "--json", "--config",
                           str(tmp_path / "watchdog.toml"))
    assert json.loads(out)["ticket"] == {
        "reference": "WD-2025-0001", "opened_at": "2025-03-01T12:05:00+00:00",
        "reminders_sent": 0, "gtr_breached": False, "cuts": 1, "messages_waiting": 5}


def test_run_checks_the_holidays_country_and_learns_its_days_from_a_child(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import watchdog.daemon.runner as runner
    from watchdog import logs
    from watchdog.contract import public_holidays

    monkeypatch.setattr(logs, "configure", lambda: None)  # the test run keeps its logging
    monkeypatch.setattr(public_holidays, "_use_child", False)
    monkeypatch.setattr(public_holidays, "_known", {})
    started = []
    monkeypatch.setattr(runner, "run", lambda config, reload: started.append((config, reload))
                        or 0)
    contract = '[contract.business_hours]\nholidays_country = "FR"\nholidays_subdivision = "57"\n'
    config.write_text(LOOPBACK_CONFIG + contract)
    with time_machine.travel(at(0), tick=False):
        assert run(capsys, "run", "--config", str(config))[0] == 0
    assert public_holidays._use_child  # the daemon never imports the library itself
    assert sorted(public_holidays._known) == [("FR", "57", year) for year in (2024, 2025, 2026)]
    ((loaded, reload),) = started
    assert loaded.contract.business_hours.holidays_subdivision == "57"
    config.write_text(LOOPBACK_CONFIG + contract.replace('"57"', '"99"'))
    with pytest.raises(ConfigError, match="holidays_subdivision: '99' is not a subdivision"):
        reload()  # a SIGHUP with a bad subdivision keeps the running config
