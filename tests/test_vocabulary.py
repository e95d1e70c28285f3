"""The shared words: complete label tables, consistent subsets, one template per event."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from watchdog.vocabulary import (
    AVAILABLE_STATES,
    DOWN_EVENTS,
    LANGUAGES,
    LINK_STATES,
    MESSAGE_EVENTS,
    NOTIFY_EVENTS,
    OUTAGE_KIND_LABELS,
    OUTAGE_KINDS,
    OUTAGE_STATES,
    OUTBOX_STATUSES,
    QUEUED_STATUSES,
    STATE_LABELS,
    TICKET_EVENTS,
    UNDELIVERED_STATUSES,
    WATCHED_STATES,
    audience_of,
    state_label,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "watchdog" / "templates"


def test_every_state_and_outage_kind_has_a_label() -> None:
    assert set(STATE_LABELS) == set(LINK_STATES)
    assert set(OUTAGE_KIND_LABELS) == set(OUTAGE_KINDS)


@pytest.mark.parametrize(("state", "kind", "label"), [
    ("up", None, "UP"),
    ("degraded", None, "DEGRADED"),
    ("down", "isp", "DOWN (internet provider)"),
    ("down", None, "DOWN (internet provider)"),
    ("down", "dns", "DOWN (DNS)"),
    ("lan_down", "lan", "DOWN (local network fault)"),
    ("unknown", None, "UNKNOWN"),
    ("maintenance", None, "MAINTENANCE"),
    ("satellite_lost", None, "SATELLITE_LOST"),  # a newer database's word: shown, not refused
])
def test_state_label_names_the_side_of_an_outage(state: str, kind: str | None,
                                                 label: str) -> None:
    assert state_label(state, kind) == label


def test_the_subsets_are_taken_from_their_sets() -> None:
    assert WATCHED_STATES == ("up", "degraded", "down", "lan_down")
    assert set(WATCHED_STATES) == AVAILABLE_STATES | OUTAGE_STATES
    assert not AVAILABLE_STATES & OUTAGE_STATES
    assert set(QUEUED_STATUSES) < set(UNDELIVERED_STATUSES) < set(OUTBOX_STATUSES)
    assert MESSAGE_EVENTS == TICKET_EVENTS + NOTIFY_EVENTS
    assert set(MESSAGE_EVENTS) > DOWN_EVENTS


def test_a_message_goes_to_a_ticket_backend_or_to_people() -> None:
    assert {audience_of(event) for event in TICKET_EVENTS} == {"ticket"}
    assert {audience_of(event) for event in NOTIFY_EVENTS} == {"notify"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_event_has_one_template_per_language(language: str) -> None:
    shipped = {path.name.removesuffix(".txt.j2")
               for path in (TEMPLATES / language).glob("*.txt.j2")
               if not path.name.startswith("_")}
    assert shipped == set(MESSAGE_EVENTS)


def test_the_vocabulary_loads_nothing_but_the_standard_library() -> None:
    code = ("import sys\nimport watchdog.vocabulary\n"
            "print(sorted(m for m in sys.modules if m.startswith('watchdog')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30, check=True)
    assert result.stdout.strip() == "['watchdog', 'watchdog.vocabulary']"
