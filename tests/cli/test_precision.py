"""How precise the record says it is: outages with the brackets of their start and end, and
whether the server's clock was synchronised (``status``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from tests.store.store_helpers import at, cycle, transition
from watchdog.cli import main
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

INTERVAL = timedelta(seconds=2)
# Seconds from T0 (13:00 site time, Europe/Paris) to the next midnight, site time.
MIDNIGHT = 11 * 3600


def ms(seconds: float, milliseconds: float) -> datetime:
    return at(seconds) + timedelta(milliseconds=milliseconds)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.fixture
def database(config: Path) -> Path:
    return config.parent / "watchdog.db"


def test_an_outage_shows_the_brackets_of_its_start_and_end_with_the_date_where_it_changes(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Down from 23:59:58 site time to 00:00:10.5 the next day.
    start, end = MIDNIGHT - 2, MIDNIGHT + 10.5
    with Store.open(database) as store:
        store.resume(at(0), INTERVAL, link=DEFAULT_LINK)
        store.record_cycle(cycle(at(start), ok=False), [transition(
            "down", at(start), "isp", after=ms(start - 2, 412.25), by=ms(start, 3.1))], [],
            at(start + 1), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(end)), [transition(
            "up", at(end), after=ms(start + 10, 0.9), by=ms(end, 2))], [], at(end + 1),
            link=DEFAULT_LINK)
    with time_machine.travel(at(end + 60), tick=False):
        out = run(capsys, "outages", "--config", str(config))
        data = json.loads(run(capsys, "outages", "--json", "--config", str(config)))
    assert out.splitlines()[1:3] == [
        "      started between 2025-03-01 23:59:56.412 and 23:59:58.004",
        "      ended between 2025-03-02 00:00:08.000 and 00:00:10.502",
    ]
    assert (data[0]["start_bracket"], data[0]["end_bracket"]) == (
        {"after": "2025-03-01T23:59:56.412+01:00", "by": "2025-03-01T23:59:58.004+01:00"},
        {"after": "2025-03-02T00:00:08.000+01:00", "by": "2025-03-02T00:00:10.502+01:00"},
    )


def test_a_bracket_across_midnight_shows_both_dates(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = MIDNIGHT + 1  # 00:00:01 site time; the previous probe left at 23:59:59
    with Store.open(database) as store:
        store.resume(at(0), INTERVAL, link=DEFAULT_LINK)
        store.record_cycle(cycle(at(start), ok=False), [transition(
            "down", at(start), "isp", after=at(start - 2), by=ms(start, 3))], [],
            at(start + 1), link=DEFAULT_LINK)
    with time_machine.travel(at(start + 60), tick=False):
        out = run(capsys, "outages", "--config", str(config))
    assert "      started between 2025-03-01 23:59:59.000 and 2025-03-02 00:00:01.003\n" in out


def test_an_end_nobody_saw_and_an_outage_recorded_before_brackets_say_what_is_known(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(database) as store:
        store.resume(at(0), INTERVAL, link=DEFAULT_LINK)
        # Recorded as an older version did: no bracket at all.
        store.record_cycle(cycle(at(2), ok=False), [transition("down", at(2), "isp")], [],
                           at(3), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(10)), [transition("up", at(10))], [], at(11),
                           link=DEFAULT_LINK)
        store.record_cycle(cycle(at(20), ok=False), [transition(
            "down", at(20), "isp", after=at(18), by=ms(20, 3))], [], at(21), link=DEFAULT_LINK)
    with Store.open(database) as store:  # back an hour later: the outage ended unseen
        store.resume(at(3600), INTERVAL, link=DEFAULT_LINK)
        store.record_cycle(cycle(at(3602)), [transition("up", at(3602), by=ms(3602, 2))], [],
                           at(3603), link=DEFAULT_LINK)
    with time_machine.travel(at(3700), tick=False):
        out = run(capsys, "outages", "--config", str(config))
        data = json.loads(run(capsys, "outages", "--json", "--config", str(config)))
    old, unseen = out.split("\n#")
    assert "between" not in old and "by" not in old
    assert "      ended by 2025-03-01 14:00:02.002 (no earlier probe on record)" in unseen
    assert data[0]["start_bracket"] == data[0]["end_bracket"] == {"after": None, "by": None}
    assert data[1]["end_bracket"] == {"after": None, "by": "2025-03-01T14:00:02.002+01:00"}


def test_status_says_when_the_clock_is_not_synchronised_and_json_always_tells(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(database) as store:
        store.resume(at(0), INTERVAL, link=DEFAULT_LINK)
        store.record_clock(at(0), False)
        store.record_clock(at(60), False)
        store.record_cycle(cycle(at(60)), [transition("up", at(2))], [], at(61),
                           link=DEFAULT_LINK)
    with time_machine.travel(at(62), tick=False):
        text = run(capsys, "status", "--config", str(config))
        data = json.loads(run(capsys, "status", "--json", "--config", str(config)))
    assert ("Clock: NOT synchronised since 13:00:00 (checked 13:01:00); recorded times may "
            "drift: enable NTP (timedatectl set-ntp true)") in text.splitlines()
    assert data["clock"] == {"synchronised": False, "checked_at": "2025-03-01T13:01:00+01:00",
                             "since": "2025-03-01T13:00:00+01:00"}

    with Store.open(database) as store:
        store.resume(at(62), INTERVAL, link=DEFAULT_LINK)
        store.record_clock(at(63), True)
        store.record_cycle(cycle(at(64)), [], [], at(65), link=DEFAULT_LINK)
    with time_machine.travel(at(66), tick=False):
        text = run(capsys, "status", "--config", str(config))
        data = json.loads(run(capsys, "status", "--json", "--config", str(config)))
    assert "Clock" not in text
    assert data["clock"] == {"synchronised": True, "checked_at": "2025-03-01T13:01:03+01:00",
                             "since": "2025-03-01T13:01:03+01:00"}


@pytest.mark.parametrize(("checks", "line"), [
    ([], "Clock: whether it is synchronised was not recorded"),
    ([None], "Clock: the kernel could not tell whether it is synchronised (checked 13:00:00)"),
])
def test_status_says_when_nobody_can_tell_whether_the_clock_is_synchronised(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str],
    checks: list[bool | None], line: str,
) -> None:
    with Store.open(database) as store:
        store.resume(at(0), INTERVAL, link=DEFAULT_LINK)
        for synced in checks:
            store.record_clock(at(0), synced)
        store.record_cycle(cycle(at(2)), [transition("up", at(2))], [], at(3),
                           link=DEFAULT_LINK)
    with time_machine.travel(at(4), tick=False):
        text = run(capsys, "status", "--config", str(config))
    assert line in text.splitlines()
