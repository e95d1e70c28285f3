"""What the provider owes for a month, and the statement of how it was computed. Pure.

The rule (``[contract.compensation]``, in percent of ``contract.monthly_fee``):

* for each incident whose repair exceeded the GTR, ``per_started_hour_beyond_gtr`` per
  started hour of counted repair time beyond it (1 s beyond is one started hour);
* when the month's availability is below the commitment, ``per_tenth_below_commitment`` per
  started 0.1 point below it (99.85 % against 99.9 % is one started tenth);
* the month's total is capped at ``cap`` percent of the fee.

Amounts are ``Decimal`` rounded to the cent, half up, line by line, so that the statement's
figures add up to its total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from watchdog.contract import wording
from watchdog.contract.availability import ContractAvailability
from watchdog.contract.gtr import GtrVerdict
from watchdog.contract.terms import ContractTerms
from watchdog.vocabulary import Language

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def _share(fee: Decimal, rate_percent: Decimal, units: int) -> Decimal:
    """``units`` × ``rate_percent`` % of ``fee``, to the cent."""
    return (fee * rate_percent * units / 100).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class GtrLine:
    """An incident repaired after its GTR, and what its delay costs."""

    reference: str
    verdict: GtrVerdict
    rate_percent: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AvailabilityLine:
    """The month's availability below the commitment, and what the shortfall costs."""

    availability: float
    commitment: Decimal
    shortfall: Decimal
    started_tenths: int
    rate_percent: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Compensation:
    """The month's compensation: one line per breach, the total, and the cap applied."""

    terms: ContractTerms
    gtr_lines: tuple[GtrLine, ...]
    availability_line: AvailabilityLine | None
    # The month's availability as judged (None: no commitment, or nothing judged).
    availability: ContractAvailability | None

    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def uncapped(self) -> Decimal:
        """The sum of the lines."""
        lines = sum((line.amount for line in self.gtr_lines), Decimal(0))
        return lines + (self.availability_line.amount if self.availability_line else 0)

    @property
    def cap_amount(self) -> Decimal:
        return _share(self.terms.monthly_fee, self.terms.compensation.cap, 1)

    @property
    def capped(self) -> bool:
        return self.uncapped > self.cap_amount

    @property
    def amount(self) -> Decimal:
        """What is owed: the lines' sum, at most the cap."""
        return min(self.uncapped, self.cap_amount)

    def statement(self, language: Language = "en") -> list[str]:
        """The rule applied and every figure, one sentence per line, for the report."""
        fr = language == "fr"
        terms = self.terms
        fee = wording.money(terms.monthly_fee, terms.currency, language)
        lines = [wording.compensation_rule_text(terms, language)]
        gtr = wording.exact_duration(terms.gtr.total_seconds(), language)
        counted = wording.counting_text(terms.gtr_counted, language)
        for line in self.gtr_lines:
            verdict = line.verdict
            took = wording.counted_duration(verdict.repair_seconds, language)
            beyond = wording.counted_duration(verdict.beyond_seconds, language)
            hours = verdict.started_hours_beyond
            rate = wording.percent(line.rate_percent, language)
            owed = wording.money(line.amount, terms.currency, language)
            lines.append(
                f"{line.reference} : rétabli en {took} ({counted}), {beyond} au-delà de la "
                f"GTR de {gtr} : {hours} heure(s) entamée(s) × {rate} × {fee} = {owed}."
                if fr else
                f"{line.reference}: repaired in {took} ({counted}), {beyond} beyond the GTR "
                f"of {gtr}: {hours} started hour(s) × {rate} × {fee} = {owed}.")
        lines.append(self._availability_sentence(language, fee))
        total = wording.money(self.uncapped, terms.currency, language)
        owed = wording.money(self.amount, terms.currency, language)
        if self.capped:
            cap = wording.percent(terms.compensation.cap, language)
            lines.append(f"Total : {total}, plafonné à {cap} de l'abonnement : {owed} dus."
                         if fr else f"Total: {total}, capped at {cap} of the fee: {owed} owed.")
        else:
            lines.append(f"Total dû : {owed}." if fr else f"Total owed: {owed}.")
        return lines

    def _availability_sentence(self, language: Language, fee: str) -> str:
        fr = language == "fr"
        judged = self.availability
        commitment = self.terms.availability_commitment
        if commitment is None:
            return ("Disponibilité : aucun engagement." if fr
                    else "Availability: no commitment.")
        promised = wording.percent(commitment, language)
        if judged is None or judged.availability is None:
            return (f"Disponibilité : rien n'a été observé, l'engagement de {promised} n'est "
                    "pas jugé." if fr else
                    f"Availability: nothing was watched, the {promised} commitment is not "
                    "judged.")
        measured = wording.percent(judged.availability, language, 4)
        line = self.availability_line
        if line is None:
            return (f"Disponibilité {measured} pour {promised} garantis : engagement tenu."
                    if fr else
                    f"Availability {measured} against {promised} committed: met.")
        below = wording.number(line.shortfall, language, 4)
        rate = wording.percent(line.rate_percent, language)
        owed = wording.money(line.amount, self.terms.currency, language)
        return (f"Disponibilité {measured} pour {promised} garantis : {below} point sous "
                f"l'engagement, {line.started_tenths} tranche(s) de 0,1 point entamée(s) × "
                f"{rate} × {fee} = {owed}."
                if fr else
                f"Availability {measured} against {promised} committed: {below} points "
                f"below, {line.started_tenths} started tenth(s) of a point × {rate} × {fee} "
                f"= {owed}.")


def compensation(
    terms: ContractTerms,
    *,
    incidents: Sequence[tuple[str, GtrVerdict]] = (),
    availability: ContractAvailability | None = None,
) -> Compensation:
    """The compensation for a month: ``incidents`` are the provider's incidents of the month
    as (reference, verdict against the GTR), ``availability`` the month's as the contract
    counts it (None: not judged)."""
    rule, fee = terms.compensation, terms.monthly_fee
    gtr_lines = tuple(
        GtrLine(reference, verdict, rule.per_started_hour_beyond_gtr,
                _share(fee, rule.per_started_hour_beyond_gtr, verdict.started_hours_beyond))
        for reference, verdict in incidents if verdict.breached
    )
    availability_line = None
    shortfall = None if availability is None else availability.shortfall
    if shortfall and availability is not None and availability.availability is not None:
        assert availability.commitment is not None  # a shortfall needs a commitment
        tenths = int((shortfall / TENTH).to_integral_value(rounding=ROUND_CEILING))
        availability_line = AvailabilityLine(
            availability=availability.availability, commitment=availability.commitment,
            shortfall=shortfall, started_tenths=tenths,
            rate_percent=rule.per_tenth_below_commitment,
            amount=_share(fee, rule.per_tenth_below_commitment, tenths))
    return Compensation(terms, gtr_lines, availability_line, availability)
