"""Maintenance windows as a calendar: which instants they cover, for which link. Pure.

A window is declared in the config (``[[maintenance]]``: one-off or weekly) or from the
command line (``watchdog maintenance add``: one-off, kept in the database). Both become the
values of this module, and everything that asks "was this instant planned works?" asks here,
with time as an argument:

- ``window_at(windows, instant, link=...)``: the window holding at an instant, if any;
- ``windows_between(windows, start, end, link=...)``: every occurrence overlapping a period,
  weekly windows expanded (for ``status``, ``maintenance list`` and the report);
- ``maintenance_spans(windows, start, end, link=...)``: the same merged into disjoint spans,
  cut to the period (for the contract arithmetic: time to leave out);
- ``span_at(windows, instant, link=...)``: the merged span holding at an instant (the daemon).

Weekly windows are wall-clock times in the site's zone, expanded day by day in that zone, so
they follow DST: "Sun 02:00-04:00" lasts one hour of real time on the spring-forward Sunday
(02:00 does not exist; it begins at 03:00) and three on the fall-back Sunday. A local time
that does not exist is read with the offset in force before the change (PEP 495, ``fold=0``);
an ambiguous one as its first occurrence. An ``end`` not after ``start`` is on the next day
(``22:00``-``02:00`` crosses midnight; ``02:00``-``02:00`` lasts a day).

The recorded ``maintenance`` intervals say when the daemon honoured a window (it never
rewrites time it had already recorded); these functions say what was declared.

Standard library only: the read commands import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

if TYPE_CHECKING:
    from watchdog.config.schema import Config, MaintenanceConfig

#: Where a window was declared: the config file, or the command line (the database).
WindowSource = Literal["config", "cli"]

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ONE_DAY = timedelta(days=1)
# ``span_at`` merges the occurrences this far around the instant: a weekly window lasts at
# most a day, so a chain of touching windows is seen whole unless it goes on for a week.
SPAN_HORIZON = timedelta(days=8)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredWindow:
    """What every window says besides its times: why (``reason``), for which link (its name;
    None for every link), where it was declared (``source``), and ``key``, its name for
    people and for ``maintenance remove``: the database's id (``"3"``) or ``"config:1"`` (the
    first ``[[maintenance]]`` of the config)."""

    reason: str
    link: str | None = None
    source: WindowSource = "config"
    key: str = ""


@dataclass(frozen=True, slots=True)
class OneOffWindow(DeclaredWindow):
    """Planned works from ``starts_at`` to ``ends_at`` (aware datetimes)."""

    starts_at: datetime
    ends_at: datetime

    def occurrences(self, start: datetime, end: datetime) -> Iterator[Occurrence]:
        """The window itself when it overlaps [``start``, ``end``)."""
        if self.starts_at < end and self.ends_at > start:
            yield Occurrence(self.starts_at.astimezone(UTC), self.ends_at.astimezone(UTC), self)


@dataclass(frozen=True, slots=True)
class WeeklyWindow(DeclaredWindow):
    """Planned works every week on ``days`` (0 is Monday) from ``start`` to ``end``, wall-clock
    times in ``zone``; an ``end`` not after ``start`` is on the next day."""

    days: frozenset[int]
    start: time
    end: time
    zone: tzinfo

    def occurrences(self, start: datetime, end: datetime) -> Iterator[Occurrence]:
        """Each week's occurrence that overlaps [``start``, ``end``), oldest first."""
        # From the day before (an occurrence that began then may still hold) to the last day.
        day = start.astimezone(self.zone).date() - ONE_DAY
        last = end.astimezone(self.zone).date()
        while day <= last:
            if day.weekday() in self.days:
                began, ended = self._on(day)
                if began < end and ended > start and ended > began:
                    yield Occurrence(began, ended, self)
            day += ONE_DAY

    def _on(self, day: date) -> tuple[datetime, datetime]:
        """The occurrence that begins on the local ``day``, in UTC."""
        end_day = day if self.end > self.start else day + ONE_DAY
        began = datetime.combine(day, self.start, tzinfo=self.zone)
        ended = datetime.combine(end_day, self.end, tzinfo=self.zone)
        return began.astimezone(UTC), ended.astimezone(UTC)


