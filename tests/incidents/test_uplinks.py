"""Several uplinks: each uplink's outages open tickets with its own provider's backends, with
its own line and GTR in the messages, which say whether the office is still online."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.incidents.conftest import make_config, query
from tests.store.store_helpers import T0, at, cycle, transition
from watchdog.config import Config
from watchdog.contract.terms import ContractTerms
from watchdog.delivery.render import Renderer
from watchdog.incidents.routing import ticket_backends
from watchdog.incidents.service import IncidentService
from watchdog.store.writer import Store
from watchdog.vocabulary import CAUSE_OTHER_PATH

UPLINKS = """
[[tickets.email]]
name = "mobile"
smtp = "relay"
to = ["support@mobile.example"]

[[uplink]]
name = "fibre"
kind = "fibre"
interface = "eth0"
tickets = ["isp", "it"]

[[uplink]]
name = "4g"
kind = "4g"
interface = "wwan0"
tickets = ["mobile", "it"]

[uplink.isp]
name = "Mobile Co"
line_id = "+33 6 00 00 00 00"
gtr = "8h"
"""
OPEN_AFTER = 130  # seconds: the config's open_after (2 min) and a cycle


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, UPLINKS)


@pytest.fixture
def store(tmp_path: Path, config: Config) -> Iterator[Store]:
    with Store.open(tmp_path / "watchdog.db") as opened:
        service = IncidentService(config)
        opened.on_cycle = service.after_cycle
        for link in config.links:
            opened.resume(T0, timedelta(seconds=2), link=link.name)
        yield opened


def record(store: Store, link: str, seconds: float, state: str = "", kind: str | None = None,
           evidence: dict[str, Any] | None = None) -> None:
    changes = []
    if state:
        change = transition(state, at(seconds), kind)  # type: ignore[arg-type]
        if evidence is not None:
            change = type(change)(change.state, change.at, change.cause, change.outage_kind,
                                  evidence, change.after, change.by)
        changes.append(change)
    store.record_cycle(cycle(at(seconds), ok=state != "down"), changes, [], at(seconds),
                       link=link)


def outbox(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    return [(channel, event, json.loads(context)) for channel, event, context in query(
        store, "SELECT channel, event, context FROM outbox ORDER BY id")]


def test_each_uplink_has_its_own_ticket_backends(config: Config) -> None:
    assert ticket_backends(config, "isp", "fibre") == ["isp"]
    assert ticket_backends(config, "isp", "4g") == ["mobile"]
    assert ticket_backends(config, "lan", "4g") == ["it"]
    # A link the config does not list (and a call without one) takes every backend.
    assert ticket_backends(config, "isp", "gone") == ["isp", "mobile"]
    assert ticket_backends(config, "isp") == ["isp", "mobile"]


def test_a_backup_uplinks_outage_goes_to_its_own_provider_with_its_own_line(
    store: Store, config: Config
) -> None:
    record(store, "fibre", 0, "up")
    record(store, "4g", 0, "up")
    record(store, "4g", 10, "down", "isp")
    record(store, "4g", 10 + OPEN_AFTER)
    sent = outbox(store)
    tickets = [(channel, context) for channel, event, context in sent if event == "ticket_open"]
    assert [channel for channel, _ in tickets] == ["mobile"]
    context = tickets[0][1]
    assert context["isp"]["name"] == "Mobile Co" and context["isp"]["gtr_s"] == 8 * 3600
    assert context["uplink"] == {"name": "4g", "kind": "4g", "primary": False, "several": True,
                                 "site_state": "up", "carrier": "fibre"}
    opened = [context for channel, event, context in sent
              if (channel, event) == ("management", "ticket_opened")]
    assert opened[0]["sent_to"] == ["mobile"]
    # The 4G's GTR is its own provider's (8 h), counted as [contract] counts it.
    assert ContractTerms.from_config(config, "4g").gtr == timedelta(hours=8)
    assert ContractTerms.from_config(config, "fibre").gtr == timedelta(hours=4)


def test_a_fibre_cut_with_the_4g_up_says_the_office_is_on_backup(
    store: Store, config: Config, tmp_path: Path
) -> None:
    record(store, "fibre", 0, "up")
    record(store, "4g", 0, "up")
    record(store, "fibre", 10, "down", "isp")
    record(store, "fibre", 10 + OPEN_AFTER)
    sent = outbox(store)
    ticket = next(context for _, event, context in sent if event == "ticket_open")
    assert ticket["isp"]["line_id"] == "FTTH-42"
    assert ticket["uplink"]["site_state"] == "on_backup" and ticket["uplink"]["carrier"] == "4g"
    assert [channel for channel, event, _ in sent if event == "ticket_open"] == ["isp"]
    renderer = Renderer("en", config_zone(config), None)
    notice = next(context for channel, event, context in sent
                  if (channel, event) == ("management", "ticket_opened"))
    email = renderer.email(notice, at(200))
    body = email.text
    assert email.subject.startswith("[Example Office] Uplink fibre down since 12:00"), email
    assert "Office:            online through the backup uplink 4g" in body, body
    assert "Uplink:            fibre (fibre)" in body, body
    french = Renderer("fr", config_zone(config), None).email(ticket, at(200)).text
    assert "Accès :" in french and "fibre (fibre)" in french, french


def test_a_primary_down_on_another_path_is_on_backup_through_its_own_router(
    store: Store
) -> None:
    record(store, "fibre", 0, "up")
    record(store, "4g", 0, "down", "isp")
    record(store, "fibre", 10, "down", "isp", evidence={"cause": {"code": CAUSE_OTHER_PATH}})
    record(store, "fibre", 10 + OPEN_AFTER)
    ticket = next(context for _, event, context in outbox(store)
                  if event == "ticket_open" and context["uplink"]["name"] == "fibre")
    assert ticket["uplink"]["site_state"] == "on_backup"
    assert ticket["uplink"]["carrier"] == "fibre"
    assert query(store, "SELECT cause_code FROM state_interval WHERE ended_at IS NULL "
                        "ORDER BY link_id") == [(CAUSE_OTHER_PATH,), (None,)]


def config_zone(config: Config) -> Any:
    from watchdog.config.zone import site_zone

    return site_zone(config)
