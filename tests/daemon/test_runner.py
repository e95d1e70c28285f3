"""The real daemon on loopback: cycles recorded, signals end it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from watchdog import clock
from watchdog.config import load_config
from watchdog.daemon.monitor import LinkMonitor
from watchdog.errors import EX_NOINPUT
from watchdog.store import reader
from watchdog.store.invariants import timeline_problems
from watchdog.store.writer import Store


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.usefixtures("raw_sockets")
def test_a_cycle_is_recorded_and_the_link_comes_up(loopback_config: Path) -> None:
    config = load_config(loopback_config)
    with Store.open(config.storage.database) as store:
        (link,) = config.links
        monitor = LinkMonitor(link, config, store, privileged=True)
        monitor.resume()
        result = monitor.cycle()
        assert all(probe.ok for probe in result.results), result.results
        assert monitor.tracker.state == "up"
        monitor.cycle()
        store.shutdown(clock.utcnow())
    status = reader.read_status(config.storage.database, clock.utcnow())
    assert [t.name for t in status.targets] == ["gateway", "alpha", "bravo", "charlie"]
    assert all(t.last_ok for t in status.targets)
    assert status.heartbeat is not None and status.heartbeat.clean_shutdown


@pytest.mark.usefixtures("raw_sockets")
def test_the_gateway_is_read_from_the_default_route_when_not_set(loopback_config: Path) -> None:
    text = loopback_config.read_text().replace('address = "127.0.0.1"', 'address = ""')
    loopback_config.write_text(text)
    config = load_config(loopback_config)
    with Store.open(config.storage.database) as store:
        (link,) = config.links
        monitor = LinkMonitor(link, config, store, privileged=True,
                              gateway_lookup=lambda: "127.0.0.9")
        monitor.resume()
        result = monitor.cycle()
        assert result.gateway is not None and result.gateway.address == "127.0.0.9"
        no_route = LinkMonitor(link, config, store, privileged=True, gateway_lookup=lambda: None)
        no_route.resume()
        assert no_route.cycle().gateway_note == "no default route"


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "watchdog", "run", "--config", str(config)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )


@pytest.mark.usefixtures("host_ping_mode")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_finishes_the_cycle_closes_the_interval_and_exits_zero(
    loopback_config: Path, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    database = tmp_path / "watchdog.db"
    log = tmp_path / "daemon.log"
    process = start_daemon(loopback_config, log)
    try:
        def is_up() -> bool:
            try:
                return reader.read_status(database, clock.utcnow()).state == "up"
            except Exception:
                return False
        wait_for(is_up)
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    status = reader.read_status(database, clock.utcnow())
    assert status.heartbeat is not None and status.heartbeat.clean_shutdown
    assert status.state == "unknown"
    assert timeline_problems(database) == []
    events = [json.loads(line) for line in log.read_text().splitlines()]
    names = [event["event"] for event in events]
    assert names[0] == "resumed" and "started" in names and names[-1] == "stopped"
    changes = [event for event in events if event["event"] == "link_state_changed"]
    assert [event["state"] for event in changes] == ["up"]
    assert {"state", "cause", "since"} <= changes[0].keys()
    # One event per transition, not a line per probe.
    assert len(events) < 10
    # The clock's synchronisation was checked at start-up (whatever this host's answer), and
    # the log says so when it is not synchronised.
    assert status.heartbeat.clock_checked_at is not None
    assert ("clock_not_synchronised" in names) == (status.heartbeat.clock_synced is not True)


def test_a_config_error_stops_the_daemon_with_exit_code_78(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\nping_interval = "fast"\n')
    result = subprocess.run(
        [sys.executable, "-m", "watchdog", "run", "--config", str(bad)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 78
    assert "Traceback" not in result.stderr
    assert f"{bad}: schedule.ping_interval: 'fast' is not a duration" in result.stderr


# Below a file, and below /proc (where no directory can be made, even by root).
@pytest.mark.parametrize("under", ["file", "/proc/nope"])
def test_an_unwritable_database_location_is_one_sentence(
    loopback_config: Path, tmp_path: Path, under: str
) -> None:
    blocker = tmp_path / under
    if under == "file":
        blocker.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "watchdog", "run", "--config", str(loopback_config),
         "--database", str(blocker / "sub" / "w.db")],
        capture_output=True, text=True, timeout=30, env={**os.environ, "WATCHDOG_DEBUG": ""},
    )
    assert result.returncode == EX_NOINPUT, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert f"Cannot write the database {blocker / 'sub' / 'w.db'} (cannot create " in (
        result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.usefixtures("host_ping_mode")
def test_a_second_daemon_on_the_same_database_refuses_to_start(
    loopback_config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "watchdog.db"
    first = start_daemon(loopback_config, tmp_path / "first.log")
    try:
        def is_up() -> bool:
            try:
                return reader.read_status(database, clock.utcnow()).state == "up"
            except Exception:
                return False
        wait_for(is_up)
        second = subprocess.run(
            [sys.executable, "-m", "watchdog", "run", "--config", str(loopback_config)],
            capture_output=True, text=True, timeout=30,
        )
        assert second.returncode != 0
        assert f"another watchdog (pid {first.pid}) is already running on {database}" in (
            second.stderr)
        assert "Traceback" not in second.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=10)
    assert timeline_problems(database) == []
