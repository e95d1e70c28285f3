"""Durations as people write them in the config: ``500ms``, ``2s``, ``5m``, ``4h``, ``1h30m``;
and times of day: ``08:00``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_TIME_OF_DAY = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")
# No key means more than a century; beyond it, times computed with it (now + duration) would
# leave the calendar that datetime can hold and fail at run time instead of at load.
LONGEST = timedelta(days=36525)


def parse_duration(text: str) -> timedelta:
    """Read ``text`` such as ``"2s"`` or ``"1h30m"``; raise ``ValueError`` saying why not."""
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError("is empty; write a number with a unit, for example \"2s\" or \"5m\"")
    position = 0
    seconds = 0.0
    for match in _PART.finditer(compact):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(compact):
        raise ValueError(
            f"{text!r} is not a duration; write a number with a unit "
            "(ms, s, m, h, d, w), for example \"2s\", \"5m\" or \"4h\""
        )
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"{text!r} is longer than a century; write a shorter duration, for "
                         "example \"30d\"")
    return timedelta(seconds=seconds)


def parse_time_of_day(text: str, *, allow_end_of_day: bool = False) -> int:
    """Minutes after midnight of ``"HH:MM"`` (``"08:00"`` → 480); ``"24:00"`` (1440, the end
    of the day) only with ``allow_end_of_day``. Raises ``ValueError`` saying why not."""
    match = _TIME_OF_DAY.fullmatch(text.strip())
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if minutes < 0 or minutes > 1440 or (minutes == 1440 and not allow_end_of_day):
        latest = "\"24:00\"" if allow_end_of_day else "\"23:59\""
        raise ValueError(f"{text!r} is not a time of day; write it as \"HH:MM\" from \"00:00\" "
                         f"to {latest}, for example \"08:00\"")
    return minutes


def format_duration(value: timedelta) -> str:
    """The shortest config spelling of ``value``: ``timedelta(minutes=90)`` → ``"1h30m"``."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def humanize(seconds: float) -> str:
    """A duration for people: ``3 d 4 h``, ``2 h 14 min``, ``45 s``."""
    seconds = max(0, round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
