"""The daemon shell around several link monitors: one cycle job per link, each link on its
own timeline, and systemd told "ready" and fed only when every link has cycled."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from watchdog.clock import utcnow
from watchdog.config import Config, load_config
from watchdog.config.schema import LinkConfig
from watchdog.daemon import runner
from watchdog.daemon.runner import Daemon
from watchdog.store.invariants import timeline_problems
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK


@dataclasses.dataclass(frozen=True)
class TwoLinks(Config):
    """A config with a second link (``[[uplink]]`` sections will give this from TOML)."""

    @property
    def links(self) -> tuple[LinkConfig, ...]:
        return (*super().links, LinkConfig("backup", self.gateway))


class RecordingScheduler:
    """What the cycle jobs ask of APScheduler: their successors, recorded, never run."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []

    def add_job(self, function: Any, trigger: str, **options: Any) -> None:
        self.jobs.append(options)


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    sent: list[tuple[str, ...]] = []
    monkeypatch.setattr(runner.notify, "notify",
                        lambda *fields, **_: sent.append(fields) or True)
    return sent


def two_link_config(loopback_config: Path) -> Config:
    config = load_config(loopback_config)
    return TwoLinks(**{field.name: getattr(config, field.name)
                       for field in dataclasses.fields(config)})


def test_each_link_gets_its_own_monitor_cycle_job_and_timeline(
    loopback_config: Path, notified: list[tuple[str, ...]]
) -> None:
    config = two_link_config(loopback_config)
    scheduler = RecordingScheduler()
    with Store.open(config.storage.database) as store:
        daemon = Daemon(config, store, privileged=True)
        assert [monitor.name for monitor in daemon.monitors] == [DEFAULT_LINK, "backup"]
        daemon.resume()
        main, backup = daemon.monitors
        daemon._cycle_job(main, scheduler)
        assert notified == []  # the backup link has not cycled yet: not ready
        daemon._cycle_job(backup, scheduler)
        assert [fields[0] for fields in notified] == ["READY=1"]
        daemon._cycle_job(main, scheduler)
        daemon._cycle_job(main, scheduler)
        assert len(notified) == 1  # a link cycling alone does not feed the watchdog
        daemon._cycle_job(backup, scheduler)
        assert [fields[0] for fields in notified] == ["READY=1", "WATCHDOG=1"]
        assert notified[-1][-1].startswith(f"STATUS={DEFAULT_LINK}: ")
        assert "; backup: " in notified[-1][-1]
        store.shutdown(utcnow())
    assert [job["id"] for job in scheduler.jobs] == [
        f"probe-cycle:{name}" for name in (DEFAULT_LINK, "backup", DEFAULT_LINK, DEFAULT_LINK,
                                           "backup")]
    database = config.storage.database
    assert timeline_problems(database) == []
    with closing(sqlite3.connect(database)) as connection:
        per_link = connection.execute(
            "SELECT l.name, count(DISTINCT t.id), count(s.at_ms) FROM link l "
            "JOIN target t ON t.link_id = l.id JOIN sample s ON s.target_id = t.id "
            "GROUP BY l.id ORDER BY l.id").fetchall()
    # gateway + 3 targets each; 3 cycles of 4 samples on the first link, 2 on the second
    assert per_link == [(DEFAULT_LINK, 4, 12), ("backup", 4, 8)]


def test_one_link_keeps_the_single_cycle_job_and_ready_after_its_first_cycle(
    loopback_config: Path, notified: list[tuple[str, ...]]
) -> None:
    config = load_config(loopback_config)
    scheduler = RecordingScheduler()
    with Store.open(config.storage.database) as store:
        daemon = Daemon(config, store, privileged=True)
        daemon.resume()
        (monitor,) = daemon.monitors
        daemon._cycle_job(monitor, scheduler)
        daemon._cycle_job(monitor, scheduler)
        store.shutdown(utcnow())
    assert [fields[0] for fields in notified] == ["READY=1", "WATCHDOG=1"]
    assert notified[0][-1] == f"STATUS={monitor.status_line()}"
    assert [job["id"] for job in scheduler.jobs] == ["probe-cycle", "probe-cycle"]


