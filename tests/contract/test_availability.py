"""A month's availability as the contract counts it, hand-computed.

November 2026 in Paris: 30 days, 720 h; 20 business days (21 weekdays less Armistice,
Wednesday 11 November), 200 business hours. October 2026 has 745 h: the clocks go back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tests.contract.calendars import HOUR, paris, terms
from watchdog.config.schema import Counting
from watchdog.contract.availability import contract_availability
from watchdog.link.availability import StateSpan

NOVEMBER = ("2026-11-01 00:00", "2026-12-01 00:00")


@dataclass(frozen=True)
class Month:
    name: str
    spans: list[tuple[str, str, str]]  # state, Paris start, Paris end
    counted: Counting = "24/7"
    period: tuple[str, str] = NOVEMBER
    maintenance: list[tuple[str, str]] = field(default_factory=list)
    commitment: str | None = "99.9"
    # Expected, by hand:
    counted_hours: float = 720
    maintenance_hours: float = 0
    unrecorded_hours: float = 0
    availability: float | None = None
    shortfall: str | None = None
    met: bool | None = None


def whole(state: str = "up") -> tuple[str, str, str]:
    return (state, "2026-09-20 00:00", "2026-12-10 00:00")


MONTHS = [
    Month("up all month", [whole()], availability=100, shortfall="0", met=True),
    Month("3 h down of 720: 99.583333 %, 0.316667 below 99.9",
          [("up", "2026-10-20 00:00", "2026-11-12 10:00"),
           ("down", "2026-11-12 10:00", "2026-11-12 13:00"),
           ("up", "2026-11-12 13:00", "2026-12-10 00:00")],
          availability=100 * 717 / 720, shortfall="0.316667", met=False),
    Month("spans cut at the month's edges",
          [("down", "2026-10-31 22:00", "2026-11-01 01:00"),
           ("up", "2026-11-01 01:00", "2026-11-30 23:00"),
           ("down", "2026-11-30 23:00", "2026-12-01 02:00")],
          availability=100 * 718 / 720, shortfall="0.177778", met=False),
    Month("a LAN fault is the office's own", [
        ("up", "2026-10-20 00:00", "2026-11-12 10:00"),
        ("lan_down", "2026-11-12 10:00", "2026-11-12 22:00"),
        ("up", "2026-11-12 22:00", "2026-12-10 00:00")],
        availability=100, shortfall="0", met=True),
    Month("unknown time is left out, not counted as up", [
        ("up", "2026-10-20 00:00", "2026-11-12 10:00"),
        ("unknown", "2026-11-12 10:00", "2026-11-14 10:00"),
        ("down", "2026-11-14 10:00", "2026-11-14 12:00"),
        ("up", "2026-11-14 12:00", "2026-12-10 00:00")],
        availability=100 * 670 / 672, shortfall="0.197619", met=False),
    Month("nothing recorded: not judged", [], unrecorded_hours=720),
    Month("a maintenance window is left out, whatever was recorded", [
        ("up", "2026-10-20 00:00", "2026-11-12 10:00"),
        ("down", "2026-11-12 10:00", "2026-11-12 13:00"),
        ("up", "2026-11-12 13:00", "2026-12-10 00:00")],
        maintenance=[("2026-11-12 09:00", "2026-11-12 12:00")], maintenance_hours=3,
        availability=100 * 716 / 717, shortfall="0.039470", met=False),
    Month("no commitment: nothing to meet", [whole()], commitment=None, availability=100),
    Month("October has 745 h (DST)", [whole()], period=("2026-10-01 00:00", "2026-11-01 00:00"),
          counted_hours=745, availability=100, shortfall="0", met=True),
    Month("business hours: a weekend outage does not count", [
        ("up", "2026-10-20 00:00", "2026-11-14 10:00"),
        ("down", "2026-11-14 10:00", "2026-11-14 13:00"),
        ("up", "2026-11-14 13:00", "2026-12-10 00:00")],
        counted="business_hours", counted_hours=200, availability=100, shortfall="0",
        met=True),
    Month("business hours: 2 h on a Thursday of 200 h is 99 %", [
        ("up", "2026-10-20 00:00", "2026-11-12 17:00"),
        ("down", "2026-11-12 17:00", "2026-11-13 09:00"),
        ("up", "2026-11-13 09:00", "2026-12-10 00:00")],
        counted="business_hours", counted_hours=200, availability=99, shortfall="0.9",
        met=False),
    Month("business hours: a maintenance window in the night changes nothing", [whole()],
          counted="business_hours", counted_hours=200,
          maintenance=[("2026-11-12 20:00", "2026-11-13 08:00")], availability=100,
          shortfall="0", met=True),
]


@pytest.mark.parametrize("case", MONTHS, ids=lambda case: case.name)
def test_a_months_availability_against_the_commitment(case: Month) -> None:
    contract = terms(counted=case.counted, commitment=case.commitment)
    spans = [StateSpan(state, paris(a), paris(b)) for state, a, b in case.spans]
    start, end = (paris(moment) for moment in case.period)
    judged = contract_availability(contract, spans, start, end,
                                   [(paris(a), paris(b)) for a, b in case.maintenance])
    assert judged.counted_seconds == case.counted_hours * HOUR
    assert judged.maintenance_seconds == case.maintenance_hours * HOUR
    assert judged.unrecorded_seconds == case.unrecorded_hours * HOUR
    if case.availability is None:
        assert judged.availability is None
    else:
        assert judged.availability == pytest.approx(case.availability)
    assert judged.shortfall == (None if case.shortfall is None else Decimal(case.shortfall))
    assert judged.met is case.met


def test_float_noise_never_starts_another_tenth() -> None:
    # 1.44 h down of 720 h is 99.8 % exactly: 0.1 point below 99.9, not 0.100000001.
    spans = [StateSpan("up", paris("2026-10-20 00:00"), paris("2026-11-12 10:00")),
             StateSpan("down", paris("2026-11-12 10:00"), paris("2026-11-12 11:26:24")),
             StateSpan("up", paris("2026-11-12 11:26:24"), paris("2026-12-10 00:00"))]
    judged = contract_availability(terms(commitment="99.9"), spans, paris(NOVEMBER[0]),
                                   paris(NOVEMBER[1]))
    assert judged.shortfall == Decimal("0.1")
