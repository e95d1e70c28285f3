"""The contract's terms as the arithmetic needs them, built once from the config.

``[isp] gtr`` is the guaranteed time to repair; ``[contract]`` says how it is counted and from
when, the availability commitment, the business hours and the compensation rule (see
``config/watchdog.toml``). A config without ``[contract]`` counts the GTR 24/7 from the
outage's start, as before, and commits to no availability.

Standard library only (the `holidays` library is imported by ``calendar`` when a holiday is
first asked about): the read commands may build these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from watchdog.config.durations import parse_time_of_day
from watchdog.config.schema import WEEKDAYS, Config, Counting, GtrStart
from watchdog.config.zone import site_zone
from watchdog.contract.calendar import BusinessCalendar


@dataclass(frozen=True, slots=True)
class CompensationRule:
    """What is owed, in percent of the monthly fee (``[contract.compensation]``)."""

    per_started_hour_beyond_gtr: Decimal = Decimal(0)
    per_tenth_below_commitment: Decimal = Decimal(0)
    cap: Decimal = Decimal(100)


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """The provider's commitments.

    ``availability_commitment`` is a percent of the month's counted time, None when the
    contract commits to none. ``calendar`` holds the business hours in the site's zone, used
    for whatever is counted in ``"business_hours"``. Money is ``Decimal``.
    """

    calendar: BusinessCalendar
    gtr: timedelta = timedelta(hours=4)
    gtr_counted: Counting = "24/7"
    gtr_starts: GtrStart = "outage"
    availability_commitment: Decimal | None = None
    availability_counted: Counting = "24/7"
    monthly_fee: Decimal = Decimal(0)
    currency: str = "EUR"
    compensation: CompensationRule = CompensationRule()

    @classmethod
    def from_config(cls, config: Config, link: str | None = None) -> ContractTerms:
        """The terms of a validated ``config`` (``Config.problems`` passed) for the link
        called ``link`` (None, or a name the config does not know: the primary's).

        ``[contract]`` is the primary link's contract: another uplink has the GTR of its own
        provider (``[uplink.isp]``), counted as ``[contract]`` counts it, and no commitment,
        fee or compensation (its contract is not in the config).
        """
        contract, hours = config.contract, config.contract.business_hours
        chosen = next((entry for entry in config.links if entry.name == link),
                      config.primary_link)
        rule = contract.compensation
        calendar = BusinessCalendar(
            zone=site_zone(config),
            days=frozenset(WEEKDAYS.index(day) for day in hours.days),
            opens=parse_time_of_day(hours.opens),
            closes=parse_time_of_day(hours.closes, allow_end_of_day=True),
            holidays_country=hours.holidays_country,
            holidays_subdivision=hours.holidays_subdivision,
            closed_days=frozenset(hours.closed_days),
        )
        commitment = contract.availability_commitment
        if not chosen.primary:
            return cls(calendar=calendar, gtr=chosen.isp.gtr, gtr_counted=contract.gtr_counted,
                       gtr_starts=contract.gtr_starts, currency=contract.currency.strip())
        return cls(
            calendar=calendar,
            gtr=chosen.isp.gtr,
            gtr_counted=contract.gtr_counted,
            gtr_starts=contract.gtr_starts,
            # Floats from TOML become the decimals people wrote: 99.9, not 99.90000000000001.
            availability_commitment=_decimal(commitment) if commitment else None,
            availability_counted=contract.availability_counted,
            monthly_fee=_decimal(contract.monthly_fee),
            currency=contract.currency.strip(),
            compensation=CompensationRule(
                per_started_hour_beyond_gtr=_decimal(rule.per_started_hour_beyond_gtr),
                per_tenth_below_commitment=_decimal(rule.per_tenth_below_commitment),
                cap=_decimal(rule.cap),
            ),
        )

    def calendar_for(self, counting: Counting) -> BusinessCalendar | None:
        """The calendar that counts ``counting`` time: None for 24/7."""
        return self.calendar if counting == "business_hours" else None

    @property
    def gtr_calendar(self) -> BusinessCalendar | None:
        """How the GTR is counted: None for 24/7, else the business calendar."""
        return self.calendar_for(self.gtr_counted)

    @property
    def availability_calendar(self) -> BusinessCalendar | None:
        """How the availability is counted: None for 24/7, else the business calendar."""
        return self.calendar_for(self.availability_counted)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))