def test_a_cycle_failing_the_same_way_is_one_error_until_it_recovers(
    loopback_config: Path, notified: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk fails every cycle alike: one error line says it, not one a cycle; the
    first cycle that completes says how many failed; another error is logged anew."""
    from structlog.testing import capture_logs

    config = load_config(loopback_config)
    scheduler = RecordingScheduler()
    full = OSError("Cannot write the database (database or disk is full)")
    outcomes: list[Exception | None] = [full, full, full, OSError("read-only"), None]
    with Store.open(config.storage.database) as store, capture_logs() as logs:
        daemon = Daemon(config, store, privileged=True)
        daemon.resume()
        (monitor,) = daemon.monitors
        cycle = monitor.cycle

        def scripted() -> Any:
            outcome = outcomes.pop(0)
            if outcome is not None:
                raise outcome
            return cycle()

        monkeypatch.setattr(monitor, "cycle", scripted)
        for _ in range(5):
            daemon._cycle_job(monitor, scheduler)
        store.shutdown(utcnow())
    said = [(entry["log_level"], entry["event"], entry.get("failed_runs"))
            for entry in logs if entry["event"].startswith("cycle_")]
    assert said == [("error", "cycle_failed", None), ("debug", "cycle_failed_again", 2),
                    ("debug", "cycle_failed_again", 3), ("error", "cycle_failed", None),
                    ("info", "cycle_recovered", 1)]
    assert len(scheduler.jobs) == 5  # every cycle, failed or not, scheduled its successor


def test_a_successor_due_before_its_predecessor_returns_still_runs() -> None:
    """A cycle that outlasts its interval (a busy machine) schedules its successor in the
    past while it still runs: the successor must run, not be skipped and lost."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    runs: list[float] = []
    done = threading.Event()

    def job() -> None:
        runs.append(time.monotonic())
        if len(runs) == 3:
            done.set()
            return
        time.sleep(0.05)  # the probing, longer than the interval
        runner.schedule_once(scheduler, job, "probe-cycle", utcnow() - timedelta(seconds=1), [])
        time.sleep(0.01)  # the end of the run, after its successor is due

    scheduler.start()
    try:
        runner.schedule_once(scheduler, job, "probe-cycle", utcnow(), [])
        assert done.wait(5), f"only {len(runs)} run(s): the successor was skipped"
    finally:
        scheduler.shutdown(wait=True)


def test_the_clock_check_is_recorded_with_every_links_heartbeat(loopback_config: Path) -> None:
    config = two_link_config(loopback_config)
    answers = iter([False, False, True, None])
    now = [utcnow()]
    with Store.open(config.storage.database) as store:
        daemon = Daemon(config, store, privileged=True, now=lambda: now[0],
                        clock_reader=lambda: next(answers))
        daemon.resume()
        first = now[0]
        seen = []
        for _ in range(4):
            daemon.check_clock()
            seen.append(rows_of_clock(config.storage.database))
            now[0] += timedelta(minutes=1)
        store.shutdown(now[0])
    minute = [first + timedelta(minutes=index) for index in range(4)]
    # Each link's row says the same; "since" moves only when the answer changes.
    assert [row[DEFAULT_LINK] for row in seen] == [
        (0, minute[0], minute[0]), (0, minute[1], minute[0]), (1, minute[2], minute[2]),
        (None, minute[3], minute[3])]
    assert all(row[DEFAULT_LINK] == row["backup"] for row in seen)


def rows_of_clock(database: Path) -> dict[str, tuple[Any, ...]]:
    """Per link: (clock_synced, clock_checked_at, clock_status_since) as the reader sees them."""
    from watchdog.store.reader import read_status

    result = {}
    for name in (DEFAULT_LINK, "backup"):
        heartbeat = read_status(database, utcnow(), link=name).heartbeat
        assert heartbeat is not None
        synced = None if heartbeat.clock_synced is None else int(heartbeat.clock_synced)
        result[name] = (synced, heartbeat.clock_checked_at, heartbeat.clock_status_since)
    return result


class CountingDeliverer:
    """What the delivery jobs ask of ``Deliverer``: one channel, its passes counted; a pass
    may be held until the test lets it end."""

    def __init__(self) -> None:
        self.senders = {"lan-hook": object()}
        self.route: Any = None
        self.passes: list[float] = []
        self.passed = threading.Semaphore(0)
        self.hold = threading.Event()
        self.hold.set()
        self.in_pass = threading.Event()

    def deliver(self, channel: str) -> int:
        self.in_pass.set()
        self.hold.wait(5)
        self.passes.append(time.monotonic())
        self.passed.release()
        return 0


def enqueue_due(store: Store) -> None:
    """A message due now for the channel, committed (as a cycle's incident does)."""
    from watchdog.delivery import outbox

    with store.write() as session:
        outbox.enqueue(session, key=f"k{time.monotonic_ns()}", channel="lan-hook",
                       event="recovered", event_at=utcnow(), now=utcnow(), context={})


@pytest.fixture
def woken_daemon(
    loopback_config: Path, monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Daemon, CountingDeliverer]]:
    """A daemon whose channel is looked at only once a minute, its delivery job running on
    a real scheduler: a pass within seconds can only come from a wake at commit."""
    from apscheduler.schedulers.background import BackgroundScheduler

    monkeypatch.setattr(runner, "DELIVERY_INTERVAL", timedelta(minutes=1))
    config = load_config(loopback_config)
    deliverer = CountingDeliverer()
    scheduler = BackgroundScheduler(timezone="UTC")
    with Store.open(config.storage.database) as store:
        daemon = Daemon(config, store, privileged=True, deliverer=deliverer)  # type: ignore[arg-type]
        daemon._scheduler = scheduler
        store.after_commit = daemon.wake
        scheduler.start()
        try:
            daemon._schedule_delivery(scheduler)
            assert deliverer.passed.acquire(timeout=5)  # the first pass, at start
            yield daemon, deliverer
        finally:
            daemon.stopping.set()
            deliverer.hold.set()
            scheduler.shutdown(wait=True)


