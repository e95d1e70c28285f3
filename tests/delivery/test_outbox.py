"""Outbox rules at the row level: once only, in order, backoff, the recovery rush, every
attempt on the record, and stale news folded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.incidents.conftest import config, query, store

__all__ = ["config", "store"]  # fixtures: a store with the incident service attached
from tests.store.store_helpers import at, text
from watchdog.delivery import outbox
from watchdog.delivery.folding import folds_into
from watchdog.store.writer import Store


def enqueue(store: Store, key: str, seconds: float) -> int:
    """A message without an incident (it never folds) for management at ``seconds``."""
    return enqueue_for(store, key, "recovered", seconds, incident=None)


def test_a_key_is_enqueued_once_ever(store: Store) -> None:
    enqueue(store, "k", 0)
    with store.write() as session:
        assert outbox.enqueue(session, key="k", channel="management", event="recovered",
                              event_at=at(1), now=at(1), context={}) is None
    assert query(store, "SELECT count(*) FROM outbox") == [(1,)]


def test_backoff_doubles_up_to_a_minute() -> None:
    waits = [outbox.backoff(attempt).total_seconds() for attempt in range(1, 9)]
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    assert outbox.backoff(1, retry_after=300).total_seconds() == 300


def test_an_attempt_in_flight_at_the_recovery_is_retried_at_once_if_it_fails(
    store: Store,
) -> None:
    enqueue(store, "k", 0)
    with store.write() as session:
        claimed = outbox.claim_next(session, "management", at(10))  # the link is still down
        assert claimed is not None and claimed.id is not None
        message_id = claimed.id
    with store.write() as session:
        outbox.rush(session, at(12))  # the link is back while the attempt hangs
    with store.write() as session:
        outbox.mark_failed(session, message_id, at(20), "timed out", permanent=False)
    assert query(store, "SELECT status, due_at FROM outbox") == [
        ("pending", "2025-03-01 12:00:20.000000")]


def test_an_ordinary_failure_waits_its_backoff(store: Store) -> None:
    enqueue(store, "k", 0)
    with store.write() as session:
        claimed = outbox.claim_next(session, "management", at(10))
        assert claimed is not None and claimed.id is not None
        outbox.mark_failed(session, claimed.id, at(11), "refused", permanent=False)
    due = query(store, "SELECT due_at FROM outbox")[0][0]
    assert due == (at(11) + timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_channel_sends_in_order_and_waits_behind_a_retry(store: Store) -> None:
    first = enqueue(store, "first", 0)
    enqueue(store, "second", 1)
    with store.write() as session:
        claimed = outbox.claim_next(session, "management", at(5))
        assert claimed is not None and claimed.id == first
        outbox.mark_failed(session, first, at(5), "refused", permanent=False)
    with store.write() as session:
        assert outbox.claim_next(session, "management", at(6)) is None  # second waits


# --- attempts: the proof of delivery ---------------------------------------------------------


def attempts(store: Store) -> list[tuple[object, ...]]:
    return query(store, "SELECT outbox_id, number, started_at, finished_at, outcome, server, "
                        "reply, error FROM delivery_attempt ORDER BY outbox_id, number")


def test_each_attempt_is_recorded_with_its_server_and_the_servers_reply(store: Store) -> None:
    message = enqueue(store, "k", 0)
    with store.write() as session:
        assert outbox.claim_next(session, "management", at(10)) is not None
    assert attempts(store) == [(message, 1, text(at(10)), None, None, None, None, None)]
    with store.write() as session:
        outbox.mark_failed(session, message, at(11), "relay.lan:25 refused the connection",
                           permanent=False, server="relay.lan:25 [192.0.2.25]")
    with store.write() as session:
        assert outbox.claim_next(session, "management", at(20)) is not None
    with store.write() as session:
        outbox.mark_sent(session, message, at(21), "250 2.0.0 Ok: queued as 4F2A",
                         email_message_id="<k@office.example>", server="relay.lan:25")
    assert attempts(store) == [
        (message, 1, text(at(10)), text(at(11)), "transient", "relay.lan:25 [192.0.2.25]",
         None, "relay.lan:25 refused the connection"),
        (message, 2, text(at(20)), text(at(21)), "sent", "relay.lan:25",
         "250 2.0.0 Ok: queued as 4F2A", None),
    ]


def test_an_attempt_cut_short_by_a_crash_is_recorded_as_interrupted(store: Store) -> None:
    message = enqueue(store, "k", 0)
    with store.write() as session:
        assert outbox.claim_next(session, "management", at(10)) is not None
    with store.write() as session:
        assert outbox.release_claims(session) == 1  # the next start
    assert [row[4] for row in attempts(store)] == ["interrupted"]
    with store.write() as session:
        assert outbox.claim_next(session, "management", at(20)) is not None
        outbox.mark_failed(session, message, at(21), "550 refused", permanent=True)
    assert [(row[1], row[4]) for row in attempts(store)] == [(1, "interrupted"),
                                                             (2, "permanent")]


# --- folding ---------------------------------------------------------------------------------


def enqueue_for(store: Store, key: str, event: str, seconds: float, incident: int | None = 1,
                channel: str = "management", not_before: float | None = None) -> int:
    with store.write() as session:
        row = outbox.enqueue(session, key=key, channel=channel, event=event,
                             event_at=at(seconds), now=at(seconds), context={},
                             incident_id=incident,
                             not_before=None if not_before is None else at(not_before))
        assert row is not None and row.id is not None
        return row.id


def claim(store: Store, seconds: float, channel: str = "management") -> int | None:
    with store.write() as session:
        row = outbox.claim_next(session, channel, at(seconds))
        return None if row is None else row.id


def statuses(store: Store) -> list[tuple[object, ...]]:
    return query(store, "SELECT id, status, folded_into FROM outbox ORDER BY id")


@pytest.mark.parametrize(("older", "newer", "folds"), [
    ("outage_started", "ticket_opened", True),
    ("outage_started", "recovered", True),
    ("ticket_opened", "escalated", True),
    ("escalated", "recovered", True),
    ("lan_fault", "recovered", True),
    ("ticket_reminder", "ticket_reminder", True),
    ("ticket_open", "ticket_reminder", False),  # the report: the thread's root, the REST id
    ("ticket_reminder", "ticket_close", False),  # the close is the record of the repair
    ("ticket_reopened", "ticket_reminder", False),  # grouped: superseded within its group
    ("degraded", "outage_started", False),
    ("monitor_gap", "recovered", False),
    ("outage_started", "ticket_open", False),  # never across audiences
])
def test_the_folding_rule(older: str, newer: str, folds: bool) -> None:
    assert folds_into(older, newer) is folds


def test_a_stale_notice_folds_into_the_newest_due_one_when_it_can_finally_leave(
    store: Store,
) -> None:
    started = enqueue_for(store, "started", "outage_started", 0)
    opened = enqueue_for(store, "opened", "ticket_opened", 120)
    back = enqueue_for(store, "back", "recovered", 300)
    assert claim(store, 400) == back
    assert statuses(store) == [(started, "folded", back), (opened, "folded", back),
                               (back, "sending", None)]
    with store.write() as session:
        assert [item["event"] for item in outbox.folded_summary(session, back)] == [
            "outage_started", "ticket_opened"]


def test_nothing_folds_into_a_message_of_another_incident_or_not_due_yet(store: Store) -> None:
    first = enqueue_for(store, "first", "outage_started", 0, incident=1)
    enqueue_for(store, "other", "recovered", 10, incident=2)
    enqueue_for(store, "later", "recovered", 20, incident=1, not_before=600)  # rate-limited
    assert claim(store, 30) == first
    assert [row[1] for row in statuses(store)] == ["sending", "pending", "pending"]


def test_a_message_without_an_incident_never_folds(store: Store) -> None:
    gap = enqueue_for(store, "gap", "monitor_gap", 0, incident=None)
    enqueue_for(store, "next", "monitor_gap", 10, incident=None)
    assert claim(store, 20) == gap


def test_a_folded_chain_is_summed_up_in_the_last_message(store: Store) -> None:
    started = enqueue_for(store, "started", "outage_started", 0)
    opened = enqueue_for(store, "opened", "ticket_opened", 120)
    assert claim(store, 130) == opened  # the start folds into the ticket's notice
    with store.write() as session:
        outbox.mark_failed(session, opened, at(131), "refused", permanent=False)
    back = enqueue_for(store, "back", "recovered", 300)
    assert claim(store, 301) == back  # the ticket's notice, tried once, folds in turn
    assert statuses(store) == [(started, "folded", opened), (opened, "folded", back),
                               (back, "sending", None)]
    with store.write() as session:
        summary = outbox.folded_summary(session, back)
    assert [(item["event"], item["attempts"]) for item in summary] == [
        ("outage_started", 0), ("ticket_opened", 1)]


def test_a_superseded_message_names_the_one_that_replaced_it(store: Store) -> None:
    with store.write() as session:
        for key in ("cut:2", "cut:3"):
            outbox.enqueue(session, key=key, channel="management", event="outage_started",
                           event_at=at(0), now=at(0), context={}, incident_id=1,
                           group_key="incident:1:flap:management", not_before=at(300))
    assert query(store, "SELECT key, status, folded_into FROM outbox ORDER BY id") == [
        ("cut:2", "superseded", 2), ("cut:3", "pending", None)]


def committed_infos(store: Store) -> list[frozenset[str | None]]:
    """The channels each committed transaction of ``store`` made messages due in, from now."""
    seen: list[frozenset[str | None]] = []
    store.after_commit = lambda info: seen.append(outbox.due_channels(info))
    return seen


def test_a_message_due_now_names_its_channel_at_commit(store: Store) -> None:
    seen = committed_infos(store)
    enqueue_for(store, "now", "recovered", 0, incident=None, channel="lan-hook")
    enqueue_for(store, "later", "recovered", 0, incident=None, channel="sms", not_before=60)
    with store.write() as session:  # an existing key: nothing new is due
        outbox.enqueue(session, key="now", channel="lan-hook", event="recovered",
                       event_at=at(1), now=at(1), context={})
    # The rate-limited message waits for its time: its channel is looked at then.
    assert seen == [frozenset({"lan-hook"})]


def test_the_recovery_rush_names_every_channel_and_a_rollback_nothing(store: Store) -> None:
    message_id = enqueue(store, "k", 0)
    assert claim(store, 1) == message_id
    with store.write() as session:  # waits for its retry
        outbox.mark_failed(session, message_id, at(2), "timed out", permanent=False)
    seen = committed_infos(store)
    with pytest.raises(RuntimeError), store.write() as session:
        outbox.rush(session, at(3))
        raise RuntimeError("the cycle's transaction fails after the rush")
    with store.write() as session:
        outbox.rush(session, at(3))
    with store.write() as session:
        outbox.rush(session, at(4))  # nothing left waiting for a retry
    assert seen == [frozenset({None})]
