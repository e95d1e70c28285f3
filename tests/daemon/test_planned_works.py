"""A link monitor through maintenance windows, in virtual time.

The real monitor, tracker, store and incident service run cycle after cycle on a fake clock;
only the probes are scripted (the line fails while the script says so), so an hour of works
takes a second. The window is 01:30-01:50 UTC; tickets open after 2 min, and the first
reminder is due 15 min after an outage's start.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.scripted_line import Line, scripted_line
from tests.incidents.conftest import make_config, query
from watchdog.config import Config
from watchdog.daemon.monitor import LinkMonitor
from watchdog.incidents.service import IncidentService
from watchdog.store import maintenance_actions
from watchdog.store.timetext import to_text
from watchdog.store.writer import Store

START = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
WINDOW = (datetime(2026, 12, 6, 1, 30, tzinfo=UTC), datetime(2026, 12, 6, 1, 50, tzinfo=UTC))

SETTINGS = """
[storage]
database = "watchdog.db"
[schedule]
ping_interval = "10s"
[incidents]
escalation = ["15m"]
repeat_every = "1h"
"""
CONFIG_WINDOW = """
[[maintenance]]
start = "2026-12-06T01:30:00+00:00"
end = "2026-12-06T01:50:00+00:00"
reason = "fibre operator's planned works"
"""


def clock_at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 6, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def line(monkeypatch: pytest.MonkeyPatch) -> Line:
    return scripted_line(monkeypatch, START)


def watch(tmp_path: Path, line: Line, extra: str = CONFIG_WINDOW) -> Iterator[LinkMonitor]:
    config: Config = make_config(tmp_path, SETTINGS + extra)
    with Store.open(config.storage.database) as store:
        service = IncidentService(config)
        store.on_cycle, store.on_resume = service.after_cycle, service.after_resume
        (link,) = config.links
        monitor = LinkMonitor(link, config, store, privileged=False, now=line.now,
                              gateway_lookup=lambda: "192.0.2.1")
        monitor.resume()
        yield monitor


def run_until(monitor: LinkMonitor, line: Line, end: datetime) -> None:
    """Cycle on the monitor's own cadence until the clock reaches ``end``."""
    while line.moment < end:
        result = monitor.cycle()
        line.moment = monitor.next_cycle_at(result.started_at, line.moment)


def timeline(store: Store) -> list[tuple[str, str, str | None]]:
    return [(state, started[11:19], ended and ended[11:19]) for state, started, ended in query(
        store, "SELECT state, started_at, ended_at FROM state_interval ORDER BY started_at")]


def outbox(store: Store) -> list[tuple[str, str, str, str]]:
    """(event, channel, created, event time) of every message, created and event at HH:MM:SS."""
    return [(event, channel, created[11:19], event_at[11:19]) for event, channel, created, event_at
            in query(store, "SELECT event, channel, created_at, event_at FROM outbox ORDER BY id")]


def during_the_window(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row for row in rows if "01:30:00" <= row[2] < "01:50:00"]


def with_the_first_cycle_after_the_works(time_of_day: str) -> bool:
    """Whether ``HH:MM:SS`` is within one ping interval (10 s) of the window's end."""
    return "01:50:00" <= time_of_day < "01:50:10"


def test_targets_failing_during_the_works_open_nothing_and_the_samples_are_kept(
    tmp_path: Path, line: Line
) -> None:
    line.cuts = [(clock_at(1, 32), clock_at(1, 45))]
    for monitor in watch(tmp_path, line):
        run_until(monitor, line, clock_at(2, 0))
        store = monitor.store
        assert timeline(store) == [
            ("up", "01:00:00", "01:30:00"),
            ("maintenance", "01:30:00", "01:50:00"),
            ("up", "01:50:00", None),
        ]
        assert query(store, "SELECT cause FROM state_interval WHERE state = 'maintenance'") == [
            ("maintenance window: fibre operator's planned works",)]
        assert query(store, "SELECT count(*) FROM outage") == [(0,)]
        assert query(store, "SELECT count(*) FROM incident") == [(0,)]
        assert query(store, "SELECT count(*) FROM blip") == [(0,)]
        assert outbox(store) == []
        failed = query(store, "SELECT count(*) FROM sample WHERE ok = 0 AND at_ms >= ? AND "
                              "at_ms < ?", *(int(moment.timestamp() * 1000) for moment in WINDOW))
        assert failed[0][0] > 100  # probed and recorded all along: 2 targets, 13 min