def test_a_message_due_at_commit_wakes_its_channel_at_once(
    woken_daemon: tuple[Daemon, CountingDeliverer],
) -> None:
    daemon, deliverer = woken_daemon
    scheduler = daemon._scheduler
    assert scheduler is not None
    deadline = time.monotonic() + 5
    while scheduler.get_job("deliver:lan-hook") is None:  # the next look, a minute on
        assert time.monotonic() < deadline
        time.sleep(0.01)
    enqueue_due(daemon.store)
    assert deliverer.passed.acquire(timeout=5), "the channel waited for its next look"
    assert len(deliverer.passes) == 2


def test_a_message_committed_during_a_pass_gets_another_pass_when_it_ends(
    woken_daemon: tuple[Daemon, CountingDeliverer],
) -> None:
    daemon, deliverer = woken_daemon
    deliverer.hold.clear()
    deliverer.in_pass.clear()
    enqueue_due(daemon.store)  # wakes a pass, held in the middle
    assert deliverer.in_pass.wait(5)
    enqueue_due(daemon.store)  # committed after that pass has claimed its message
    deliverer.hold.set()
    assert deliverer.passed.acquire(timeout=5)
    assert deliverer.passed.acquire(timeout=5), "the message committed mid-pass waited"
    assert len(deliverer.passes) == 3


def test_the_status_line_says_when_the_database_is_held_in_memory(
    loopback_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(loopback_config)
    with Store.open(config.storage.database) as store:
        daemon = Daemon(config, store, privileged=True)
        daemon.resume()
        assert "memory" not in daemon.status_line()
        monkeypatch.setattr(Store, "held_in_memory", property(lambda _store: True))
        assert daemon.status_line().endswith(
            " — database held in memory: its file system takes no writes")
        store.shutdown(utcnow())
