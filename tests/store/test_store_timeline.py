"""Intervals, outages and blips as transitions arrive."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from store_helpers import INTERVAL, T0, at, cycle, intervals, outages, rows, text, transition

from watchdog.errors import DatabaseError
from watchdog.link.states import Blip, Transition
from watchdog.store.writer import CycleRecord, Store
from watchdog.vocabulary import DEFAULT_LINK


def test_first_start_opens_an_unknown_interval_until_the_first_transition(
    store: Store, db_path: Path
) -> None:
    assert intervals(db_path) == [("unknown", text(T0), None)]
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    assert intervals(db_path) == [("unknown", text(T0), text(at(2))), ("up", text(at(2)), None)]


def test_a_transition_closes_the_open_interval_and_opens_the_next_at_its_time(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(10)), [transition("degraded", at(6))], [], at(11),
        link=DEFAULT_LINK)
    assert intervals(db_path)[1:] == [
        ("up", text(at(2)), text(at(6))),
        ("degraded", text(at(6)), None),
    ]


def test_a_transition_earlier_than_the_open_interval_is_clamped_to_its_start(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(10)), [transition("up", at(10))], [], at(11), link=DEFAULT_LINK)
    # The clock stepped back: the tracker dates the next change before the open interval.
    store.record_cycle(cycle(at(4)), [transition("down", at(4), "isp")], [], at(5),
        link=DEFAULT_LINK)
    assert intervals(db_path) == [
        ("unknown", text(T0), text(at(10))),
        ("down", text(at(10)), None),
    ]
    assert outages(db_path) == [("isp", text(at(10)), None, 0.0, None)]


def test_a_transition_at_the_open_intervals_start_replaces_its_state_without_a_zero_interval(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(1), link=DEFAULT_LINK)
    assert intervals(db_path) == [("up", text(T0), None)]


def test_down_opens_an_outage_that_up_closes_at_the_transition_time(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(20), ok=False), [transition("down", at(16), "isp")], [], at(21),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(60)), [transition("up", at(56))], [], at(61), link=DEFAULT_LINK)
    assert outages(db_path) == [("isp", text(at(16)), text(at(56)), 0.0, 1)]
    cause, evidence = rows(db_path, "SELECT cause, evidence FROM outage")[0]
    assert cause == "test: down"
    assert evidence == '{"test": true}'


def test_a_change_from_isp_down_to_lan_down_closes_one_outage_and_opens_the_other(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("down", at(2), "isp")], [], at(3),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(30)), [transition("lan_down", at(26), "lan")], [], at(31),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(90)), [transition("up", at(88))], [], at(91), link=DEFAULT_LINK)
    assert outages(db_path) == [
        ("isp", text(at(2)), text(at(26)), 0.0, 1),
        ("lan", text(at(26)), text(at(88)), 0.0, 1),
    ]


def test_a_dns_outage_takes_its_kind_from_the_transition_and_lan_down_is_always_lan(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("down", at(2), "dns")], [], at(3),
        link=DEFAULT_LINK)
    store.record_cycle(cycle(at(10)), [transition("up", at(10))], [], at(11), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(20)), [transition("lan_down", at(20), None)], [], at(21),
        link=DEFAULT_LINK)
    assert [row[0] for row in outages(db_path)] == ["dns", "lan"]


def test_a_down_transition_without_a_kind_is_an_isp_outage(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(2)), [transition("down", at(2))], [], at(3), link=DEFAULT_LINK)
    assert outages(db_path)[0][0] == "isp"


def test_degraded_is_not_an_outage(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(2)), [transition("degraded", at(2))], [], at(3), link=DEFAULT_LINK)
    assert outages(db_path) == []


def test_blips_are_recorded_with_their_cycles_and_open_no_outage(
    store: Store, db_path: Path
) -> None:
    blip = Blip("down", at(4), at(8), 2, "no ping target answered")
    store.record_cycle(cycle(at(8)), [], [blip], at(9), link=DEFAULT_LINK)
    assert rows(db_path, "SELECT state, started_at, ended_at, cycles, cause FROM blip") == [
        ("down", text(at(4)), text(at(8)), 2, "no ping target answered")
    ]
    assert outages(db_path) == []


def test_several_transitions_in_one_cycle_are_applied_in_order(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(
        cycle(at(10)), [transition("up", at(2)), transition("degraded", at(6))], [], at(11),
            link=DEFAULT_LINK)
    assert [interval[0] for interval in intervals(db_path)] == ["unknown", "up", "degraded"]


def test_recording_before_resume_is_refused(db_path: Path) -> None:
    store = Store.open(db_path)
    try:
        with pytest.raises(RuntimeError, match="resume"):
            store.record_cycle(cycle(at(2)), [], [], at(3), link=DEFAULT_LINK)
    finally:
        store.close()


def test_a_cycle_is_one_transaction_nothing_of_it_is_kept_when_a_part_fails(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
    bad = Transition("satellite_lost", at(10), "not a link state")  # type: ignore[arg-type]
    with pytest.raises(DatabaseError):
        store.record_cycle(cycle(at(10)), [bad], [], at(11), link=DEFAULT_LINK)
    assert rows(db_path, "SELECT count(*) FROM sample WHERE at_ms > ?",
                (int(at(5).timestamp() * 1000),)) == [(0,)]
    assert rows(db_path, "SELECT last_cycle_at FROM link") == [(text(at(3)),)]
    # The store is still usable, and its cached ids still right, after the rollback.
    store.record_cycle(cycle(at(12)), [], [], at(13), link=DEFAULT_LINK)
    assert rows(db_path, "SELECT count(*) FROM sample") == [(8,)]


def test_each_cycle_updates_every_targets_last_result_and_the_heartbeat(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(4), ok=False, gateway="192.168.1.254"), [], [], at(5),
        link=DEFAULT_LINK)
    assert rows(db_path, "SELECT kind, name, address, last_at, last_ok, last_rtt_ms, last_error "
                         "FROM target ORDER BY id") == [
        ("gateway", "gateway", "192.168.1.254", text(at(4)), 1, 1.0, None),
        ("ping", "cloudflare", "203.0.113.1", text(at(4)), 0, None, "timeout"),
        ("ping", "google", "203.0.113.2", text(at(4)), 0, None, "timeout"),
        ("ping", "quad9", "203.0.113.3", text(at(4)), 0, None, "timeout"),
    ]
    assert rows(db_path, "SELECT last_cycle_at FROM link") == [(text(at(5)),)]


def test_samples_are_compact_integer_rows(store: Store, db_path: Path) -> None:
    store.record_cycle(cycle(at(2), rtt_ms=12.3456, received=1), [], [], at(3), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(4), ok=False), [], [], at(5), link=DEFAULT_LINK)
    samples = rows(db_path, "SELECT s.at_ms, t.name, s.rtt_us, s.sent, s.received, s.ok, e.text "
                            "FROM sample s JOIN target t ON t.id = s.target_id "
                            "LEFT JOIN probe_error e ON e.id = s.error_id "
                            "WHERE t.name = 'google' ORDER BY s.at_ms")
    ms = int(at(2).timestamp() * 1000)
    assert samples == [
        (ms, "google", 12346, 2, 1, 1, None),
        (ms + 2000, "google", None, 2, 0, 0, "timeout"),
    ]
    assert rows(db_path, "SELECT count(*) FROM probe_error") == [(1,)]


def test_a_batch_of_cycles_stores_what_recording_them_one_by_one_stores(tmp_path: Path) -> None:
    batch = [
        CycleRecord(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK),
        CycleRecord(cycle(at(4), ok=False), [transition("down", at(4), "isp")], [], at(5),
                    link=DEFAULT_LINK),
        CycleRecord(cycle(at(6)), [transition("up", at(6))], [], at(7), link=DEFAULT_LINK),
    ]
    one_by_one, at_once = tmp_path / "one.db", tmp_path / "batch.db"
    with Store.open(one_by_one) as store:
        store.resume(T0, INTERVAL, link=DEFAULT_LINK)
        for record in batch:
            store.record_cycle(record.cycle, record.transitions, record.blips, record.now,
                               link=record.link)
    with Store.open(at_once) as store:
        store.resume(T0, INTERVAL, link=DEFAULT_LINK)
        store.record_cycles([])  # nothing to write
        store.record_cycles(batch)

    for query in ("SELECT state, started_at, ended_at FROM state_interval ORDER BY id",
                  "SELECT kind, started_at, ended_at FROM outage ORDER BY id",
                  "SELECT target_id, at_ms, ok FROM sample ORDER BY at_ms, target_id",
                  "SELECT last_cycle_at FROM link"):
        assert rows(at_once, query) == rows(one_by_one, query), query
    assert rows(at_once, "SELECT last_cycle_at FROM link") == [(text(at(7)),)]


def test_a_batch_before_resume_is_refused(db_path: Path) -> None:
    with Store.open(db_path) as store, pytest.raises(RuntimeError, match="resume"):
        store.record_cycles([CycleRecord(cycle(at(2)), [], [], at(3), link=DEFAULT_LINK)])


def brackets(db_path: Path, table: str, columns: str) -> list[tuple[str | None, ...]]:
    return rows(db_path, f"SELECT {columns} FROM {table} ORDER BY started_at, id")


def ms(seconds: float, milliseconds: float) -> datetime:
    return at(seconds) + timedelta(milliseconds=milliseconds)


def test_each_start_and_end_keeps_the_bracket_of_its_transition(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(2)), [transition("up", at(2), by=ms(2, 3))], [], at(3),
                       link=DEFAULT_LINK)
    store.record_cycle(cycle(at(16), ok=False),
                       [transition("down", at(16), "isp", after=at(14), by=ms(16, 3))], [],
                       at(17), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(56)), [transition("up", at(56), after=at(55), by=ms(56, 2))],
                       [], at(57), link=DEFAULT_LINK)
    assert brackets(db_path, "state_interval", "state, start_after, start_by") == [
        ("unknown", None, None),  # opened by the watchdog itself: no probe brackets it
        ("up", None, text(ms(2, 3))),  # the first observation: nothing before it
        ("down", text(at(14)), text(ms(16, 3))),
        ("up", text(at(55)), text(ms(56, 2))),
    ]
    assert brackets(db_path, "outage", "start_after, start_by, end_after, end_by") == [
        (text(at(14)), text(ms(16, 3)), text(at(55)), text(ms(56, 2)))]


def test_a_transition_at_the_open_intervals_start_takes_its_bracket_too(
    store: Store, db_path: Path
) -> None:
    store.record_cycle(cycle(at(0)), [transition("up", at(0), by=ms(0, 2))], [], at(1),
                       link=DEFAULT_LINK)
    assert brackets(db_path, "state_interval", "state, start_after, start_by") == [
        ("up", None, text(ms(0, 2)))]


def test_an_outage_that_ended_unseen_keeps_only_the_by_side_of_its_end(db_path: Path) -> None:
    store = Store.open(db_path)
    store.resume(T0, INTERVAL, link=DEFAULT_LINK)
    store.record_cycle(cycle(at(2), ok=False),
                       [transition("down", at(2), "isp", after=at(1), by=ms(2, 3))], [], at(3),
                       link=DEFAULT_LINK)
    store.close()
    again = Store.open(db_path)
    again.resume(at(5000), INTERVAL, link=DEFAULT_LINK)
    again.record_cycle(cycle(at(5002)), [transition("up", at(5002), by=ms(5002, 2))], [],
                       at(5003), link=DEFAULT_LINK)
    again.close()
    assert brackets(db_path, "outage", "start_after, start_by, end_after, end_by, "
                                       "end_observed") == [
        (text(at(1)), text(ms(2, 3)), None, text(ms(5002, 2)), 0)]


def test_a_blip_keeps_the_brackets_of_its_start_and_end(store: Store, db_path: Path) -> None:
    blip = Blip("down", at(4), at(8), 2, "no ping target answered", start_after=at(2),
                start_by=ms(4, 3), end_after=at(6), end_by=ms(8, 2))
    store.record_cycle(cycle(at(8)), [], [blip], at(9), link=DEFAULT_LINK)
    assert brackets(db_path, "blip", "start_after, start_by, end_after, end_by") == [
        (text(at(2)), text(ms(4, 3)), text(at(6)), text(ms(8, 2)))]
