"""The guaranteed time to repair (GTR): when its clock starts, when the repair is due, how
much counted time the repair took, and whether the GTR was breached. Pure.

The rules:

* The clock starts at the outage's start, when the ticket was opened, or when the provider
  acknowledged it (its own reference recorded), as ``contract.gtr_starts`` says. Until then
  nothing is due.
* The GTR is counted 24/7 or in business hours (``contract.gtr_counted``). Declared
  maintenance windows (planned works announced by the provider) never count: the clock
  stops during them, as in the usual contract.
* The repair time is the counted time the link was down after the clock started: an
  incident of several cuts counts each cut, not the time the link was back in between.
  The GTR is breached when the repair time exceeds it (a repair in exactly 4 h keeps a 4 h
  GTR).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from watchdog.config.schema import Counting
from watchdog.contract.calendar import Interval, add_counted, counted_seconds
from watchdog.contract.terms import ContractTerms

HOUR_SECONDS = 3600.0


def clock_start(
    terms: ContractTerms,
    *,
    started_at: datetime,
    ticket_opened_at: datetime | None = None,
    provider_ref_at: datetime | None = None,
) -> datetime | None:
    """When the GTR clock of an incident that began at ``started_at`` starts; None while it
    has not (no ticket yet, or the provider has not acknowledged)."""
    if terms.gtr_starts == "ticket":
        return ticket_opened_at
    if terms.gtr_starts == "provider_ref":
        return provider_ref_at
    return started_at


def gtr_due(terms: ContractTerms, start: datetime,
            maintenance: Iterable[Interval] = ()) -> datetime:
    """When the repair is due for a GTR clock started at ``start``: ``start`` plus the GTR of
    counted time (24/7 or business hours, never inside ``maintenance``)."""
    return add_counted(terms.gtr_calendar, start, terms.gtr, maintenance)


def repair_seconds(
    terms: ContractTerms, outages: Iterable[Interval], start: datetime,
    maintenance: Iterable[Interval] = (),
) -> float:
    """Counted seconds the link was down in ``outages`` after the clock's ``start`` (to the
    millisecond, as recorded)."""
    windows = list(maintenance)
    total = sum(counted_seconds(terms.gtr_calendar, max(began, start), ended, windows)
                for began, ended in outages)
    return round(total, 3)


@dataclass(frozen=True, slots=True)
class GtrVerdict:
    """One incident against the GTR: when its clock started (None: not yet, nothing is due),
    when the repair was due, and the counted repair time so far."""

    clock_start: datetime | None
    due_at: datetime | None
    repair_seconds: float
    gtr_seconds: float
    counted: Counting

    @property
    def breached(self) -> bool:
        """Whether the repair took longer than the GTR (exactly the GTR keeps it)."""
        return self.repair_seconds > self.gtr_seconds

    @property
    def beyond_seconds(self) -> float:
        """Counted repair time beyond the GTR; 0.0 when kept."""
        return round(max(0.0, self.repair_seconds - self.gtr_seconds), 3)

    @property
    def started_hours_beyond(self) -> int:
        """Hours beyond the GTR, every started one counted (1 s beyond is 1 hour)."""
        return math.ceil(self.beyond_seconds / HOUR_SECONDS)


def assess(
    terms: ContractTerms,
    *,
    started_at: datetime,
    outages: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
    ticket_opened_at: datetime | None = None,
    provider_ref_at: datetime | None = None,
    maintenance: Iterable[Interval] = (),
) -> GtrVerdict:
    """An incident that began at ``started_at`` against the GTR.

    ``outages`` are its cuts (an end of None: still going on, counted until ``now``);
    ``ticket_opened_at`` and ``provider_ref_at`` are the ticket's, for the clock's start;
    ``maintenance`` the declared windows, which the clock skips.
    """
    windows = list(maintenance)
    start = clock_start(terms, started_at=started_at, ticket_opened_at=ticket_opened_at,
                        provider_ref_at=provider_ref_at)
    gtr_seconds = terms.gtr.total_seconds()
    if start is None:
        return GtrVerdict(None, None, 0.0, gtr_seconds, terms.gtr_counted)
    cuts = [(began, now if ended is None else ended) for began, ended in outages]
    return GtrVerdict(
        clock_start=start,
        due_at=gtr_due(terms, start, windows),
        repair_seconds=repair_seconds(terms, cuts, start, windows),
        gtr_seconds=gtr_seconds,
        counted=terms.gtr_counted,
    )