MaintenanceWindow = OneOffWindow | WeeklyWindow


class Occurrence(NamedTuple):
    """One window's time: from ``start`` to ``end`` (aware UTC)."""

    start: datetime
    end: datetime
    window: MaintenanceWindow


@dataclass(frozen=True, slots=True)
class MaintenanceSpan:
    """Time covered by one or more overlapping or touching windows, from ``start`` to ``end``
    (aware UTC), with the reasons of the windows that make it up."""

    start: datetime
    end: datetime
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _for_link(window: MaintenanceWindow, link: str | None) -> bool:
    return link is None or window.link is None or window.link == link


def windows_between(
    windows: Iterable[MaintenanceWindow], start: datetime, end: datetime, *, link: str | None
) -> list[Occurrence]:
    """Every occurrence of ``windows`` that applies to ``link`` and overlaps [``start``,
    ``end``) (not cut to it), by start time. ``link`` None: every window, whatever its link."""
    found = [occurrence for window in windows if _for_link(window, link)
             for occurrence in window.occurrences(start, end)]
    return sorted(found, key=lambda occurrence: (occurrence.start, occurrence.end))


def window_at(
    windows: Iterable[MaintenanceWindow], instant: datetime, *, link: str | None
) -> Occurrence | None:
    """The occurrence that holds at ``instant`` for ``link`` (start included, end excluded);
    of several, the one that ends last. None outside every window."""
    holding = windows_between(windows, instant, instant + timedelta(microseconds=1), link=link)
    return max(holding, key=lambda occurrence: occurrence.end, default=None)


def _merged(occurrences: Sequence[Occurrence]) -> list[MaintenanceSpan]:
    spans: list[MaintenanceSpan] = []
    for start, end, window in occurrences:  # by start time
        if spans and start <= spans[-1].end:
            last = spans[-1]
            reasons = last.reasons if window.reason in last.reasons else (
                *last.reasons, window.reason)
            spans[-1] = MaintenanceSpan(last.start, max(last.end, end), reasons)
        else:
            spans.append(MaintenanceSpan(start, end, (window.reason,)))
    return spans


def maintenance_spans(
    windows: Iterable[MaintenanceWindow], start: datetime, end: datetime, *, link: str | None
) -> list[MaintenanceSpan]:
    """The time inside [``start``, ``end``) that ``windows`` cover for ``link``, as disjoint
    spans cut to the period, by start time. Overlapping or touching windows make one span."""
    spans = _merged(windows_between(windows, start, end, link=link))
    return [MaintenanceSpan(max(span.start, start), min(span.end, end), span.reasons)
            for span in spans]


def span_at(
    windows: Iterable[MaintenanceWindow], instant: datetime, *, link: str | None
) -> MaintenanceSpan | None:
    """The merged span that holds at ``instant`` for ``link``, whole (not cut), or None.

    Touching windows (one ends when the next begins) make one span; a chain of them is
    followed ``SPAN_HORIZON`` each way.
    """
    around = windows_between(windows, instant - SPAN_HORIZON, instant + SPAN_HORIZON, link=link)
    for span in _merged(around):
        if span.start <= instant < span.end:
            return span
    return None


# --- reading what people write ---------------------------------------------------------------


