"""Outbox rules at the row level: once only, in order, backoff, and the recovery rush."""

from __future__ import annotations

from datetime import timedelta

from tests.incidents.conftest import config, query, store

__all__ = ["config", "store"]  # fixtures: a store with the incident service attached
from tests.store.store_helpers import at
from watchdog.delivery import outbox
from watchdog.store.writer import Store


def enqueue(store: Store, key: str, seconds: float) -> int:
    with store.write() as session:
        row = outbox.enqueue(session, key=key, channel="management", event="recovered",
                             event_at=at(seconds), now=at(seconds), context={})
        assert row is not None and row.id is not None
        return row.id


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
