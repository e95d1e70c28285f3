"""The dead-man's switch in the daemon, in virtual time, against a real HTTP receiver.

The daemon's own jobs (each link's cycle, each heartbeat's turn) run in the order of their
run dates on a fake clock (``VirtualScheduler``); the monitors, tracker and store are real
and only the probes are scripted (``scripted_line``), so an hour takes a second. The
heartbeats go over HTTP to a recording server on loopback, each stamped with the virtual time
of the turn that sent it. Pings every 10 s; the line is cut from 01:03:30 to 01:07:30.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from structlog.testing import capture_logs

from testbed.servers.http_receiver import HttpReceiver, ReceivedRequest, Reply
from tests.config.test_config import MINIMAL
from tests.daemon.scripted_line import Line, scripted_line
from tests.store.store_helpers import rows
from watchdog import __version__
from watchdog.clock import to_ms
from watchdog.config import Config, load_config
from watchdog.daemon import heartbeats as heartbeats_module
from watchdog.daemon.runner import Daemon, schedule_once
from watchdog.errors import DatabaseError
from watchdog.store.heartbeat_reader import read_heartbeats
from watchdog.store.writer import Store

START = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
CUT = (datetime(2026, 12, 6, 1, 3, 30, tzinfo=UTC), datetime(2026, 12, 6, 1, 7, 30, tzinfo=UTC))
UUID = "5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11"
TOKEN = "Tk3n9xQ"

SETTINGS = MINIMAL + """
[site]
name = "Office"
timezone = "UTC"
[storage]
database = "watchdog.db"
[schedule]
ping_interval = "10s"
"""
HEALTHCHECKS = """
[[heartbeat]]
name = "hc"
url = "{url}/ping/{uuid}"
"""
KUMA = """
[[heartbeat]]
name = "kuma"
style = "uptime_kuma"
url = "{url}/api/push/{token}?status=up&msg=OK&ping="
interval = "30s"
timeout = "2s"
link = "default"
"""


def clock_at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 6, hour, minute, second, tzinfo=UTC)


class VirtualScheduler:
    """APScheduler as the daemon's jobs use it, in virtual time: each job runs when the clock
    reaches its run date (the earliest first); what the receiver got during a job is stamped
    with the clock's time then."""

    def __init__(self, line: Line, receiver: HttpReceiver) -> None:
        self.line = line
        self.receiver = receiver
        self.jobs: dict[str, tuple[datetime, Callable[..., None], list[Any]]] = {}
        self.arrivals: list[tuple[datetime, ReceivedRequest]] = []

    def add_job(self, function: Callable[..., None], trigger: str, *, run_date: datetime,
                args: list[Any], id: str, **_options: Any) -> None:
        self.jobs[id] = (run_date, function, args)

    def get_jobs(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(id=job_id) for job_id in self.jobs]

    def run_until(self, end: datetime) -> None:
        while self.jobs:
            job_id = min(self.jobs, key=lambda key: self.jobs[key][0])
            run_date, function, args = self.jobs[job_id]
            if run_date > end:
                break
            del self.jobs[job_id]
            self.line.moment = max(self.line.moment, run_date)
            function(*args)
            arrived = self.receiver.requests[len(self.arrivals):]
            self.arrivals.extend((self.line.moment, request) for request in arrived)
        self.line.moment = end

    def seen(self, prefix: str) -> list[tuple[str, str, str]]:
        """(HH:MM:SS, method, path) of what arrived on paths beginning with ``prefix``."""
        return [(moment.strftime("%H:%M:%S"), request.method, request.path)
                for moment, request in self.arrivals if request.path.startswith(prefix)]


@pytest.fixture
def line(monkeypatch: pytest.MonkeyPatch) -> Line:
    scripted = scripted_line(monkeypatch, START)
    scripted.cuts = [CUT]
    return scripted


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server


def make_config(tmp_path: Path, receiver: HttpReceiver, *heartbeats: str) -> Config:
    text = SETTINGS + "".join(
        entry.format(url=receiver.url("").rstrip("/"), uuid=UUID, token=TOKEN)
        for entry in heartbeats)
    path = tmp_path / "watchdog.toml"
    path.write_text(text)
    return load_config(path)


def start(config: Config, store: Store, line: Line, scheduler: VirtualScheduler) -> Daemon:
    """What ``Daemon.serve`` does before it waits: resume, then the first jobs, due now."""
    daemon = Daemon(config, store, privileged=False, now=line.now,
                    gateway_lookup=lambda: "192.0.2.1")
    daemon.resume()
    for monitor in daemon.monitors:
        schedule_once(scheduler, daemon._cycle_job, daemon._cycle_job_id(monitor), line.now(),  # type: ignore[arg-type]
                      [monitor, scheduler])
    daemon._schedule_heartbeats(scheduler)  # type: ignore[arg-type]
    return daemon


