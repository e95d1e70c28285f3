"""What the provider owes, hand-computed, and the statement of the rule and the figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.contract.calendars import HOUR, paris, terms
from watchdog.config.schema import Counting
from watchdog.contract.availability import ContractAvailability, contract_availability
from watchdog.contract.compensation import compensation
from watchdog.contract.gtr import GtrVerdict
from watchdog.contract.wording import exact_duration, terms_lines
from watchdog.link.availability import StateSpan

CONTRACT = terms(commitment="99.9", fee="300", per_hour="2", per_tenth="5", cap="30")


def verdict(repair_seconds: float, counted: Counting = "24/7") -> GtrVerdict:
    start = paris("2026-11-12 10:00")
    return GtrVerdict(start, start + timedelta(hours=4), repair_seconds, 4 * HOUR, counted)


def november(down_hours: float) -> ContractAvailability:
    """November 2026 (720 h) with one cut of ``down_hours`` on the 12th."""
    cut_end = paris("2026-11-12 10:00") + timedelta(hours=down_hours)
    spans = [StateSpan("up", paris("2026-10-01 00:00"), paris("2026-11-12 10:00")),
             StateSpan("down", paris("2026-11-12 10:00"), cut_end),
             StateSpan("up", cut_end, paris("2026-12-10 00:00"))]
    return contract_availability(CONTRACT, spans, paris("2026-11-01 00:00"),
                                 paris("2026-12-01 00:00"))


def test_every_rule_at_once_and_the_cap() -> None:
    owed = compensation(
        CONTRACT,
        incidents=[("WD-2026-0007", verdict(10 * HOUR + 12 * 60 + 5)),  # 7 started hours
                   ("WD-2026-0008", verdict(3 * HOUR)),  # kept: no line
                   ("WD-2026-0009", verdict(4 * HOUR + 1))],  # 1 s late: 1 started hour
        availability=november(3),  # 99.583333 %: 4 started tenths
    )
    assert [(line.reference, line.amount) for line in owed.gtr_lines] == [
        ("WD-2026-0007", Decimal("42.00")), ("WD-2026-0009", Decimal("6.00"))]
    assert owed.availability_line is not None
    assert (owed.availability_line.started_tenths, owed.availability_line.amount) == (
        4, Decimal("60.00"))
    assert (owed.uncapped, owed.cap_amount, owed.amount, owed.capped) == (
        Decimal("108.00"), Decimal("90.00"), Decimal("90.00"), True)
    assert owed.statement() == [
        "Compensation: 2 % of the fee per started hour beyond the GTR; 5 % per started 0.1 "
        "point of availability below the commitment; at most 30 % of the fee.",
        "WD-2026-0007: repaired in 10 h 12 min 5 s (24/7), 6 h 12 min 5 s beyond the GTR of "
        "4 h: 7 started hour(s) × 2 % × 300.00 EUR = 42.00 EUR.",
        "WD-2026-0009: repaired in 4 h 1 s (24/7), 1 s beyond the GTR of 4 h: 1 started "
        "hour(s) × 2 % × 300.00 EUR = 6.00 EUR.",
        "Availability 99.5833 % against 99.9 % committed: 0.3167 points below, 4 started "
        "tenth(s) of a point × 5 % × 300.00 EUR = 60.00 EUR.",
        "Total: 108.00 EUR, capped at 30 % of the fee: 90.00 EUR owed.",
    ]
    assert owed.statement("fr") == [
        "Pénalités : 2 % de l'abonnement par heure entamée au-delà de la GTR ; 5 % par "
        "tranche de 0,1 point de disponibilité entamée sous l'engagement ; au plus 30 % de "
        "l'abonnement.",
        "WD-2026-0007 : rétabli en 10 h 12 min 5 s (24 h/24, 7 j/7), 6 h 12 min 5 s au-delà "
        "de la GTR de 4 h : 7 heure(s) entamée(s) × 2 % × 300,00 EUR = 42,00 EUR.",
        "WD-2026-0009 : rétabli en 4 h 1 s (24 h/24, 7 j/7), 1 s au-delà de la GTR de 4 h : "
        "1 heure(s) entamée(s) × 2 % × 300,00 EUR = 6,00 EUR.",
        "Disponibilité 99,5833 % pour 99,9 % garantis : 0,3167 point sous l'engagement, 4 "
        "tranche(s) de 0,1 point entamée(s) × 5 % × 300,00 EUR = 60,00 EUR.",
        "Total : 108,00 EUR, plafonné à 30 % de l'abonnement : 90,00 EUR dus.",
    ]


def test_a_month_within_every_commitment_owes_nothing() -> None:
    owed = compensation(CONTRACT, incidents=[("WD-2026-0008", verdict(4 * HOUR))],
                        availability=november(0.5))
    assert (owed.gtr_lines, owed.availability_line, owed.amount) == ((), None, Decimal(0))
    assert owed.statement()[1:] == [
        "Availability 99.9306 % against 99.9 % committed: met.", "Total owed: 0.00 EUR."]


def test_an_uncapped_total_and_cents_rounded_half_up() -> None:
    contract = terms(fee="29.99", per_hour="2.5")
    owed = compensation(contract, incidents=[("WD-2026-0001", verdict(6 * HOUR + 1))])
    # 3 started hours × 2.5 % × 29.99 = 2.24925, to the cent: 2.25.
    assert (owed.amount, owed.capped) == (Decimal("2.25"), False)
    assert owed.statement()[-2:] == ["Availability: no commitment.", "Total owed: 2.25 EUR."]


def test_without_a_fee_the_breaches_are_stated_and_nothing_is_computed() -> None:
    owed = compensation(terms(commitment="99.9"), incidents=[("WD-2026-0001",
                                                             verdict(5 * HOUR))])
    assert owed.amount == Decimal(0)
    assert owed.statement()[0] == ("Compensation: no rule configured (contract.monthly_fee, "
                                   "contract.compensation).")
    assert "1 started hour(s)" in owed.statement()[1]
    assert owed.statement()[2] == ("Availability: nothing was watched, the 99.9 % commitment "
                                   "is not judged.")


def test_the_terms_in_words() -> None:
    contract = terms(counted="business_hours", commitment="99.9", fee="300", per_hour="2",
                     cap="30")
    assert terms_lines(contract) == [
        "Guaranteed time to repair (GTR): 4 h, counted in business hours, from the outage's "
        "start.",
        "Availability commitment: 99.9 % per month, counted in business hours; declared "
        "maintenance and LAN faults left out.",
        "Business hours: Mon–Fri 08:00–18:00 (Europe/Paris), public holidays of FR.",
        "Monthly fee: 300.00 EUR.",
        "Compensation: 2 % of the fee per started hour beyond the GTR; at most 30 % of the fee.",
    ]
    assert terms_lines(terms(starts="provider_ref"), "fr") == [
        "GTR (garantie de temps de rétablissement) : 4 h, comptée 24 h/24, 7 j/7, à partir de "
        "la prise en compte par l'opérateur (sa référence).",
        "Engagement de disponibilité : aucun.",
        "Pénalités : aucune règle configurée (contract.monthly_fee, contract.compensation).",
    ]


def test_exact_durations_keep_the_seconds() -> None:
    assert exact_duration(0, "en") == "0 s"
    assert exact_duration(10 * 86400 + 3 * 3600 + 4 * 60 + 5, "en") == "10 d 3 h 4 min 5 s"
    assert exact_duration(86400 + 59.6, "fr") == "1 j 1 min"