def test_a_line_still_down_after_the_works_has_its_outage_start_at_their_end(
    tmp_path: Path, line: Line
) -> None:
    line.cuts = [(clock_at(1, 40), clock_at(2, 10))]
    for monitor in watch(tmp_path, line):
        run_until(monitor, line, clock_at(2, 20))
        store = monitor.store
        states = timeline(store)
        assert states[:3] == [
            ("up", "01:00:00", "01:30:00"),
            ("maintenance", "01:30:00", "01:50:00"),
            ("down", "01:50:00", "02:10:02"),  # the first probe that saw it back
        ]
        assert query(store, "SELECT kind, started_at FROM outage") == [
            ("isp", to_text(WINDOW[1]))]
        messages = outbox(store)
        assert during_the_window(messages) == []
        (opened,) = [row for row in messages if row[:2] == ("ticket_open", "isp")]
        assert "01:52:00" <= opened[2] < "01:52:10"  # open_after (2 min) after the outage began
        (reminder,) = [row for row in messages if row[:2] == ("ticket_reminder", "isp")]
        assert "02:05:00" <= reminder[2] < "02:05:10"  # 15 min after it began
        assert [row[3] for row in messages if row[0] == "outage_started"] == [
            "01:50:00", "01:50:00"]


def test_an_outage_open_before_the_works_and_repaired_during_them_ends_at_their_start(
    tmp_path: Path, line: Line
) -> None:
    line.cuts = [(clock_at(1, 20), clock_at(1, 40))]
    for monitor in watch(tmp_path, line):
        run_until(monitor, line, clock_at(2, 0))
        store = monitor.store
        assert query(store, "SELECT kind, started_at, ended_at FROM outage") == [
            ("isp", to_text(clock_at(1, 20)), to_text(WINDOW[0]))]
        assert query(store, "SELECT reference, steps_done, ended_at FROM incident") == [
            ("WD-2026-0001", 0, to_text(WINDOW[0]))]
        messages = outbox(store)
        assert during_the_window(messages) == []
        assert not [row for row in messages if row[0] in ("ticket_reminder", "escalated")]
        # The recovery is told when the works are over, dated when the outage ended.
        (closed,) = [row for row in messages if row[:2] == ("ticket_close", "isp")]
        assert with_the_first_cycle_after_the_works(closed[2]) and closed[3] == "01:30:00"


def test_an_outage_going_on_through_the_works_stays_one_and_its_reminder_waits_for_their_end(
    tmp_path: Path, line: Line
) -> None:
    line.cuts = [(clock_at(1, 20), clock_at(2, 10))]
    for monitor in watch(tmp_path, line):
        run_until(monitor, line, clock_at(2, 0))
        store = monitor.store
        assert query(store, "SELECT kind, started_at, ended_at FROM outage") == [
            ("isp", to_text(clock_at(1, 20)), None)]
        assert [(state, start) for state, start, _ in timeline(store)[1:]] == [
            ("down", "01:20:00"), ("maintenance", "01:30:00"), ("down", "01:50:00")]
        messages = outbox(store)
        assert during_the_window(messages) == []
        # Due at 01:35, during the works: sent with the first cycle after them.
        (reminder,) = [row for row in messages if row[:2] == ("ticket_reminder", "isp")]
        assert with_the_first_cycle_after_the_works(reminder[2])
        assert query(store, "SELECT steps_done, reminders_sent FROM incident") == [(1, 1)]


def test_a_window_added_from_the_command_line_is_honoured_from_the_next_cycle(
    tmp_path: Path, line: Line
) -> None:
    line.cuts = [(clock_at(1, 11), clock_at(1, 18))]
    for monitor in watch(tmp_path, line, extra=""):
        run_until(monitor, line, clock_at(1, 10, 5))
        with Store.open(monitor.store.path, migrate=False) as command_line, \
                command_line.write() as session:
            maintenance_actions.add_window(
                session, starts_at=clock_at(1, 5), ends_at=clock_at(1, 20), reason="router swap",
                link=None, now=line.moment, by="alice")
        run_until(monitor, line, clock_at(1, 30))
        store = monitor.store
        # Begun at 01:05, written at 01:10:10, noticed in the transaction of that cycle and
        # honoured from the next: the time already recorded stays "up".
        assert timeline(store) == [
            ("up", "01:00:00", "01:10:10"),
            ("maintenance", "01:10:10", "01:20:00"),
            ("up", "01:20:00", None),
        ]
        assert outbox(store) == []
        assert monitor.status_line().startswith("up since")


def test_a_restart_during_the_works_goes_on_showing_them(tmp_path: Path, line: Line) -> None:
    line.cuts = [(clock_at(1, 35), clock_at(2, 0))]
    for monitor in watch(tmp_path, line):
        run_until(monitor, line, clock_at(1, 40))
        assert monitor.status_line().startswith("maintenance until ")
        line.moment += timedelta(seconds=5)  # a crash, and a quick restart
        monitor.resume()
        assert monitor.works is not None and monitor.works.until == WINDOW[1]
        run_until(monitor, line, clock_at(2, 10))
        assert [(state, start) for state, start, _ in timeline(monitor.store)] == [
            ("up", "01:00:00"), ("maintenance", "01:30:00"), ("down", "01:50:00"),
            ("up", "02:00:09")]  # the first probe that saw it back