def run(tmp_path: Path, line: Line, receiver: HttpReceiver, heartbeat: str,
        until: datetime) -> tuple[VirtualScheduler, Path]:
    """The daemon with ``heartbeat`` from the start until ``until``: what arrived when, and
    its database."""
    config = make_config(tmp_path, receiver, heartbeat)
    scheduler = VirtualScheduler(line, receiver)
    with Store.open(config.storage.database) as store:
        start(config, store, line, scheduler)
        scheduler.run_until(until)
    return scheduler, config.storage.database


def bodies(scheduler: VirtualScheduler, prefix: str) -> list[str]:
    return [request.body.decode() for _, request in scheduler.arrivals
            if request.path.startswith(prefix)]


def test_healthchecks_hears_the_start_then_the_state_every_interval_and_the_recovery(
    tmp_path: Path, line: Line, receiver: HttpReceiver
) -> None:
    scheduler, database = run(tmp_path, line, receiver, HEALTHCHECKS, clock_at(1, 10))
    base = f"/ping/{UUID}"
    # The start at once; the state as soon as the first cycle knew it, then every minute.
    assert scheduler.seen(base) == [
        ("01:00:00", "POST", f"{base}/start"),
        ("01:00:01", "POST", base),
        ("01:01:01", "POST", base),
        ("01:02:01", "POST", base),
        ("01:03:01", "POST", base),
        ("01:04:01", "POST", f"{base}/fail"),  # confirmed at 01:03:32, reported within 1 min
        ("01:05:01", "POST", f"{base}/fail"),
        ("01:06:01", "POST", f"{base}/fail"),
        ("01:07:01", "POST", f"{base}/fail"),
        ("01:08:01", "POST", base),  # back up at 01:07:32 (confirmed 01:07:34)
        ("01:09:01", "POST", base),
    ]
    said = bodies(scheduler, base)
    assert said[0] == (f"Office: connectivity-watchdog {__version__} started, watching "
                       "default; a heartbeat every 1 min")
    assert said[1].splitlines()[0] == "Office: UP since 2026-12-06 01:00:00+00:00 (1 s)"
    assert said[1].splitlines()[-1] == "median round trip 12 ms"
    fail = said[5].splitlines()
    assert fail[0] == "Office: DOWN (internet provider) since 2026-12-06 01:03:30+00:00 (31 s)"
    assert re.fullmatch(r"the gateway 192\.0\.2\.1 answers but 2 of 2 internet targets .*",
                        fail[1]), fail
    recovery = said[9].splitlines()
    assert recovery[0] == (
        "Recovered from outage #1 (provider): 2026-12-06 01:03:30+00:00 to 01:07:32+00:00 "
        f"(4 min 2 s): {fail[1]}")
    assert recovery[1] == "Office: UP since 2026-12-06 01:07:32+00:00 (29 s)"
    assert "Recovered" not in said[10]  # told once
    [record] = read_heartbeats(database)
    assert (record.name, record.style, record.host) == ("hc", "healthchecks", receiver.url(
        "").rstrip("/"))
    assert (record.signal, record.state, record.ok, record.answer) == (
        "up", "up", True, 'HTTP 200 {"ok": true, "received": 11}')
    assert (record.sent_at, record.last_ok_at, record.reported_outage_id) == (
        clock_at(1, 9, 1), clock_at(1, 9, 1), 1)


def test_uptime_kuma_hears_its_link_as_up_or_down_with_the_round_trip(
    tmp_path: Path, line: Line, receiver: HttpReceiver
) -> None:
    scheduler, _ = run(tmp_path, line, receiver, KUMA, clock_at(1, 9))
    seen = [(when, path.partition("?")[2]) for when, _, path in scheduler.seen("/api/push/")]
    assert [when for when, _ in seen] == [  # no start for Kuma: the state first, every 30 s
        "01:00:01", "01:00:31", "01:01:01", "01:01:31", "01:02:01", "01:02:31", "01:03:01",
        "01:03:31", "01:04:01", "01:04:31", "01:05:01", "01:05:31", "01:06:01", "01:06:31",
        "01:07:01", "01:07:31", "01:08:01", "01:08:31"]
    statuses = [query.partition("&")[0] for _, query in seen]
    # Down from 01:03:30, confirmed at 01:03:32; up from 01:07:32, confirmed at 01:07:34.
    assert statuses == ["status=up"] * 8 + ["status=down"] * 8 + ["status=up"] * 2
    assert seen[0][1] == ("status=up&msg=Office%3A+UP+since+2026-12-06+01%3A00%3A00%2B00%3A00+"
                          "%281+s%29+%7C+2%2F2+targets+answer%2C+gateway+ok+%7C+median+round+"
                          "trip+12+ms&ping=12")
    assert "&ping=" not in seen[8][1]  # nothing answered: no round trip to show
    assert seen[16][1].startswith("status=up&msg=Recovered+from+outage+%231+%28provider%29")


