"""A ticket changed by hand: acknowledged, noted, closed; and what the lifecycle does next."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlmodel import Session

from tests.incidents.conftest import messages, query
from tests.incidents.test_lifecycle import HOUR, down, tick, up
from tests.store.store_helpers import at
from watchdog.errors import EX_USAGE
from watchdog.incidents.ticket_actions import (
    ACKNOWLEDGED,
    ACKNOWLEDGED_CLOSED,
    ACKNOWLEDGED_RECOVERED,
    CLOSED_BY_HAND,
    NothingToRecord,
    TicketAlreadyClosed,
    TicketChange,
    TimeRefused,
    UnknownTicket,
    acknowledge,
    add_note,
    close_by_hand,
    set_provider_ref,
)
from watchdog.store.writer import Store

REFERENCE = "WD-2025-0001"


def open_ticket(store: Store) -> None:
    up(store, 0)
    down(store, 10)
    tick(store, 200)  # the ticket opens after two minutes


def hours_later(store: Store, until: float) -> None:
    for seconds in range(1800, int(until) + 1, 1800):
        tick(store, seconds)


def ticket(store: Store) -> tuple[object, ...]:
    (row,) = query(store, "SELECT acked_at, closed_at, closed_by FROM incident")
    return row


def timeline(store: Store) -> list[tuple[str, str, str]]:
    return query(store, "SELECT at, kind, text FROM incident_event ORDER BY id")


def test_an_acknowledged_ticket_stops_management_alerts_but_not_the_reminders(
    store: Store,
) -> None:
    open_ticket(store)
    with store.write() as session:
        change = acknowledge(session, REFERENCE.lower(), at(600))
    assert change == TicketChange(REFERENCE, "acked", ACKNOWLEDGED)
    assert ticket(store) == ("2025-03-01 12:10:00.000000", None, None)
    assert timeline(store)[-1] == ("2025-03-01 12:10:00.000000", "acked", ACKNOWLEDGED)
    hours_later(store, 25 * HOUR)
    sent = messages(store)
    assert sent.count(("isp", "ticket_reminder")) == 2  # gtr (4 h) and 24 h
    assert ("management", "escalated") not in sent


def test_acknowledging_a_recovered_ticket_promises_no_reminder(store: Store) -> None:
    open_ticket(store)
    up(store, 900)
    with store.write() as session:
        change = acknowledge(session, REFERENCE, at(1000))
    assert change.text == ACKNOWLEDGED_RECOVERED
    assert "reminders to the provider go on" not in change.text
    down(store, 1100)  # within merge_within: the ticket reopens, acknowledged
    hours_later(store, 5 * HOUR)
    sent = messages(store)
    assert ("isp", "ticket_reopened") in sent and ("management", "escalated") not in sent


def test_acknowledging_a_closed_ticket_says_nothing_more_is_sent(store: Store) -> None:
    open_ticket(store)
    with store.write() as session:
        close_by_hand(session, REFERENCE, at(600))
    with store.write() as session:
        assert acknowledge(session, REFERENCE, at(700)).text == ACKNOWLEDGED_CLOSED


def test_acknowledging_again_moves_the_time_and_adds_a_line(store: Store) -> None:
    open_ticket(store)
    for seconds in (600, 900):
        with store.write() as session:
            acknowledge(session, REFERENCE, at(seconds))
    assert ticket(store)[0] == "2025-03-01 12:15:00.000000"
    assert [kind for _, kind, _ in timeline(store)].count("acked") == 2


def test_a_note_goes_on_the_timeline_and_changes_nothing_else(store: Store) -> None:
    open_ticket(store)
    before = messages(store)
    with store.write() as session:
        change = add_note(session, REFERENCE, "the technician comes on Monday", at(900))
    assert change == TicketChange(REFERENCE, "note", "the technician comes on Monday")
    assert timeline(store)[-1] == ("2025-03-01 12:15:00.000000", "note",
                                   "the technician comes on Monday")
    assert ticket(store) == (None, None, None)
    assert messages(store) == before


def test_a_ticket_closed_by_hand_gets_no_reminder_and_no_closing_report(store: Store) -> None:
    open_ticket(store)
    with store.write() as session:
        change = close_by_hand(session, REFERENCE, at(600))
    assert change == TicketChange(REFERENCE, "closed", CLOSED_BY_HAND)
    assert ticket(store) == (None, "2025-03-01 12:10:00.000000", "manual")
    hours_later(store, 30 * HOUR)
    up(store, 30 * HOUR + 60)
    events = [event for _, event in messages(store)]
    assert not {"ticket_reminder", "escalated", "ticket_close"} & set(events)
    assert events.count("recovered") == 2  # management still hears the link is back


def test_a_closed_ticket_cannot_be_closed_again(store: Store) -> None:
    open_ticket(store)
    with store.write() as session:
        close_by_hand(session, REFERENCE, at(600))
    with pytest.raises(TicketAlreadyClosed) as raised, store.write() as session:
        close_by_hand(session, REFERENCE, at(700))
    assert str(raised.value) == f"{REFERENCE} is already closed"
    assert raised.value.exit_code == EX_USAGE
    assert [kind for _, kind, _ in timeline(store)].count("closed") == 1
    assert ticket(store)[1] == "2025-03-01 12:10:00.000000"


@pytest.mark.parametrize("action", [
    lambda session: acknowledge(session, "WD-2025-0999", at(600)),
    lambda session: add_note(session, "WD-2025-0999", "text", at(600)),
    lambda session: close_by_hand(session, "WD-2025-0999", at(600)),
    lambda session: set_provider_ref(session, "WD-2025-0999", "4411-XYZ", at(600)),
], ids=["ack", "note", "close", "provider-ref"])
def test_an_unknown_reference_changes_nothing(
    store: Store, action: Callable[[Session], TicketChange]
) -> None:
    open_ticket(store)
    before = timeline(store)
    with pytest.raises(UnknownTicket) as raised, store.write() as session:
        action(session)
    assert str(raised.value) == "no ticket WD-2025-0999; 'watchdog tickets --all' lists them"
    assert raised.value.exit_code == EX_USAGE
    assert timeline(store) == before



def written(store: Store) -> list[tuple[str, str, str, str | None, str | None]]:
    """The timeline with who wrote each line and when it was written (if not at once)."""
    return query(store, "SELECT at, kind, text, author, recorded_at FROM incident_event "
                        "ORDER BY id")


def test_a_call_made_earlier_is_noted_at_its_own_time_with_who_made_it(store: Store) -> None:
    open_ticket(store)
    with store.write() as session:
        change = add_note(session, REFERENCE, "  called the hotline, agent Paul  ", at(3600),
                          at=at(900), author="Jane Doe")
    assert change == TicketChange(REFERENCE, "note", "called the hotline, agent Paul")
    assert written(store)[-1] == ("2025-03-01 12:15:00.000000", "note",
                                  "called the hotline, agent Paul", "Jane Doe",
                                  "2025-03-01 13:00:00.000000")
    # On the timeline it comes where it happened, before what was recorded since.
    assert [kind for kind, in query(store, "SELECT kind FROM incident_event "
                                           "ORDER BY at, id")][-1] == "note"
    with store.write() as session:
        add_note(session, REFERENCE, "no author, written at once", at(3700), author=" ")
    assert written(store)[-1][3:] == (None, None)


@pytest.mark.parametrize(("moment", "words"), [
    (at(4000), "2025-03-01 13:06:40 UTC is in the future; a note records what already "
               "happened, so give the time it happened"),
    (at(5), "2025-03-01 12:00:05 UTC is before WD-2025-0001 began (2025-03-01 12:00:10 UTC); "
            "note it on the ticket of the outage it is about"),
], ids=["future", "before the start"])
def test_a_time_that_cannot_be_is_refused_in_one_sentence(
    store: Store, moment: datetime, words: str
) -> None:
    open_ticket(store)
    before = written(store)
    for action in (add_note, set_provider_ref):
        with pytest.raises(TimeRefused) as raised, store.write() as session:
            action(session, REFERENCE, "text", at(3600), at=moment)
        assert str(raised.value) == words
        assert raised.value.exit_code == EX_USAGE
    assert written(store) == before


def test_the_providers_reference_is_kept_with_when_it_was_given(store: Store) -> None:
    open_ticket(store)
    with store.write() as session:
        change = set_provider_ref(session, REFERENCE.lower(), " 4411-XYZ ", at(1800),
                                  author="Jane Doe")
    assert change == TicketChange(REFERENCE, "provider_ref", "the provider's reference: 4411-XYZ")
    refs = "SELECT provider_ref, provider_ref_at FROM incident"
    assert query(store, refs) == [("4411-XYZ", "2025-03-01 12:30:00.000000")]
    # A corrected reference keeps the time of the acknowledgement...
    with store.write() as session:
        change = set_provider_ref(session, REFERENCE, "4411-XYZ-1", at(2400))
    assert change.text == "the provider's reference: 4411-XYZ-1 (was 4411-XYZ)"
    assert query(store, refs) == [("4411-XYZ-1", "2025-03-01 12:30:00.000000")]
    # ...unless it is given with its own.
    with store.write() as session:
        set_provider_ref(session, REFERENCE, "4411-XYZ-2", at(3000), at=at(1200))
    assert query(store, refs) == [("4411-XYZ-2", "2025-03-01 12:20:00.000000")]
    assert [line[1:4] for line in written(store) if line[1] == "provider_ref"] == [
        ("provider_ref", "the provider's reference: 4411-XYZ", "Jane Doe"),
        ("provider_ref", "the provider's reference: 4411-XYZ-1 (was 4411-XYZ)", None),
        ("provider_ref", "the provider's reference: 4411-XYZ-2 (was 4411-XYZ-1)", None)]


@pytest.mark.parametrize(("action", "words"), [
    (lambda session: add_note(session, REFERENCE, "   ", at(600)),
     "the note is empty; write what was said or done"),
    (lambda session: set_provider_ref(session, REFERENCE, "", at(600)),
     "the provider's reference is empty; write it as the provider gave it, for example "
     "4411-XYZ"),
    (lambda session: set_provider_ref(session, REFERENCE, "4411-XYZ", at(600)),
     "WD-2025-0001 already has the provider's reference 4411-XYZ"),
], ids=["empty note", "empty reference", "same reference"])
def test_nothing_to_record_is_one_sentence(
    store: Store, action: Callable[[Session], TicketChange], words: str
) -> None:
    open_ticket(store)
    with store.write() as session:
        set_provider_ref(session, REFERENCE, "4411-XYZ", at(500))
    before = written(store)
    with pytest.raises(NothingToRecord) as raised, store.write() as session:
        action(session)
    assert (str(raised.value), raised.value.exit_code) == (words, EX_USAGE)
    assert written(store) == before
