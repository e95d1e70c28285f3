"""The month's availability as the contract counts it, against its commitment. Pure.

The rules, on top of ``watchdog.link.availability``'s (up and degraded are available; unknown
and unrecorded time are left out, never counted as up):

* Only counted time is judged: all of it ("24/7"), or the business hours
  (``contract.availability_counted``).
* Declared maintenance windows are left out (planned works announced by the provider) and
  reported apart.
* LAN faults (``lan_down``) are the office's own: left out of the provider's availability.
* The shortfall is measured in points of percent below the commitment, from the
  availability rounded to 10⁻⁶ % (a few milliseconds of a month), so that float noise never
  starts another 0.1 point.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from watchdog.config.schema import Counting
from watchdog.contract.calendar import Interval, counted_intervals
from watchdog.contract.terms import ContractTerms
from watchdog.link.availability import StateSpan, TimeByState, overlap_seconds
from watchdog.vocabulary import LINK_STATES

# The availability is compared with the commitment at this precision (percent).
PERCENT_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class ContractAvailability:
    """[``start``, ``end``) judged by the contract.

    ``counted_seconds`` is the period's counted time (all of it, or its business hours);
    ``maintenance_seconds`` the part of it inside declared maintenance windows, left out;
    ``time`` the rest per state (its percentages leave out unknown time, and its
    ``provider_availability`` LAN faults too). ``commitment`` is the contract's percent,
    None when it commits to none.
    """

    start: datetime
    end: datetime
    counted: Counting
    counted_seconds: float
    maintenance_seconds: float
    time: TimeByState
    commitment: Decimal | None

    @property
    def unrecorded_seconds(self) -> float:
        """Counted time outside maintenance with no record at all."""
        outside = self.counted_seconds - self.maintenance_seconds
        return max(0.0, outside - sum(self.time.seconds.values()))

    @property
    def judged_seconds(self) -> float:
        """The time the provider is judged on: watched, outside maintenance, no LAN fault."""
        return self.time.watched_seconds - self.time.seconds["lan_down"]

    @property
    def availability(self) -> float | None:
        """Percent of the judged time the link was available; None when none was judged."""
        return self.time.provider_availability

    @property
    def shortfall(self) -> Decimal | None:
        """Points of percent below the commitment (0 when met); None when there is no
        commitment or nothing was judged."""
        if self.commitment is None or self.availability is None:
            return None
        measured = Decimal(self.availability).quantize(PERCENT_PLACES)
        return max(Decimal(0), self.commitment - measured)

    @property
    def met(self) -> bool | None:
        """Whether the commitment was kept; None when there is none or nothing was judged."""
        shortfall = self.shortfall
        return None if shortfall is None else shortfall == 0


def contract_availability(
    terms: ContractTerms,
    spans: Iterable[StateSpan],
    start: datetime,
    end: datetime,
    maintenance: Iterable[Interval] = (),
) -> ContractAvailability:
    """How [``start``, ``end``) measures up to the contract, from the link's state ``spans``
    (contiguous, as the store keeps them; open ones already cut by the caller) and the
    declared ``maintenance`` windows."""
    calendar = terms.availability_calendar
    windows = list(maintenance)
    counted = counted_intervals(calendar, start, end)
    judged = counted_intervals(calendar, start, end, windows)
    counted_total = sum((right - left).total_seconds() for left, right in counted)
    judged_total = sum((right - left).total_seconds() for left, right in judged)
    return ContractAvailability(
        start=start,
        end=end,
        counted=terms.availability_counted,
        counted_seconds=counted_total,
        maintenance_seconds=counted_total - judged_total,
        time=TimeByState(start, end, _seconds_inside(spans, judged)),
        commitment=terms.availability_commitment,
    )


def _seconds_inside(spans: Iterable[StateSpan], intervals: list[Interval]) -> dict[str, float]:
    """Seconds per state of ``spans`` inside ``intervals`` (sorted, not overlapping)."""
    seconds: dict[str, float] = dict.fromkeys(LINK_STATES, 0.0)
    ends = [right for _, right in intervals]
    for state, began, ended in spans:
        # The first interval that ends after the span begins, then on while they meet.
        index = bisect.bisect_right(ends, began)
        while index < len(intervals) and intervals[index][0] < ended:
            left, right = intervals[index]
            inside = overlap_seconds(left, right, began, ended)
            if inside > 0:
                seconds[state] = seconds.get(state, 0.0) + inside
            index += 1
    return seconds
