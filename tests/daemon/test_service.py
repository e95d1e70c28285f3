"""The daemon as a systemd service: sd_notify, SIGHUP reload, journald priorities, clock steps."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.link.cycles import at
from watchdog import logs
from watchdog.config import load_config
from watchdog.daemon.monitor import LinkMonitor
from watchdog.daemon.notify import notify
from watchdog.store import reader
from watchdog.store.invariants import timeline_problems
from watchdog.store.writer import Store


class NotifySocket:
    """A real datagram socket standing in for systemd's notification socket."""

    def __init__(self, path: Path | None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is None:
            name = f"watchdog-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.2)

    def receive_until(self, field: str, timeout: float = 20.0) -> list[str]:
        """Every message until one holds ``field``; each message is a list of lines."""
        received: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            received.append(data)
            if field in data.split("\n"):
                return received
        raise AssertionError(f"{field} never came; got {received}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock" if request.param == "path" else None)
    yield sock
    sock.close()


def test_notify_sends_one_datagram_to_path_and_abstract_sockets(
    notify_socket: NotifySocket,
) -> None:
    assert notify("READY=1", "STATUS=up since 14:02",
                  environ={"NOTIFY_SOCKET": notify_socket.address})
    assert notify_socket.sock.recv(4096) == b"READY=1\nSTATUS=up since 14:02"


def test_notify_outside_systemd_does_nothing() -> None:
    assert not notify("READY=1", environ={})


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path) -> None:
    assert not notify("WATCHDOG=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})


def start(config: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "watchdog", "run", "--config", str(config)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, **env},
    )


@pytest.mark.usefixtures("host_ping_mode")
def test_the_service_says_ready_pings_the_watchdog_and_says_stopping(
    loopback_config: Path, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    log = tmp_path / "daemon.log"
    process = start(loopback_config, log, NOTIFY_SOCKET=notify_socket.address,
                    WATCHDOG_USEC="30000000")
    try:
        first = notify_socket.receive_until("READY=1")
        # READY comes only after the database is open and a first cycle ran.
        assert (tmp_path / "watchdog.db").exists()
        ready = first[-1].split("\n")
        status = next(line for line in ready if line.startswith("STATUS="))
        assert status.startswith("STATUS=up since ") and "3/3 targets, gateway ok" in status
        pings = notify_socket.receive_until("WATCHDOG=1")
        assert pings
        process.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in "\n".join(notify_socket.receive_until("STOPPING=1"))
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()


def _events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _wait_event(log: Path, name: str, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in _events(log):
            if event.get("event") == name:
                return event
        time.sleep(0.05)
    raise AssertionError(f"no {name} event in {log.read_text()}")


@pytest.mark.usefixtures("host_ping_mode")
def test_sighup_reloads_a_valid_config_and_keeps_the_old_one_otherwise(
    loopback_config: Path, tmp_path: Path
) -> None:
    log = tmp_path / "daemon.log"
    process = start(loopback_config, log)
    try:
        _wait_event(log, "link_state_changed")
        good = loopback_config.read_text() + '\n[[ping]]\nname = "delta"\naddress = "127.0.0.5"\n'
        loopback_config.write_text(good)
        process.send_signal(signal.SIGHUP)
        _wait_event(log, "config_reloaded")
        loopback_config.write_text(good + "\n[schedule\n")
        process.send_signal(signal.SIGHUP)
        failed = _wait_event(log, "config_reload_failed")
        assert "is not valid TOML" in str(failed["problems"])
        database = tmp_path / "watchdog.db"

        def probed_delta() -> bool:
            status = reader.read_status(database, datetime.now().astimezone())
            return any(t.name == "delta" and t.last_ok for t in status.targets)

        deadline = time.monotonic() + 15
        while not probed_delta():
            assert time.monotonic() < deadline, "the reloaded target was never probed"
            time.sleep(0.1)
        assert process.poll() is None  # a bad reload does not stop the daemon
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_journal_lines_carry_their_syslog_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    try:
        logs.get_logger("watchdog.test").info("hello", state="up")
        logs.get_logger("watchdog.test").warning("careful")
        logs.get_logger("watchdog.test").error("broken")
        logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert [line[:3] for line in lines] == ["<6>", "<4>", "<3>", "<4>"]
    foreign = json.loads(lines[3][3:])
    assert foreign["event"] == "Run time of job was missed"  # stdlib logs: same renderer
    assert json.loads(lines[0][3:])["state"] == "up"


def test_a_server_with_broken_headers_puts_no_traceback_in_the_log() -> None:
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    try:
        try:
            raise ValueError("MissingHeaderBodySeparatorDefect")
        except ValueError:
            logging.getLogger("urllib3.connection").warning("Failed to parse headers",
                                                            exc_info=True)
    finally:
        logging.getLogger().handlers.clear()
    assert "Traceback" not in stream.getvalue()


class JumpingClock:
    """A virtual clock the test moves, forwards or backwards, between cycles."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("jump", "expect_unknown"),
    [(3600.0, True), (-3600.0, False), (-5.0, False), (0.5, False)],
)
@pytest.mark.usefixtures("raw_sockets")
def test_clock_steps_never_make_negative_or_overlapping_intervals(
    loopback_config: Path, jump: float, expect_unknown: bool
) -> None:
    config = load_config(loopback_config)
    clock = JumpingClock(at(0))
    with Store.open(config.storage.database) as store:
        (link,) = config.links
        monitor = LinkMonitor(link, config, store, privileged=True, now=clock)
        monitor.resume()
        for _ in range(3):
            monitor.cycle()
            clock.advance(2)
        clock.advance(jump)  # NTP correction, or a server resumed from suspend
        for _ in range(4):
            monitor.cycle()
            clock.advance(2)
        store.shutdown(clock())
    assert timeline_problems(config.storage.database) == []
    import sqlite3

    with sqlite3.connect(config.storage.database) as connection:
        rows = connection.execute(
            "SELECT state, started_at, ended_at FROM state_interval ORDER BY started_at").fetchall()
    states = [state for state, _, _ in rows]
    assert ("unknown" in states[1:]) == expect_unknown, rows
    assert states[-1] == "up"
    for _, started, ended in rows:
        assert ended is None or ended >= started