class WindowProblem(ValueError):
    """A window as written cannot be read: ``key`` names the part (``start``, ``days``...),
    the message says what is wrong and how to write it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """``"2026-12-06 02:00"`` (the site's time, ``zone``), ``"2026-12-06T02:00+01:00"`` (its own
    offset) or ``"2026-12-06"`` (midnight) as an aware UTC datetime; raise ``ValueError``
    saying how to write it."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time; write it as \"2026-12-06 02:00\" "
                         "(the site's time) or with its offset, \"2026-12-06T02:00+01:00\""
                         ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_time_of_day(text: str) -> time:
    """``"02:00"`` as a time; ``"24:00"`` is midnight at the end of the day (a window
    ``"22:00"``-``"24:00"``); raise ``ValueError`` saying how to write it."""
    cleaned = text.strip()
    if cleaned in ("24:00", "24:00:00"):
        return time(0, 0)
    try:
        if len(cleaned) not in (5, 8) or cleaned[2] != ":":
            raise ValueError(cleaned)
        return time.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day; write it as \"HH:MM\", for example "
                         "\"02:00\"") from None


def parse_days(names: Sequence[str]) -> frozenset[int]:
    """``["Sat", "Sun"]`` or ``["Mon-Fri"]`` (day names in English, short or full, any case;
    a range may wrap: ``"Fri-Mon"``) as weekday numbers, 0 being Monday; raise ``ValueError``
    saying how to write them."""
    days: set[int] = set()
    for name in names:
        first, _, last = name.partition("-")
        begin = _day(first, name)
        finish = _day(last, name) if last else begin
        days.update((begin + step) % 7 for step in range((finish - begin) % 7 + 1))
    if not days:
        raise ValueError("is empty; list the days, for example [\"Sun\"] or [\"Mon-Fri\"]")
    return frozenset(days)


def _day(text: str, written: str) -> int:
    wanted = text.strip().lower()
    for number, (short, full) in enumerate(zip(DAY_NAMES, _FULL_DAY_NAMES, strict=True)):
        if wanted in (short.lower(), full):
            return number
    raise ValueError(f"{written!r} is not a day; write Mon, Tue, Wed, Thu, Fri, Sat or Sun, "
                     "or a range such as \"Mon-Fri\"")


def window_from_config(entry: MaintenanceConfig, zone: tzinfo, number: int) -> MaintenanceWindow:
    """The window of the config's ``number``-th ``[[maintenance]]`` (from 1), its times in the
    site's ``zone``: weekly when it lists ``days``, else one-off. Raises ``WindowProblem``."""
    key = f"config:{number}"
    link = entry.link or None
    if not entry.reason.strip():
        raise WindowProblem("reason", "is empty; say what the works are, for example "
                            "\"fibre operator's planned works\"")
    if entry.days:
        try:
            days = parse_days(entry.days)
        except ValueError as error:
            raise WindowProblem("days", str(error)) from None
        start, end = (_read(entry.start, "start", parse_time_of_day),
                      _read(entry.end, "end", parse_time_of_day))
        return WeeklyWindow(days, start, end, zone, reason=entry.reason, link=link, key=key)
    starts_at = _read(entry.start, "start", lambda text: parse_moment(text, zone))
    ends_at = _read(entry.end, "end", lambda text: parse_moment(text, zone))
    if ends_at <= starts_at:
        raise WindowProblem("end", f"{entry.end!r} is not after start ({entry.start!r}); give "
                            "an end after the start, or list days for a weekly window")
    return OneOffWindow(starts_at, ends_at, reason=entry.reason, link=link, key=key)


def config_windows(config: Config) -> list[MaintenanceWindow]:
    """The windows of ``config``'s ``[[maintenance]]`` entries, in the site's zone.

    The config was validated when it was loaded (``Config.problems``), so this does not raise.
    """
    from watchdog.config.zone import site_zone

    zone = site_zone(config)
    return [window_from_config(entry, zone, number)
            for number, entry in enumerate(config.maintenance, start=1)]


_Parsed = TypeVar("_Parsed")


def _read(text: str, key: str, parse: Callable[[str], _Parsed]) -> _Parsed:
    try:
        return parse(text)
    except ValueError as error:
        raise WindowProblem(key, str(error)) from None
