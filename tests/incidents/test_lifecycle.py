"""The incident lifecycle in virtual time: tickets, escalation, recovery, flapping, restarts."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.incidents.conftest import messages, query
from tests.store.store_helpers import at, cycle, transition
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

HOUR = 3600.0
DAY = 24 * HOUR


def down(store: Store, seconds: float, kind: str = "isp") -> None:
    state = "lan_down" if kind == "lan" else "down"
    store.record_cycle(cycle(at(seconds), ok=False), [transition(state, at(seconds), kind)], [],
                       at(seconds + 4), link=DEFAULT_LINK)


def up(store: Store, seconds: float) -> None:
    store.record_cycle(cycle(at(seconds)), [transition("up", at(seconds))], [], at(seconds + 4),
        link=DEFAULT_LINK)


def tick(store: Store, seconds: float, ok: bool = False) -> None:
    store.record_cycle(cycle(at(seconds), ok=ok), [], [], at(seconds), link=DEFAULT_LINK)


def incidents(store: Store) -> list[tuple[object, ...]]:
    return query(store, "SELECT reference, kind, cuts, steps_done, reminders_sent, gtr_breached, "
                        "ended_at IS NULL FROM incident ORDER BY id")


def test_a_short_outage_notifies_but_opens_no_ticket(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 60)
    up(store, 70)
    assert incidents(store) == [(None, "isp", 1, 0, 0, 0, 0)]
    assert messages(store) == [
        ("management", "outage_started"), ("lan-hook", "outage_started"),
        ("management", "recovered"), ("lan-hook", "recovered"),
    ]


def test_an_outage_lasting_open_after_opens_exactly_one_ticket(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    for seconds in range(20, 400, 2):
        tick(store, seconds)
    assert incidents(store) == [("WD-2025-0001", "isp", 1, 0, 0, 0, 1)]
    assert messages(store) == [
        ("management", "outage_started"), ("lan-hook", "outage_started"),
        ("isp", "ticket_open"), ("management", "ticket_opened"), ("lan-hook", "ticket_opened"),
    ]
    opened = query(store, "SELECT created_at FROM outbox WHERE event = 'ticket_open'")
    assert opened == [("2025-03-01 12:02:10.000000",)]  # exactly open_after after the start


def test_references_count_per_year(store: Store) -> None:
    up(store, 0)
    for start in (100, 10_000, 20_000):
        down(store, start)
        tick(store, start + 200)
        up(store, start + 300)
    assert [row[0] for row in incidents(store)] == ["WD-2025-0001", "WD-2025-0002",
                                                     "WD-2025-0003"]


def test_a_ten_day_outage_escalates_on_schedule_until_the_repair(store: Store) -> None:
    up(store, 0)
    down(store, 60)
    for minutes in range(1, 10 * 24 * 60 + 60, 10):
        tick(store, 60 + minutes * 60)
    up(store, 60 + 10 * DAY + HOUR)
    # gtr (4 h), 24 h, 72 h, then every 24 h: 96 h ... 240 h.
    steps = query(store, "SELECT text FROM incident_event WHERE kind = 'reminder' ORDER BY id")
    assert [text.split(" ")[1] for (text,) in steps] == [str(n) for n in range(1, 11)]
    assert "(gtr) (guaranteed repair time exceeded)" in steps[0][0]
    assert incidents(store) == [("WD-2025-0001", "isp", 1, 10, 10, 1, 0)]
    reminders = query(store, "SELECT event_at, context FROM outbox WHERE channel = 'isp' "
                             "AND event = 'ticket_reminder' ORDER BY id")
    assert len(reminders) == 10
    assert json.loads(reminders[0][1])["incident"]["step"]["is_gtr"] is True
    close = query(store, "SELECT context FROM outbox WHERE event = 'ticket_close'")
    incident = json.loads(close[0][0])["incident"]
    assert incident["duration_s"] == 10 * DAY + HOUR
    assert (incident["gtr_breached"], incident["reminders_sent"]) == (True, 10)
    escalated = [event for _, event in messages(store) if event == "escalated"]
    assert len(escalated) == 10  # management hears of every step


def test_a_lan_fault_goes_to_it_never_to_the_isp(store: Store) -> None:
    up(store, 0)
    down(store, 10, "lan")
    tick(store, 200)
    up(store, 300)
    sent = messages(store)
    assert ("it", "ticket_open") in sent and ("it", "ticket_close") in sent
    assert not [m for m in sent if m[0] == "isp"]
    assert ("management", "lan_fault") in sent and ("management", "outage_started") not in sent


def test_a_flapping_line_makes_one_incident_and_no_storm(store: Store) -> None:
    up(store, 0)
    for cut in range(10):  # ten 20-second cuts, 30 s apart
        start = 10 + cut * 30
        down(store, start)
        up(store, start + 20)
    # One incident; still flapping two minutes after the first cut, so one ticket.
    assert incidents(store) == [("WD-2025-0001", "isp", 10, 0, 0, 0, 0)]
    assert query(store, "SELECT count(*) FROM outage") == [(10,)]  # every cut recorded
    assert messages(store).count(("isp", "ticket_open")) == 1
    sent = messages(store)
    # The first cut and its recovery immediately; the other nine grouped into one notice.
    assert sent.count(("management", "outage_started")) == 1
    assert sent.count(("management", "recovered")) == 2
    due = query(store, "SELECT due_at FROM outbox WHERE status = 'pending' AND channel = "
                       "'management' ORDER BY id")
    assert due[-1][0] >= "2025-03-01 12:05:00"  # rate-limited to flap_notify_interval


def test_a_cut_long_after_recovery_is_a_new_incident(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    up(store, 30)
    down(store, 30 + 11 * 60)
    up(store, 30 + 12 * 60)
    assert [row[2] for row in incidents(store)] == [1, 1]


def test_steps_missed_while_the_watchdog_was_off_send_one_reminder(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 200)  # ticket opened
    store.shutdown(at(210))
    store.resume(at(30 * HOUR), timedelta(seconds=2),
        link=DEFAULT_LINK)  # back after 30 h: gtr and 24 h missed
    store.record_cycle(cycle(at(30 * HOUR + 2), ok=False),
                       [transition("down", at(30 * HOUR + 2), "isp")], [], at(30 * HOUR + 6),
                           link=DEFAULT_LINK)
    assert incidents(store) == [("WD-2025-0001", "isp", 1, 2, 1, 1, 1)]
    kinds = [kind for (kind,) in query(store, "SELECT kind FROM incident_event ORDER BY id")]
    assert kinds == ["started", "ticket_opened", "skipped", "reminder"]
    assert ("management", "monitor_gap") in messages(store)


def test_the_same_cycle_recorded_twice_sends_nothing_twice(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 200)
    before = messages(store)
    tick(store, 200)
    tick(store, 201)
    assert messages(store) == before


def test_recovery_makes_waiting_messages_due_at_once(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 200)
    with store.write() as session:
        session.connection().exec_driver_sql(
            "UPDATE outbox SET due_at = '2025-03-01 13:00:00.000000'")
    up(store, 300)
    late = query(store, "SELECT count(*) FROM outbox WHERE status = 'pending' "
                        "AND due_at > '2025-03-01 12:05:04.000000'")
    assert late == [(0,)]


def test_every_message_knows_when_its_event_happened(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 200)
    rows = query(store, "SELECT event, event_at, context FROM outbox ORDER BY id")
    started = next(r for r in rows if r[0] == "outage_started")
    assert started[1] == "2025-03-01 12:00:10.000000"
    context = json.loads(started[2])
    assert context["incident"]["started_at"] == "2025-03-01T12:00:10+00:00"
    report = json.loads(next(r for r in rows if r[0] == "ticket_open")[2])
    assert report["site"]["address"] == "12 rue de la Gare, Lyon"
    assert report["isp"]["line_id"] == "FTTH-42"
    assert report["evidence"]["samples"], "the report carries an evidence table"
    assert report["evidence"]["targets_total"] == 0 or report["evidence"]["failing"] is not None


def test_a_restart_within_the_outage_continues_the_same_incident(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 200)
    # crash: no shutdown; back 5 minutes later, still down
    store.resume(at(500), timedelta(seconds=2), link=DEFAULT_LINK)
    store.record_cycle(cycle(at(502), ok=False), [transition("down", at(502), "isp")], [],
                       at(506), link=DEFAULT_LINK)
    up(store, 600)
    assert [row[0] for row in incidents(store)] == ["WD-2025-0001"]
    assert query(store, "SELECT count(*) FROM outage") == [(1,)]
    assert messages(store).count(("isp", "ticket_open")) == 1
