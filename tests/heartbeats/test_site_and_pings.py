"""Which state a heartbeat reports and what it says: tables, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from watchdog.heartbeats.pings import outage_summary, start_ping, state_ping, stop_ping
from watchdog.heartbeats.site import LinkView, site_view
from watchdog.store.heartbeat_reader import EndedOutage
from watchdog.vocabulary import DEFAULT_LINK

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 6, 13, 47, 10, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=45, seconds=5)


def view(state: str, link: str = DEFAULT_LINK, kind: str | None = None,
         cause: str = "why", rtt_ms: float | None = None) -> LinkView:
    return LinkView(link, state, SINCE, cause, kind, rtt_ms)  # type: ignore[arg-type]


@pytest.mark.parametrize(("states", "link", "expected"), [
    ([], "", None),
    (["unknown"], "", None),
    (["unknown", "up"], "", "backup"),
    (["up", "up"], "", DEFAULT_LINK),  # a tie: the first link, the primary
    (["up", "degraded"], "", "backup"),
    (["degraded", "down"], "", "backup"),
    (["lan_down", "down"], "", DEFAULT_LINK),
    (["maintenance", "up"], "", DEFAULT_LINK),  # declared works count as well
    (["maintenance", "degraded"], "", "backup"),
    (["down", "up"], "backup", "backup"),  # a heartbeat that follows one link
    (["up", "unknown"], "backup", None),
])
def test_the_site_reports_its_worst_known_link(
    states: list[str], link: str, expected: str | None
) -> None:
    views = [view(state, name) for state, name in zip(states, [DEFAULT_LINK, "backup"],
                                                       strict=False)]
    chosen = site_view(views, link)
    assert (chosen.link if chosen else None) == expected


def test_a_dns_outage_is_milder_than_the_providers() -> None:
    views = [view("down", DEFAULT_LINK, "dns"), view("down", "backup", "isp")]
    chosen = site_view(views)
    assert chosen is not None and chosen.link == "backup"


@pytest.mark.parametrize(("state", "kind", "signal", "headline"), [
    ("up", None, "up", "Office: UP since"),
    ("maintenance", None, "up", "Office: MAINTENANCE since"),
    ("degraded", None, "fail", "Office: DEGRADED since"),
    ("down", "isp", "fail", "Office: DOWN (internet provider) since"),
    ("down", "dns", "fail", "Office: DOWN (DNS) since"),
    ("lan_down", "lan", "fail", "Office: DOWN (local network fault) since"),
])
def test_a_failing_state_is_a_fail_with_its_cause_and_the_others_are_up(
    state: str, kind: str | None, signal: str, headline: str
) -> None:
    ping = state_ping("Office", view(state, kind=kind, cause="3 of 3 targets silent"), (),
                      PARIS, NOW)
    assert ping.signal == signal and ping.state == state
    lines = ping.message.splitlines()
    assert lines == [f"{headline} 2026-12-06 14:02:05+01:00 (45 min 5 s)",
                     "3 of 3 targets silent"]
    assert ping.reported_outage is None


OUTAGES = (
    EndedOutage(7, DEFAULT_LINK, "isp", SINCE, NOW - timedelta(minutes=1),
                "the gateway answers but 3 of 3 internet targets do not answer"),
    EndedOutage(9, "backup", "lan", datetime(2026, 12, 5, 22, 0, tzinfo=UTC),
                datetime(2026, 12, 6, 0, 30, tzinfo=UTC), "the gateway does not answer"),
)


def test_the_recovery_leads_with_the_summary_of_each_outage_since_the_last_report() -> None:
    ping = state_ping("Office", view("up", rtt_ms=12.4, cause="3 of 3 targets answer"),
                      OUTAGES, PARIS, NOW)
    assert ping.signal == "up" and ping.reported_outage == 9 and ping.rtt_ms == 12.4
    assert ping.message.splitlines() == [
        "Recovered from outage #7 (provider): 2026-12-06 14:02:05+01:00 to 14:46:10+01:00 "
        "(44 min 5 s): the gateway answers but 3 of 3 internet targets do not answer",
        "Recovered from outage #9 (LAN fault) on link backup: 2026-12-05 23:00:00+01:00 to "
        "2026-12-06 01:30:00+01:00 (2 h 30 min): the gateway does not answer",
        "Office: UP since 2026-12-06 14:02:05+01:00 (45 min 5 s)",
        "3 of 3 targets answer",
        "median round trip 12 ms",
    ]


def test_a_maintenance_window_is_up_and_says_until_when_and_why() -> None:
    works = LinkView(DEFAULT_LINK, "maintenance", SINCE, "fibre operator's planned works",
                     until=NOW + timedelta(hours=1))
    ping = state_ping("Office", works, (), PARIS, NOW)
    assert ping.signal == "up" and ping.state == "maintenance"
    assert ping.message.splitlines()[1] == (
        "maintenance until 2026-12-06 15:47:10+01:00: fibre operator's planned works")


def test_a_failing_ping_keeps_the_summaries_for_the_recovery() -> None:
    ping = state_ping("Office", view("down", kind="isp"), OUTAGES, PARIS, NOW)
    assert ping.signal == "fail" and ping.reported_outage is None
    assert "Recovered" not in ping.message


def test_another_link_is_named() -> None:
    ping = state_ping("Office", view("down", link="4g", kind="isp"), (), PARIS, NOW)
    assert ping.message.splitlines()[0].endswith("(45 min 5 s) on link 4g")
    assert outage_summary(OUTAGES[0], UTC).startswith(
        "Recovered from outage #7 (provider): 2026-12-06 13:02:05+00:00 to 13:46:10+00:00")


def test_the_start_and_the_stop_say_what_the_silence_means() -> None:
    start = start_ping("Office", [DEFAULT_LINK, "4g"], timedelta(minutes=1))
    assert start.signal == "start" and start.state is None
    assert "started, watching default, 4g; a heartbeat every 1 min" in start.message
    stop = stop_ping("Office")
    assert stop.signal == "log"
    assert "goes down after its grace period" in stop.message
