"""What the contract's tests share: the site's zone, local times, calendars and terms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from watchdog.config.schema import Counting, GtrStart
from watchdog.contract.calendar import BusinessCalendar
from watchdog.contract.terms import CompensationRule, ContractTerms

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600.0


def paris(text: str) -> datetime:
    """``"2026-11-27 17:00"`` in Paris, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def office(subdivision: str = "", *, closed: tuple[date, ...] = (),
           days: range | tuple[int, ...] = range(5), opens: int = 8 * 60,
           closes: int = 18 * 60) -> BusinessCalendar:
    """Mon–Fri 08:00–18:00 in Paris with France's public holidays (and ``subdivision``'s)."""
    return BusinessCalendar(zone=PARIS, days=frozenset(days), opens=opens, closes=closes,
                            holidays_country="FR", holidays_subdivision=subdivision,
                            closed_days=frozenset(closed))


def terms(*, counted: Counting = "24/7", calendar: BusinessCalendar | None = None,
          gtr_hours: float = 4, starts: GtrStart = "outage", commitment: str | None = None,
          fee: str = "0", per_hour: str = "0", per_tenth: str = "0",
          cap: str = "100") -> ContractTerms:
    """Contract terms for a test, with the Paris office's calendar unless told."""
    return ContractTerms(
        calendar=calendar or office(),
        gtr=timedelta(hours=gtr_hours),
        gtr_counted=counted,
        gtr_starts=starts,
        availability_commitment=None if commitment is None else Decimal(commitment),
        availability_counted=counted,
        monthly_fee=Decimal(fee),
        currency="EUR",
        compensation=CompensationRule(Decimal(per_hour), Decimal(per_tenth), Decimal(cap)),
    )
