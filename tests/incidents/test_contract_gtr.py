"""The contract's GTR in the incident lifecycle: counted in business hours, the "gtr" reminder
and the breach fall when the contract says (Paris, Mon–Fri 08:00–18:00, France's holidays)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.incidents.conftest import CONFIG, query
from tests.store.store_helpers import cycle, transition
from watchdog.config import Config, parse_config
from watchdog.incidents.service import IncidentService
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

BUSINESS_HOURS = """
[contract]
gtr_counted = "business_hours"
[contract.business_hours]
holidays_country = "FR"
"""
# Friday 28 February 2025, 17:00 in Paris.
FRIDAY_17 = datetime(2025, 2, 28, 16, 0, tzinfo=UTC)
# Friday 6 June 2025, 17:00 in Paris (summer time); Monday 9 June is Whit Monday.
WHIT_FRIDAY_17 = datetime(2025, 6, 6, 15, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def config_for(tmp_path: Path, contract: str) -> Config:
    text = CONFIG.replace("[site]\n", '[site]\ntimezone = "Europe/Paris"\n') + contract
    path = tmp_path / "watchdog.toml"
    path.write_text(text)
    return parse_config(tomllib.loads(text), path)


class Line:
    """The office's line, recorded through the real store and incident service."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def up(self, moment: datetime) -> None:
        self.store.record_cycle(cycle(moment), [transition("up", moment)], [], moment,
                                link=DEFAULT_LINK)

    def down(self, moment: datetime) -> None:
        self.store.record_cycle(cycle(moment, ok=False), [transition("down", moment, "isp")],
                                [], moment, link=DEFAULT_LINK)

    def down_until(self, start: datetime, end: datetime) -> None:
        """Cycles every half hour from ``start`` (the cut) to ``end``, still down."""
        self.down(start)
        moment = start + HALF_HOUR
        while moment <= end:
            self.store.record_cycle(cycle(moment, ok=False), [], [], moment, link=DEFAULT_LINK)
            moment += HALF_HOUR

    def reminders(self) -> list[tuple[str, str]]:
        """(when, what) of every reminder on the timeline, in UTC."""
        return query(self.store, "SELECT at, text FROM incident_event WHERE kind = 'reminder' "
                                 "ORDER BY id")

    def breached(self) -> bool:
        ((value,),) = query(self.store, "SELECT gtr_breached FROM incident")
        return bool(value)


@contextmanager
def line_for(tmp_path: Path, contract: str, start: datetime) -> Iterator[Line]:
    """The line of an office under ``contract``, watched from just before ``start``."""
    with Store.open(tmp_path / "watchdog.db") as store:
        service = IncidentService(config_for(tmp_path, contract))
        store.on_cycle, store.on_resume = service.after_cycle, service.after_resume
        store.resume(start - timedelta(minutes=5), timedelta(seconds=2), link=DEFAULT_LINK)
        yield Line(store)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Line]:
    with line_for(tmp_path, BUSINESS_HOURS, FRIDAY_17) as line:
        yield line


def text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_4h_business_hours_gtr_from_friday_17h_is_due_monday_11h(office: Line) -> None:
    office.up(FRIDAY_17 - timedelta(minutes=1))
    monday_10h30 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    office.down_until(FRIDAY_17, monday_10h30)
    # Saturday 17:00: the 24 h step comes first; the GTR is not due yet.
    assert office.reminders() == [(text(FRIDAY_17 + timedelta(hours=24)), "reminder 1 (24h) to "
                                   "isp")]
    assert not office.breached()
    monday_11h = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    office.down_until(monday_10h30 + HALF_HOUR, monday_11h)
    assert office.reminders()[-1] == (text(monday_11h), "reminder 2 (gtr) (guaranteed repair "
                                      "time exceeded) to isp")
    assert office.breached()


def test_when_monday_is_a_public_holiday_it_is_due_on_tuesday(tmp_path: Path) -> None:
    with line_for(tmp_path, BUSINESS_HOURS, WHIT_FRIDAY_17) as line:
        line.up(WHIT_FRIDAY_17 - timedelta(minutes=1))
        tuesday_11h = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
        line.down_until(WHIT_FRIDAY_17, tuesday_11h - HALF_HOUR)
        assert [what for _, what in line.reminders()] == [
            "reminder 1 (24h) to isp", "reminder 2 (72h) to isp"]  # Saturday and Monday 17:00
        line.down_until(tuesday_11h, tuesday_11h)
        assert line.reminders()[-1] == (text(tuesday_11h), "reminder 3 (gtr) (guaranteed "
                                        "repair time exceeded) to isp")


def test_an_outage_repaired_over_the_weekend_keeps_a_business_hours_gtr(office: Line) -> None:
    office.up(FRIDAY_17 - timedelta(minutes=1))
    saturday_10h = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    office.down_until(FRIDAY_17, saturday_10h)
    office.up(saturday_10h)  # 17 h down, of which 1 h in business hours
    assert not office.breached()


def test_the_same_outage_breaches_a_24_7_gtr(tmp_path: Path) -> None:
    with line_for(tmp_path, "", FRIDAY_17) as line:
        line.up(FRIDAY_17 - timedelta(minutes=1))
        saturday_10h = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
        line.down_until(FRIDAY_17, saturday_10h)
        line.up(saturday_10h)
        assert line.reminders()[0] == (text(FRIDAY_17 + timedelta(hours=4)), "reminder 1 (gtr) "
                                       "(guaranteed repair time exceeded) to isp")
        assert line.breached()


def test_a_gtr_counted_from_the_providers_reference_waits_for_it(tmp_path: Path) -> None:
    from watchdog.incidents.ticket_actions import set_provider_ref

    with line_for(tmp_path, '[contract]\ngtr_starts = "provider_ref"\n', FRIDAY_17) as line:
        line.up(FRIDAY_17 - timedelta(minutes=1))
        line.down_until(FRIDAY_17, FRIDAY_17 + timedelta(hours=6))
        assert line.reminders() == []  # no acknowledgement, no GTR running
        with line.store.write() as session:
            set_provider_ref(session, "WD-2025-0001", "4411-XYZ", FRIDAY_17 + timedelta(hours=6),
                             at=FRIDAY_17 + timedelta(hours=1))
        line.down_until(FRIDAY_17 + timedelta(hours=6, minutes=30),
                        FRIDAY_17 + timedelta(hours=7))
        # Due 4 h after the reference's time, past already: taken at the next cycle.
        assert line.reminders() == [(text(FRIDAY_17 + timedelta(hours=6, minutes=30)),
                                     "reminder 1 (gtr) (guaranteed repair time exceeded) to "
                                     "isp")]


def test_a_reloaded_config_brings_its_contract(tmp_path: Path) -> None:
    service = IncidentService(config_for(tmp_path, ""))
    assert service.terms.gtr_counted == "24/7"
    assert service.terms is service.terms  # built once per config
    service.config = config_for(tmp_path, BUSINESS_HOURS)  # what SIGHUP does
    assert service.terms.gtr_counted == "business_hours"
