"""Restarts: crashes short and long, clean shutdowns, outages that span the gap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from store_helpers import (
    INTERVAL,
    LINK_ID,
    T0,
    at,
    cycle,
    intervals,
    outages,
    rows,
    text,
    transition,
)

from watchdog.store.timeline import CAUSE_AFTER_CRASH, CAUSE_AFTER_SHUTDOWN
from watchdog.store.writer import ResumeInfo, Store
from watchdog.vocabulary import DEFAULT_LINK


def _up_until(store: Store, seconds: float) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(seconds - 1)), [], [], at(seconds), link=DEFAULT_LINK)


def test_a_restart_within_two_intervals_after_a_crash_continues_the_open_interval(
    store: Store, db_path: Path
) -> None:
    _up_until(store, 100)
    store.close()  # crash: no shutdown
    again = Store.open(db_path)
    info = again.resume(at(103), INTERVAL, pid=4242, link=DEFAULT_LINK)
    again.close()
    assert info == ResumeInfo(LINK_ID, "up", at(2), "test: up", continues=True, outage_kind=None)
    assert intervals(db_path) == [("unknown", text(T0), text(at(2))), ("up", text(at(2)), None)]
    assert rows(db_path, "SELECT started_at, last_cycle_at, pid, clean_shutdown FROM link") == [
        (text(at(103)), text(at(103)), 4242, 0)
    ]


def test_a_restart_long_after_a_crash_turns_the_gap_since_the_heartbeat_into_unknown(
    store: Store, db_path: Path
) -> None:
    _up_until(store, 100)
    store.close()
    again = Store.open(db_path)
    info = again.resume(at(3700), INTERVAL, link=DEFAULT_LINK)
    again.record_cycle(cycle(at(3702)), [transition("up", at(3702))], [], at(3703),
        link=DEFAULT_LINK)
    again.close()
    assert info == ResumeInfo(LINK_ID, "unknown", at(100), CAUSE_AFTER_CRASH, continues=False,
                              outage_kind=None)
    assert intervals(db_path)[1:] == [
        ("up", text(at(2)), text(at(100))),
        ("unknown", text(at(100)), text(at(3702))),
        ("up", text(at(3702)), None),
    ]


def test_a_clean_shutdown_closes_the_interval_and_the_restart_is_unknown_from_then(
    store: Store, db_path: Path
) -> None:
    _up_until(store, 100)
    store.shutdown(at(101))
    store.close()
    assert intervals(db_path)[-1] == ("up", text(at(2)), text(at(101)))
    assert rows(db_path, "SELECT last_cycle_at, clean_shutdown FROM link") == [
        (text(at(101)), 1)
    ]
    again = Store.open(db_path)
    info = again.resume(at(102), INTERVAL,
        link=DEFAULT_LINK)  # even a quick restart: the daemon was stopped
    again.close()
    assert info == ResumeInfo(LINK_ID, "unknown", at(101), CAUSE_AFTER_SHUTDOWN, continues=False,
                              outage_kind=None)
    assert intervals(db_path)[-1] == ("unknown", text(at(101)), None)


def test_a_crash_during_the_unknown_gap_keeps_one_unknown_interval(
    store: Store, db_path: Path
) -> None:
    _up_until(store, 100)
    store.close()
    for restart in (1000, 2000):
        again = Store.open(db_path)
        info = again.resume(at(restart), INTERVAL, link=DEFAULT_LINK)
        again.record_cycle(cycle(at(restart + 2)), [], [], at(restart + 3), link=DEFAULT_LINK)
        again.close()
    assert info.state == "unknown" and info.since == at(100) and info.continues
    assert intervals(db_path)[-1] == ("unknown", text(at(100)), None)


def test_an_outage_open_across_a_restart_stays_one_outage_with_the_gap_unobserved(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "isp")], [], at(3),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(99), ok=False), [], [], at(100), link=DEFAULT_LINK)
    store.close()  # crash in the middle of the outage
    again = Store.open(db_path)
    info = again.resume(at(700), INTERVAL, link=DEFAULT_LINK)
    assert info.state == "unknown" and info.outage_kind == "isp"
    again.record_cycle(cycle(at(706), ok=False), [transition("down", at(702), "isp")], [], at(707),
        link=DEFAULT_LINK)
    again.record_cycle(cycle(at(800)), [transition("up", at(796))], [], at(801), link=DEFAULT_LINK)
    again.close()
    assert outages(db_path) == [("isp", text(at(2)), text(at(796)), 602.0, 1)]
    assert [interval[0] for interval in intervals(db_path)] == [
        "unknown", "down", "unknown", "down", "up"
    ]


def test_an_outage_open_at_a_clean_shutdown_stays_open_and_continues_after_it(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2), ok=False), [transition("lan_down", at(2))], [], at(3),
        link=DEFAULT_LINK)
    store.shutdown(at(50))
    store.close()
    assert outages(db_path) == [("lan", text(at(2)), None, 0.0, None)]
    again = Store.open(db_path)
    again.resume(at(150), INTERVAL, link=DEFAULT_LINK)
    again.record_cycle(cycle(at(156)), [transition("lan_down", at(152))], [], at(157),
        link=DEFAULT_LINK)
    again.close()
    assert outages(db_path) == [("lan", text(at(2)), None, 102.0, None)]


def test_an_outage_that_ended_while_the_daemon_was_down_closes_when_it_was_last_seen(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "isp")], [], at(3),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(99), ok=False), [], [], at(100), link=DEFAULT_LINK)
    store.close()
    again = Store.open(db_path)
    again.resume(at(5000), INTERVAL, link=DEFAULT_LINK)
    again.record_cycle(cycle(at(5006)), [transition("up", at(5002))], [], at(5007),
        link=DEFAULT_LINK)
    again.close()
    assert outages(db_path) == [("isp", text(at(2)), text(at(100)), 0.0, 0)]
    assert intervals(db_path)[-2:] == [
        ("unknown", text(at(100)), text(at(5002))),
        ("up", text(at(5002)), None),
    ]


def test_an_outage_of_another_kind_after_the_gap_is_a_new_outage(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "isp")], [], at(3),
        link=DEFAULT_LINK)
    store.close()
    again = Store.open(db_path)
    again.resume(at(600), INTERVAL, link=DEFAULT_LINK)
    again.record_cycle(cycle(at(606)), [transition("lan_down", at(602))], [], at(607),
        link=DEFAULT_LINK)
    again.close()
    assert outages(db_path) == [
        ("isp", text(at(2)), text(at(3)), 0.0, 0),
        ("lan", text(at(602)), None, 0.0, None),
    ]


def test_a_quick_restart_during_an_outage_continues_it_and_reports_its_kind(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "dns")], [], at(3),
        link=DEFAULT_LINK)
    store.close()
    again = Store.open(db_path)
    info = again.resume(at(3) + 2 * INTERVAL, INTERVAL, link=DEFAULT_LINK)
    again.close()
    assert info == ResumeInfo(LINK_ID, "down", at(2), "test: down", continues=True,
                              outage_kind="dns")
    assert outages(db_path) == [("dns", text(at(2)), None, 0.0, None)]


def test_a_heartbeat_in_the_future_after_a_clock_step_never_makes_a_negative_interval(
    store: Store, db_path: Path
) -> None:
    _up_until(store, 100)
    store.shutdown(at(100))
    store.close()
    again = Store.open(db_path)
    info = again.resume(at(40), INTERVAL, link=DEFAULT_LINK)  # the clock stepped back a minute
    again.record_cycle(cycle(at(42)), [transition("up", at(42))], [], at(43), link=DEFAULT_LINK)
    again.close()
    assert info.since == at(100)
    assert intervals(db_path)[-1] == ("up", text(at(100)), None)


def test_resume_keeps_the_ping_interval_for_status_to_judge_freshness(
    db_path: Path,
) -> None:
    store = Store.open(db_path)
    store.resume(T0, timedelta(seconds=5), link=DEFAULT_LINK)
    store.close()
    assert rows(db_path, "SELECT ping_interval_s FROM link") == [(5.0,)]
