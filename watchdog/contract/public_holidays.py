"""Public holidays from the `holidays` library: the days of a year, and the config's check.

The library loads every country it knows on first use: about 17 MB of memory. The short
commands pay that only when they count business time (``report``, ``config check``), never
``status``. The daemon, whose memory is budgeted, asks a short-lived child process instead
(``python -m watchdog.contract.public_holidays``, as it does for migrations): ``in_child()``,
called first thing by ``watchdog run``, switches to that, and ``preload`` asks for the years
it will need before the first cycle, so no cycle waits for a child.

Each year's days are kept in this process once known.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

# (country, subdivision, year) → that year's holidays, day → name.
_known: dict[tuple[str, str, int], Mapping[date, str]] = {}
_use_child = False
CHILD_TIMEOUT_S = 60


def in_child(enabled: bool = True) -> None:
    """Compute holidays (and check the config's country) in a child process from now on."""
    global _use_child
    _use_child = enabled


def public_holidays(country: str, subdivision: str, year: int) -> Mapping[date, str]:
    """The public holidays of ``country`` (and ``subdivision``) in ``year``: day → name.

    Raises ``ValueError`` for a country or subdivision the library does not know (the
    config's check, ``holiday_problems``, refuses those first).
    """
    key = (country, subdivision, year)
    if key not in _known:
        preload(country, subdivision, [year])
    return _known[key]


def preload(country: str, subdivision: str, years: Iterable[int]) -> None:
    """Learn the holidays of ``years`` at once (one child for all of them in child mode).

    Raises ``ValueError`` as ``public_holidays``.
    """
    wanted = sorted({year for year in years if (country, subdivision, year) not in _known})
    if not wanted:
        return
    answer = _ask(country, subdivision, wanted)
    if answer["problems"]:
        raise ValueError(answer["problems"][0][1])
    for year in wanted:
        days = {date.fromisoformat(day): name for day, name in answer["days"].items()
                if date.fromisoformat(day).year == year}
        # Read-only: every caller gets the same mapping.
        _known[(country, subdivision, year)] = MappingProxyType(days)


def holiday_problems(country: str, subdivision: str) -> list[tuple[str, str]]:
    """What is wrong with a holidays country and subdivision, as (key path, what and the
    fix) for the config loader; empty when the `holidays` library knows them."""
    return [(key, message) for key, message in _ask(country, subdivision, [])["problems"]]


def _ask(country: str, subdivision: str, years: list[int]) -> dict[str, Any]:
    """``{"problems": [[key, message], ...], "days": {"YYYY-MM-DD": name}}``, from the
    library here or from a child."""
    if not _use_child:
        return _answer(country, subdivision, years)
    result = subprocess.run(
        [sys.executable, "-m", "watchdog.contract.public_holidays", country, subdivision,
         *map(str, years)],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise ValueError(f"the public holidays of {country} could not be computed "
                         f"({lines[-1] if lines else f'exit {result.returncode}'})")
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def _answer(country: str, subdivision: str, years: list[int]) -> dict[str, Any]:
    """The library's answer, computed in this process."""
    import holidays

    where = "contract.business_hours"
    supported = holidays.list_supported_countries()
    if country not in supported:
        return {"problems": [[f"{where}.holidays_country", f"{country!r} is not a country the "
                              "holidays library knows; write its ISO 3166 code, for example "
                              "\"FR\", or leave it empty for no public holidays"]], "days": {}}
    try:
        with warnings.catch_warnings():
            # Some old names ("Alsace-Moselle" for "57") still work with a deprecation
            # warning: accepted quietly. When a release drops one, this check names the codes.
            warnings.simplefilter("ignore", DeprecationWarning)
            found = holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except NotImplementedError:
        known = ", ".join(str(code) for code in supported[country]) or "none"
        return {"problems": [[f"{where}.holidays_subdivision", f"{subdivision!r} is not a "
                              f"subdivision of {country} in the holidays library; use one of "
                              f"{known}, or leave it empty"]], "days": {}}
    return {"problems": [],
            "days": {day.isoformat(): str(name) for day, name in sorted(found.items())}}


def main(argv: list[str] | None = None) -> int:
    """``python -m watchdog.contract.public_holidays COUNTRY SUBDIVISION [YEAR ...]``: the
    answer as JSON on stdout (the daemon's child)."""
    arguments = sys.argv[1:] if argv is None else argv
    country, subdivision, *years = arguments
    sys.stdout.write(json.dumps(_answer(country, subdivision, [int(y) for y in years])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