def test_a_cut_during_declared_works_is_no_alarm_and_says_so(
    tmp_path: Path, line: Line, receiver: HttpReceiver
) -> None:
    works = ('[[maintenance]]\nstart = "2026-12-06T01:03:00+00:00"\n'
             'end = "2026-12-06T01:08:00+00:00"\nreason = "fibre operator\'s works"\n')
    scheduler, _ = run(tmp_path, line, receiver, HEALTHCHECKS + works, clock_at(1, 10))
    base = f"/ping/{UUID}"
    assert {path for _, _, path in scheduler.seen(base)} == {f"{base}/start", base}
    said = bodies(scheduler, base)
    assert said[5].splitlines()[:2] == [
        "Office: MAINTENANCE since 2026-12-06 01:03:00+00:00 (1 min 1 s)",
        "maintenance until 2026-12-06 01:08:00+00:00: fibre operator's works"]
    assert not any("Recovered" in body for body in said)  # the works opened no outage


def test_a_recovery_not_taken_is_told_again_even_after_a_restart(
    tmp_path: Path, line: Line, receiver: HttpReceiver
) -> None:
    config = make_config(tmp_path, receiver, HEALTHCHECKS)
    base = f"/ping/{UUID}"
    # Four ups before the cut are taken; the first after it is refused by a busy service.
    receiver.script(base, *[Reply(body=b"OK")] * 4, Reply(status=503), Reply(body=b"OK"))
    scheduler = VirtualScheduler(line, receiver)
    with Store.open(config.storage.database) as store, capture_logs() as logs:
        start(config, store, line, scheduler)
        scheduler.run_until(clock_at(1, 8, 30))
        [record] = read_heartbeats(store.path)
        assert (record.ok, record.answer, record.reported_outage_id) == (False, "HTTP 503 "
                                                                         "Service Unavailable", 0)
        assert record.error is not None and "answered HTTP 503" in record.error
        assert UUID not in record.error
        # The watchdog restarts before the next heartbeat: its record says what was told.
        restarted = VirtualScheduler(line, receiver)
        restarted.arrivals = list(scheduler.arrivals)
        start(config, store, line, restarted)
        restarted.run_until(clock_at(1, 10))
    said = bodies(restarted, base)
    assert [path for _, _, path in restarted.seen(base)][9:] == [
        base, f"{base}/start", base, base]
    assert said[9].startswith("Recovered from outage #1")  # refused
    assert said[11].startswith("Recovered from outage #1")  # told again, and taken
    assert "Recovered" not in said[12]
    assert [(event["event"], event.get("signal")) for event in logs
            if event["event"].startswith("heartbeat_")] == [
        ("heartbeat_sent", "start"), ("heartbeat_sent", "up"), ("heartbeat_sent", "fail"),
        ("heartbeat_not_taken", "up"),
        ("heartbeat_sent", "start"), ("heartbeat_sent", "up")]
    assert all(UUID not in str(event) for event in logs)


def test_a_turn_that_breaks_is_logged_and_the_next_comes_an_interval_later(
    tmp_path: Path, line: Line, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, receiver, HEALTHCHECKS)
    scheduler = VirtualScheduler(line, receiver)

    def unreadable(*_args: Any, **_kwargs: Any) -> Any:
        raise DatabaseError("Cannot read watchdog.db (disk I/O error); check the file")

    with Store.open(config.storage.database) as store, capture_logs() as logs:
        daemon = start(config, store, line, scheduler)
        scheduler.run_until(clock_at(1, 0, 30))
        monkeypatch.setattr(heartbeats_module, "ended_outages", unreadable)
        scheduler.run_until(clock_at(1, 2, 30))
        assert daemon.heartbeats.beat("hc") == line.moment + timedelta(minutes=1)
    failed = [event for event in logs if event["event"] == "heartbeat_turn_failed"]
    assert len(failed) == 3 and failed[0]["error_type"] == "DatabaseError"
    assert [when for when, _, _ in scheduler.seen("/ping/")] == ["01:00:00", "01:00:01"]
    assert scheduler.jobs["heartbeat:hc"][0] == clock_at(1, 3, 1)  # still scheduled


