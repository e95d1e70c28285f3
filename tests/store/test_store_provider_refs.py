"""The provider's references and the notes' authors in the database: the migration that adds
them keeps every row (both ways), and the stdlib reader reads them."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from store_helpers import INTERVAL, at, cycle, migrate_to, rows, transition

from tests.incidents.conftest import make_config
from watchdog.incidents.service import IncidentService
from watchdog.incidents.ticket_actions import add_note, set_provider_ref
from watchdog.store import migrate
from watchdog.store.ticket_reader import read_ticket
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

REFERENCE = "WD-2025-0001"
INCIDENT = ("SELECT id, link_id, kind, started_at, ended_at, reference, ticket_opened_at, "
            "steps_done, reminders_sent, gtr_breached, cuts, cause FROM incident ORDER BY id")
EVENTS = "SELECT id, incident_id, at, text, channel FROM incident_event ORDER BY id"


@pytest.fixture
def with_tickets(tmp_path: Path, db_path: Path) -> Path:
    """A database with an ongoing incident, its ticket, a provider's reference and a call
    noted after the fact; the daemon stopped."""
    config = make_config(tmp_path)
    with Store.open(db_path) as store:
        service = IncidentService(config)
        store.on_cycle, store.on_resume = service.after_cycle, service.after_resume
        store.resume(at(0), INTERVAL, link=DEFAULT_LINK)
        store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(10), ok=False), [transition("down", at(10), "isp")], [],
                           at(11), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(200), ok=False), [], [], at(200), link=DEFAULT_LINK)
        with store.write() as session:
            set_provider_ref(session, REFERENCE, "4411-XYZ", at(900), at=at(600),
                             author="Jane Doe")
            add_note(session, REFERENCE, "called the hotline", at(900), at=at(300),
                     author="Jane Doe")
    return db_path


def test_the_reader_reads_the_reference_the_author_and_when_a_line_was_written(
    with_tickets: Path,
) -> None:
    detail = read_ticket(with_tickets, REFERENCE)
    assert (detail.ticket.provider_ref, detail.ticket.provider_ref_at) == ("4411-XYZ", at(600))
    lines = [(e.kind, e.at, e.author, e.recorded_at) for e in detail.timeline
             if e.author is not None]
    assert lines == [("note", at(300), "Jane Doe", at(900)),
                     ("provider_ref", at(600), "Jane Doe", at(900))]


def test_the_migration_keeps_every_row_both_ways(with_tickets: Path) -> None:
    before = (rows(with_tickets, INCIDENT), rows(with_tickets, EVENTS))
    migrate_to(with_tickets, "0003")
    assert (rows(with_tickets, INCIDENT), rows(with_tickets, EVENTS)) == before
    columns = {name for (name,) in rows(with_tickets, "SELECT name FROM "
                                                      "pragma_table_info('incident_event')")}
    assert not {"author", "recorded_at"} & columns
    # The provider's reference stays on the timeline, as a note.
    assert ("note", "the provider's reference: 4411-XYZ") in rows(
        with_tickets, "SELECT kind, text FROM incident_event")

    upgraded = Store.open(with_tickets)  # migrates to the head, after a backup
    upgraded.close()
    assert upgraded.backup is not None
    assert rows(with_tickets, "SELECT version_num FROM alembic_version") == [
        (migrate.HEAD_REVISION,)]
    assert (rows(with_tickets, INCIDENT), rows(with_tickets, EVENTS)) == before
    assert rows(with_tickets, "SELECT provider_ref, provider_ref_at FROM incident") == [
        (None, None)]
    assert rows(with_tickets, "SELECT DISTINCT author, recorded_at FROM incident_event") == [
        (None, None)]
    with closing(sqlite3.connect(with_tickets)) as connection:
        # The timeline's kinds are checked, provider_ref among them...
        connection.execute("INSERT INTO incident_event (incident_id, at, kind, text) "
                           "VALUES (1, '2025-03-01 12:20:00', 'provider_ref', 'x')")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute("INSERT INTO incident_event (incident_id, at, kind, text) "
                               "VALUES (1, '2025-03-01 12:20:00', 'gossip', 'x')")
        # ...and a link still has one ongoing incident at most.
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            connection.execute("INSERT INTO incident (link_id, kind, started_at, steps_done, "
                               "reminders_sent, gtr_breached, cuts, cause) VALUES "
                               "(1, 'isp', '2025-03-01 12:30:00', 0, 0, 0, 1, 'x')")
