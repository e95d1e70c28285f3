"""A site with a known month: the report's figures are checked against hand-computed ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# The real SMTP relay and HTTP receiver of the delivery tests (the ten-day story sends mail).
from tests.delivery.conftest import receiver, smtp, tls_ca  # noqa: F401
from tests.incidents.conftest import make_config
from tests.store.store_helpers import cycle, transition
from watchdog.incidents.service import IncidentService
from watchdog.incidents.ticket_actions import set_provider_ref
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

# Times in UTC; the site is in Paris (UTC+1 in November).
NOV = datetime(2026, 11, 1, tzinfo=UTC)


BEFORE, AFTER = timedelta(milliseconds=1600), timedelta(microseconds=5400)


def moment(day: int, hour: float) -> datetime:
    return NOV + timedelta(days=day - 1, hours=hour)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """October 31 23:30 UTC (Nov 1 00:30 in Paris) up; an ISP outage Nov 3 10:00-16:00 UTC
    (ticket, GTR breached), a LAN fault Nov 5 for 1 h, the daemon off Nov 10 for 2 h."""
    config = make_config(tmp_path, '[storage]\ndatabase = "watchdog.db"\n')
    path = tmp_path / "watchdog.toml"
    path.write_text(path.read_text().replace('[site]\n', '[site]\ntimezone = "Europe/Paris"\n'))
    with Store.open(tmp_path / "watchdog.db") as store:
        store.on_cycle = IncidentService(config).after_cycle
        start = NOV - timedelta(minutes=30)
        store.resume(start, timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(start), [transition("up", start)], [], start, link=DEFAULT_LINK)
        steps = [
            (moment(3, 10), "down", "isp", False), (moment(3, 10.05), None, None, False),
            (moment(3, 15), None, None, False), (moment(3, 16), "up", None, True),
            (moment(5, 9), "lan_down", "lan", False), (moment(5, 9.5), None, None, False),
            (moment(5, 10), "up", None, True),
        ]
        for when, state, kind, ok in steps:
            # Each change bracketed: the last probe 1.6 s before, the first 5.4 ms after.
            changes = [transition(state, when, kind, after=when - BEFORE, by=when + AFTER)
                       ] if state else []
            store.record_cycle(cycle(when, ok=ok), changes, [], when, link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(10, 8)), [], [], moment(10, 8), link=DEFAULT_LINK)
        store.shutdown(moment(10, 8))
        store.resume(moment(10, 10), timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(10, 10)), [transition("up", moment(10, 10))], [],
                           moment(10, 10), link=DEFAULT_LINK)
        store.record_cycle(cycle(moment(20, 0)), [], [], moment(20, 0), link=DEFAULT_LINK)
        store.record_clock(moment(20, 0), True)
        with store.write() as session:
            set_provider_ref(session, "WD-2026-0001", "4411-XYZ", moment(4, 9))
    return tmp_path / "watchdog.toml"