def test_a_reload_starts_a_new_heartbeat_now_and_ends_a_removed_ones_turns(
    tmp_path: Path, line: Line, receiver: HttpReceiver
) -> None:
    config = make_config(tmp_path, receiver, HEALTHCHECKS)
    scheduler = VirtualScheduler(line, receiver)
    with Store.open(config.storage.database) as store:
        daemon = start(config, store, line, scheduler)
        scheduler.run_until(clock_at(1, 0, 30))
        daemon.apply(make_config(tmp_path, receiver, KUMA))
        daemon._schedule_heartbeats(scheduler)  # type: ignore[arg-type]
        scheduler.run_until(clock_at(1, 2))
    assert [when for when, _, _ in scheduler.seen("/ping/")] == ["01:00:00", "01:00:01"]
    assert [when for when, _, _ in scheduler.seen("/api/push/")] == [
        "01:00:31", "01:01:01", "01:01:31"]
    assert "heartbeat:hc" not in scheduler.jobs


# --- the real daemon on loopback ---------------------------------------------------------------

LOOPBACK_HEARTBEATS = """
[[heartbeat]]
name = "hc"
url_file = "hc-url"
interval = "1s"
timeout = "800ms"

[[heartbeat]]
name = "stuck"
url = "{stuck}"
interval = "1s"
timeout = "800ms"
"""


@pytest.mark.usefixtures("host_ping_mode")
def test_the_daemon_sends_its_heartbeats_on_time_even_to_a_service_that_hangs(
    loopback_config: Path, tmp_path: Path, receiver: HttpReceiver
) -> None:
    """End to end: the real daemon pings a healthchecks receiver every second (start, state,
    and the note at its stop), while another heartbeat's service never answers: that one
    costs its own timeout, and neither the other heartbeat nor the probe cycles wait for it."""
    base, stuck = f"/ping/{UUID}", f"/stuck/{UUID}"
    for path in (stuck, f"{stuck}/start", f"{stuck}/log"):
        receiver.script(path, Reply(delay=5.0))
    (tmp_path / "hc-url").write_text(receiver.url(base) + "\n")
    loopback_config.write_text(loopback_config.read_text() + LOOPBACK_HEARTBEATS.format(
        stuck=receiver.url(stuck)))
    log = tmp_path / "daemon.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "watchdog", "run", "--config", str(loopback_config)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(
                [r for r in receiver.requests if r.path == base]) < 5:
            time.sleep(0.05)
        status = subprocess.run(
            [sys.executable, "-m", "watchdog", "status", "--config", str(loopback_config)],
            capture_output=True, text=True, timeout=30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    ours = [request for request in receiver.requests if request.path.startswith(base)]
    assert ours[0].path == f"{base}/start" and ours[-1].path == f"{base}/log"
    states = [request for request in ours if request.path == base]
    assert len(states) >= 5
    assert all(request.method == "POST" and request.body.startswith(b"Office: UP since ")
               for request in states)
    gaps = [(later.at - earlier.at).total_seconds()
            for earlier, later in pairwise(states)]
    assert all(0.8 <= gap <= 1.6 for gap in gaps), gaps  # every interval, never held up
    assert b"is stopping" in ours[-1].body
    # Meanwhile the cycles kept their pace (every 500 ms) and status showed the heartbeats.
    span = (states[-1].at - states[0].at).total_seconds()
    cycles = rows(tmp_path / "watchdog.db", "SELECT count(*) FROM sample s JOIN target t ON "
                  "t.id = s.target_id WHERE t.kind = 'gateway' AND s.at_ms BETWEEN ? AND ?",
                  (to_ms(states[0].at), to_ms(states[-1].at)))[0][0]
    assert cycles >= 1.5 * span - 1, (cycles, span)
    assert status.returncode == 0, status.stderr
    assert "Daemon: running, last cycle" in status.stdout
    assert "Heartbeats (dead-man's switch)" in status.stdout
    hc_line = next(line for line in status.stdout.splitlines() if line.startswith("  hc "))
    assert " up sent " in hc_line
    assert f"to {receiver.url('').rstrip('/')}: taken, HTTP 200" in hc_line
    stuck_line = next(line for line in status.stdout.splitlines() if "stuck" in line)
    assert "NOT TAKEN: " in stuck_line and "did not answer within 0.8 s" in stuck_line
    text = log.read_text() + status.stdout
    assert UUID not in text
    shown = subprocess.run(
        [sys.executable, "-m", "watchdog", "status", "--json", "--config",
         str(loopback_config)], capture_output=True, text=True, timeout=30)
    hc = json.loads(shown.stdout)["heartbeats"][0]
    assert (hc["name"], hc["style"], hc["signal"], hc["state"], hc["ok"]) == (
        "hc", "healthchecks", "log", None, True)
    assert hc["host"] == receiver.url("").rstrip("/") and UUID not in shown.stdout
