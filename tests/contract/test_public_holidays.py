"""Public holidays from the `holidays` library, here or (the daemon) from a child process."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import date

import pytest

from watchdog.contract.public_holidays import holiday_problems, public_holidays


def test_alsace_moselle_has_good_friday_and_26_december_off() -> None:
    extra = set(public_holidays("FR", "57", 2027)) - set(public_holidays("FR", "", 2027))
    assert extra == {date(2027, 3, 26), date(2027, 12, 26)}
    assert public_holidays("FR", "57", 2027)[date(2027, 3, 26)] == "Good Friday"


@pytest.mark.parametrize("other_name", ["Alsace-Moselle", "Moselle"])
def test_the_libraries_other_names_for_moselle_are_accepted_quietly(other_name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the library's deprecation warning is not shown
        assert dict(public_holidays("FR", other_name, 2026)) == dict(
            public_holidays("FR", "57", 2026))
        assert holiday_problems("FR", other_name) == []


def test_holiday_problems_name_the_key_and_the_fix() -> None:
    assert holiday_problems("FR", "57") == []
    assert holiday_problems("FR", "") == []
    ((key, message),) = holiday_problems("XX", "")
    assert key == "contract.business_hours.holidays_country"
    assert message == ("'XX' is not a country the holidays library knows; write its ISO 3166 "
                       "code, for example \"FR\", or leave it empty for no public holidays")
    ((key, message),) = holiday_problems("FR", "99")
    assert key == "contract.business_hours.holidays_subdivision"
    assert message.startswith("'99' is not a subdivision of FR in the holidays library; use "
                              "one of 57, ")


def test_an_unknown_country_asked_for_its_days_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'XX' is not a country"):
        public_holidays("XX", "", 2026)


def test_the_daemon_asks_a_child_and_never_carries_the_library() -> None:
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from watchdog.contract import public_holidays as ph\n"
        "ph.in_child()\n"
        "assert ph.holiday_problems('FR', '57') == []\n"
        "assert 'not a subdivision' in ph.holiday_problems('FR', '99')[0][1]\n"
        "ph.preload('FR', '57', [2026, 2027])\n"
        "assert ph.public_holidays('FR', '57', 2027)[date(2027, 12, 26)]\n"
        "assert date(2026, 4, 3) in ph.public_holidays('FR', '57', 2026)\n"
        "try:\n"
        "    ph.public_holidays('XX', '', 2026)\n"
        "except ValueError as error:\n"
        "    print(error)\n"
        "print('holidays' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "'XX' is not a country the holidays library knows; write its ISO 3166 code, for "
        "example \"FR\", or leave it empty for no public holidays", "False"]
