"""The probe results a message quotes as evidence: the newest of a range, oldest first."""

from __future__ import annotations

from store_helpers import LINK_ID, at, cycle

from watchdog.store.evidence import SampleEvidence, latest_samples
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK


def test_the_latest_results_of_the_kinds_asked_for_come_oldest_first(store: Store) -> None:
    for seconds in range(0, 20, 2):
        store.record_cycle(cycle(at(seconds), ok=seconds < 10), [], [], at(seconds),
            link=DEFAULT_LINK)
    with store.write() as session:
        pings = latest_samples(session, LINK_ID, at(0), at(16), ("ping",), 4)
        both = latest_samples(session, LINK_ID, at(0), at(16), ("gateway", "ping"), 3)
        gateway = latest_samples(session, LINK_ID, at(0), at(4), ("gateway",), 10)
    # The newest-first query (by time, then kind and name) reversed: the range's end bounds it,
    # the limit keeps the newest.
    assert [(sample.at, sample.target) for sample in pings] == [
        (at(14), "cloudflare"), (at(16), "quad9"), (at(16), "google"), (at(16), "cloudflare")]
    assert pings[-1] == SampleEvidence(at=at(16), target="cloudflare", kind="ping",
                                       address="203.0.113.1", ok=False, rtt_ms=None,
                                       error="timeout")
    assert [(sample.kind, sample.target) for sample in both] == [
        ("ping", "google"), ("ping", "cloudflare"), ("gateway", "gateway")]
    # Both ends of the range count.
    assert [sample.at for sample in gateway] == [at(0), at(2), at(4)]
    assert gateway[0].ok and gateway[0].rtt_ms == 1.0 and gateway[0].error is None
