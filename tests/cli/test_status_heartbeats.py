"""``watchdog status`` shows each heartbeat's last send: when, what, to which server (never
the URL), and what the service said; without reading the secret."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from tests.cli.conftest import LOOPBACK_CONFIG
from tests.store.store_helpers import at, cycle, transition
from watchdog.cli import main
from watchdog.store import heartbeat_pings
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

HEARTBEATS = """
[[heartbeat]]
name = "healthchecks"
url_file = "only-the-service-reads-this"

[[heartbeat]]
name = "kuma"
style = "uptime_kuma"
url_env = "NOT_SET_FOR_STATUS"
"""
HOST = "https://hc-ping.com"


@pytest.fixture
def with_heartbeats(config: Path) -> Path:
    """A running daemon's database: up, and the healthchecks heartbeat's sends."""
    config.write_text(LOOPBACK_CONFIG + HEARTBEATS)
    with Store.open(config.parent / "watchdog.db") as store:
        store.resume(at(0), timedelta(seconds=2), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(0)), [transition("up", at(0))], [], at(0), link=DEFAULT_LINK)
        store.record_cycle(cycle(at(598)), [], [], at(598), link=DEFAULT_LINK)
        for seconds, ok in ((540, True), (600, False)):
            with store.write() as session:
                heartbeat_pings.record(
                    session, "healthchecks", style="healthchecks", host=HOST,
                    sent_at=at(seconds), signal="up", state="up", ok=ok,
                    answer="HTTP 200 OK" if ok else "",
                    error=None if ok else f"{HOST} did not answer within 10 s",
                    reported_outage_id=0)
    return config


def test_status_shows_each_heartbeats_last_send_and_the_one_never_sent(
    with_heartbeats: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(at(612), tick=False):
        assert main(["status", "--config", str(with_heartbeats)]) == 0
        out = capsys.readouterr().out
        assert main(["status", "--json", "--config", str(with_heartbeats)]) == 0
        data = json.loads(capsys.readouterr().out)
    lines = out.splitlines()
    start = lines.index("Heartbeats (dead-man's switch)")
    assert lines[start + 1:start + 3] == [
        f"  healthchecks  up sent 13:10:00 (12 s ago) to {HOST}: NOT TAKEN: {HOST} did not "
        "answer within 10 s (last taken 13:09:00)",
        "  kuma          not sent yet (uptime_kuma)",
    ]
    assert data["heartbeats"] == [
        {"name": "healthchecks", "style": "healthchecks", "host": HOST, "signal": "up",
         "state": "up", "sent_at": "2025-03-01T13:10:00+01:00", "ok": False, "answer": "",
         "error": f"{HOST} did not answer within 10 s",
         "last_ok_at": "2025-03-01T13:09:00+01:00"},
        {"name": "kuma", "style": "uptime_kuma", "host": None, "signal": None, "state": None,
         "sent_at": None, "ok": None, "answer": None, "error": None, "last_ok_at": None},
    ]


def test_status_without_heartbeats_says_nothing_of_them(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(config.parent / "watchdog.db") as store:
        store.resume(at(0), timedelta(seconds=2), link=DEFAULT_LINK)
    with time_machine.travel(at(1), tick=False):  # no cycle recorded yet: unknown (3)
        assert main(["status", "--config", str(config)]) == 3
        assert "Heartbeats" not in capsys.readouterr().out
        assert main(["status", "--json", "--config", str(config)]) == 3
        assert json.loads(capsys.readouterr().out)["heartbeats"] == []
