"""``[contract]``: its defaults, the terms built from it, and one line per problem."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.config.test_config import EXAMPLE, MINIMAL, problems_of, write
from watchdog.config import dump_config, load_config
from watchdog.contract.terms import ContractTerms

METZ = MINIMAL + """
[site]
timezone = "Europe/Paris"
[isp]
gtr = "4h"
[contract]
availability_commitment = 99.9
gtr_counted = "business_hours"
gtr_starts = "ticket"
monthly_fee = 300
currency = "EUR"
[contract.business_hours]
days = ["mon", "tue", "wed", "thu", "fri", "sat"]
opens = "08:30"
closes = "24:00"
holidays_country = "FR"
holidays_subdivision = "57"
closed_days = [2026-12-24, "2026-12-31"]
[contract.compensation]
per_started_hour_beyond_gtr = 2.5
per_tenth_below_commitment = 5
cap = 30
"""


def test_without_a_contract_the_gtr_is_counted_24_7_from_the_outages_start(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, MINIMAL + '[isp]\ngtr = "8h"\n'))
    terms = ContractTerms.from_config(config)
    assert (terms.gtr, terms.gtr_counted, terms.gtr_starts) == (
        timedelta(hours=8), "24/7", "outage")
    assert (terms.availability_commitment, terms.monthly_fee) == (None, Decimal(0))
    assert terms.gtr_calendar is None and terms.availability_calendar is None
    hours = terms.calendar
    assert (hours.days, hours.opens, hours.closes) == (frozenset(range(5)), 480, 1080)


def test_the_example_lists_every_contract_key_with_its_default(tmp_path: Path) -> None:
    assert load_config(EXAMPLE).contract == load_config(write(tmp_path, MINIMAL)).contract


def test_a_whole_contract_becomes_its_terms(tmp_path: Path) -> None:
    terms = ContractTerms.from_config(load_config(write(tmp_path, METZ)))
    assert (terms.gtr_counted, terms.gtr_starts, terms.availability_counted) == (
        "business_hours", "ticket", "24/7")
    assert terms.availability_commitment == Decimal("99.9")
    assert (terms.monthly_fee, terms.currency) == (Decimal("300.0"), "EUR")
    assert terms.compensation.per_started_hour_beyond_gtr == Decimal("2.5")
    assert terms.compensation.cap == Decimal("30.0")
    calendar = terms.gtr_calendar
    assert calendar is not None and calendar.zone == ZoneInfo("Europe/Paris")
    assert (calendar.days, calendar.opens, calendar.closes) == (frozenset(range(6)), 510, 1440)
    assert (calendar.holidays_country, calendar.holidays_subdivision) == ("FR", "57")
    assert calendar.closed_days == {date(2026, 12, 24), date(2026, 12, 31)}


def test_the_contract_round_trips_through_config_check(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, METZ))
    dumped = dump_config(config)
    assert "[contract.business_hours]" in dumped
    assert "closed_days = [2026-12-24, 2026-12-31]" in dumped
    again = load_config(write(tmp_path, dumped))
    assert again.contract == config.contract


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('[contract.business_hours]\nopens = "8h"\n', "contract.business_hours.opens",
         "'8h' is not a time of day; write it as \"HH:MM\""),
        ('[contract.business_hours]\nopens = "24:00"\n', "contract.business_hours.opens",
         "to \"23:59\""),
        ('[contract.business_hours]\nopens = "18:00"\ncloses = "08:00"\n',
         "contract.business_hours.closes", "is not after opens ('18:00')"),
        ("[contract.business_hours]\ndays = []\n", "contract.business_hours.days",
         "is empty, so the business never opens"),
        ('[contract.business_hours]\ndays = ["monday"]\n', "contract.business_hours.days[0]",
         "'monday' is not allowed; use one of 'mon'"),
        ('[contract.business_hours]\nclosed_days = ["24/12/2026"]\n',
         "contract.business_hours.closed_days[0]", "is not a day; write a date such as"),
        ("[contract.business_hours]\nclosed_days = [2026-12-24T10:00:00]\n",
         "contract.business_hours.closed_days[0]", "is not a day"),
        ('[contract.business_hours]\nholidays_country = "France"\n',
         "contract.business_hours.holidays_country", "write the two capital letters of ISO"),
        ('[contract.business_hours]\nholidays_subdivision = "57"\n',
         "contract.business_hours.holidays_subdivision", "needs holidays_country"),
        ('[contract.business_hours]\nholidays_country = "XX"\n',
         "contract.business_hours.holidays_country", "not a country the holidays library"),
        ('[contract.business_hours]\nholidays_country = "FR"\nholidays_subdivision = "99"\n',
         "contract.business_hours.holidays_subdivision", "use one of 57,"),
        ('[contract]\ngtr_counted = "office_hours"\n', "contract.gtr_counted",
         "use one of '24/7', 'business_hours'"),
        ('[contract]\ngtr_starts = "ack"\n', "contract.gtr_starts",
         "use one of 'outage', 'ticket', 'provider_ref'"),
        ("[contract]\navailability_commitment = 120\n", "contract.availability_commitment",
         "use at most 100.0"),
        ("[contract]\nmonthly_fee = -1\n", "contract.monthly_fee", "use at least 0.0"),
        ('[contract]\ncurrency = " "\n', "contract.currency", "write the currency"),
        ("[contract.compensation]\ncap = -5\n", "contract.compensation.cap",
         "use at least 0.0"),
    ],
)
def test_it_explains_each_bad_contract_value(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    problems = problems_of(tmp_path, MINIMAL + extra)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'watchdog.toml'}: {key}: "), problems[0]
    assert words in problems[0]


def test_the_holidays_library_is_asked_only_when_wanted(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[contract.business_hours]\nholidays_country = "XX"\n')
    assert load_config(path, check_holidays=False).contract.business_hours.holidays_country \
        == "XX"


def test_the_read_commands_never_import_the_holidays_library(tmp_path: Path) -> None:
    path = write(tmp_path, METZ + '[storage]\ndatabase = "watchdog.db"\n')
    code = (
        "import sys\n"
        "from watchdog.cli import main\n"
        "for command in ('status', 'outages', 'tickets'):\n"
        f"    main([command, '--config', {str(path)!r}])\n"
        "print('holidays' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30)
    assert result.stderr.strip().splitlines()[-1] == "False", result.stderr
