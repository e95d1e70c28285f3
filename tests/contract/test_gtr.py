"""The GTR, hand-computed: when its clock starts, when the repair is due, the counted repair
time and the breach."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from tests.contract.calendars import HOUR, paris, terms
from watchdog.config.schema import Counting, GtrStart
from watchdog.contract.gtr import assess, clock_start, gtr_due, repair_seconds


@dataclass(frozen=True)
class Incident:
    name: str
    cuts: list[tuple[str, str | None]]  # Paris times; None: still going on
    counted: Counting = "24/7"
    starts: GtrStart = "outage"
    ticket: str | None = "2026-11-27 17:02"
    provider_ref: str | None = None
    now: str = "2026-12-10 00:00"
    maintenance: list[tuple[str, str]] = field(default_factory=list)
    # Expected, by hand:
    due: str | None = "2026-11-27 21:00"
    repair_hours: float = 0
    breached: bool = False
    started_hours_beyond: int = 0


INCIDENTS = [
    Incident("24/7, repaired within the GTR", [("2026-11-27 17:00", "2026-11-27 20:00")],
             repair_hours=3),
    Incident("24/7, repaired in exactly the GTR: kept", [("2026-11-27 17:00",
                                                          "2026-11-27 21:00")],
             repair_hours=4),
    Incident("24/7, one second late: one started hour", [("2026-11-27 17:00",
                                                          "2026-11-27 21:00:01")],
             repair_hours=4 + 1 / 3600, breached=True, started_hours_beyond=1),
    Incident("business hours: Friday 17:00 to Monday 12:00 is 5 h",
             [("2026-11-27 17:00", "2026-11-30 12:00")], counted="business_hours",
             due="2026-11-30 11:00", repair_hours=5, breached=True, started_hours_beyond=1),
    Incident("business hours: ending inside the weekend, 3 h",
             [("2026-11-27 15:00", "2026-11-28 09:00")], counted="business_hours",
             due="2026-11-30 09:00", repair_hours=3),
    Incident("the same outage counted 24/7 is 18 h", [("2026-11-27 15:00", "2026-11-28 09:00")],
             due="2026-11-27 19:00", repair_hours=18, breached=True, started_hours_beyond=14),
    Incident("two cuts of one incident: the time back up in between is not counted",
             [("2026-11-27 17:00", "2026-11-27 19:00"), ("2026-11-27 19:30",
                                                         "2026-11-27 22:00")],
             repair_hours=4.5, breached=True, started_hours_beyond=1),
    Incident("still going on: counted until now", [("2026-11-27 17:00", None)],
             now="2026-11-28 03:30", repair_hours=10.5, breached=True,
             started_hours_beyond=7),
    Incident("from the ticket's opening", [("2026-11-27 16:58", "2026-11-27 21:01")],
             starts="ticket", due="2026-11-27 21:02", repair_hours=4 - 1 / 60),
    Incident("from the provider's reference, not given: nothing due",
             [("2026-11-27 17:00", "2026-11-28 17:00")], starts="provider_ref", due=None),
    Incident("from the provider's reference, given the next morning, business hours",
             [("2026-11-27 17:00", "2026-11-30 15:00")], starts="provider_ref",
             provider_ref="2026-11-30 09:00", counted="business_hours",
             due="2026-11-30 13:00", repair_hours=6, breached=True, started_hours_beyond=2),
    Incident("a maintenance window stops the clock",
             [("2026-11-27 17:00", "2026-11-27 22:00")],
             maintenance=[("2026-11-27 18:00", "2026-11-27 20:00")], due="2026-11-27 23:00",
             repair_hours=3),
]


@pytest.mark.parametrize("case", INCIDENTS, ids=lambda case: case.name)
def test_an_incident_against_the_gtr(case: Incident) -> None:
    contract = terms(counted=case.counted, starts=case.starts)
    verdict = assess(
        contract,
        started_at=paris(case.cuts[0][0]),
        outages=[(paris(a), None if b is None else paris(b)) for a, b in case.cuts],
        now=paris(case.now),
        ticket_opened_at=None if case.ticket is None else paris(case.ticket),
        provider_ref_at=None if case.provider_ref is None else paris(case.provider_ref),
        maintenance=[(paris(a), paris(b)) for a, b in case.maintenance],
    )
    assert verdict.due_at == (None if case.due is None else paris(case.due))
    assert verdict.repair_seconds == pytest.approx(case.repair_hours * HOUR, abs=0.001)
    assert verdict.breached is case.breached
    assert verdict.started_hours_beyond == case.started_hours_beyond
    assert verdict.counted == case.counted


def test_the_clock_starts_where_the_contract_says() -> None:
    started, ticket = paris("2026-11-27 17:00"), paris("2026-11-27 17:02")
    cases: list[tuple[GtrStart, datetime | None]] = [
        ("outage", started), ("ticket", ticket), ("provider_ref", None)]
    for starts, expected in cases:
        assert clock_start(terms(starts=starts), started_at=started, ticket_opened_at=ticket,
                           provider_ref_at=None) == expected


def test_the_due_time_and_the_repair_time_alone() -> None:
    contract = terms(counted="business_hours")
    start = paris("2026-11-27 17:00")
    assert gtr_due(contract, start) == paris("2026-11-30 11:00")
    cut = (paris("2026-11-27 16:00"), paris("2026-11-30 09:00"))
    # Counted from the clock's start only: Friday 17:00-18:00 and Monday 08:00-09:00.
    assert repair_seconds(contract, [cut], start) == 2 * HOUR
