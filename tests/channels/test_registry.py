"""A provider added from the test suite alone: its own file (this one) and one ``register``.

``Pager`` is a notification channel that pages a phone number with a message's subject. Once
registered it is read from ``[[notify.pager]]`` with the loader's own checks and messages,
routed by its ``events``, built by ``build_senders``, delivered through the real outbox and
worker with its own error classification, and listed by ``notify-test`` and
``Config.channel_names``: nothing in ``watchdog/`` names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import structlog

from tests.config.test_config import MINIMAL, problems_of, write
from tests.incidents.conftest import query
from tests.incidents.test_lifecycle import down, up
from tests.store.store_helpers import at
from watchdog.channels import registry
from watchdog.channels.errors import DeliveryError
from watchdog.channels.provider import (
    MessageRenderer,
    NotifyChannel,
    Outgoing,
    Sent,
    all_events,
)
from watchdog.cli import main
from watchdog.config import Config, dump_config, load_config
from watchdog.config.zone import site_zone
from watchdog.delivery.senders import build_senders
from watchdog.delivery.worker import Deliverer
from watchdog.errors import EX_USAGE
from watchdog.incidents.routing import notify_channels
from watchdog.store.writer import Store
from watchdog.vocabulary import NotifyEvent

PAGER = """
[storage]
database = "watchdog.db"

[[notify.pager]]
name = "on-call"
number = "+33600000000"
events = ["outage_started", "recovered", "test"]
"""


class GatewayBusy(Exception):
    """The paging gateway's own way of saying "later"."""


class NumberRefused(Exception):
    """The paging gateway's own way of saying "never"."""


@dataclass(frozen=True)
class PagerConfig:
    name: str
    number: str
    events: list[NotifyEvent] = field(default_factory=all_events)


@dataclass
class PagerSender:
    """Pages ``number`` with the subject; fails with ``failures`` first, one per attempt."""

    name: str
    number: str
    renderer: MessageRenderer
    pages: list[tuple[str, str]]
    failures: list[Exception]

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        subject = self.renderer.email(outgoing.context, sent_at).subject
        self.pages.append((self.number, subject))
        return Sent(f"paged {self.number}")


class Pager(NotifyChannel[PagerConfig]):
    key = "pager"
    config_type = PagerConfig

    def __init__(self) -> None:
        self.pages: list[tuple[str, str]] = []
        self.failures: list[Exception] = []

    def problems(self, entry: PagerConfig, where: str, config: Config) -> list[tuple[str, str]]:
        if entry.number.startswith("+"):
            return []
        return [(f"{where}.number", f"{entry.number!r} is not an international number; "
                 "write it as \"+33600000000\"")]

    def build_sender(
        self, entry: PagerConfig, config: Config, renderer: MessageRenderer
    ) -> PagerSender:
        return PagerSender(entry.name, entry.number, renderer, self.pages, self.failures)

    def classify(self, error: Exception) -> DeliveryError | None:
        if isinstance(error, GatewayBusy):
            return DeliveryError("the paging gateway is busy", permanent=False, retry_after=30)
        if isinstance(error, NumberRefused):
            return DeliveryError("the paging gateway refused the number; fix notify.pager",
                                 permanent=True)
        return super().classify(error)


@pytest.fixture
def pager() -> Iterator[Pager]:
    provider = Pager()
    registry.register(provider)  # the one registry line
    yield provider
    registry.unregister(provider)


@pytest.fixture
def config(tmp_path: Path, pager: Pager) -> Config:
    return load_config(write(tmp_path, MINIMAL + PAGER))


def outbox(store: Store) -> list[tuple[object, ...]]:
    return query(store, "SELECT channel, event, status, attempts, last_error FROM outbox "
                        "ORDER BY id")


def test_it_is_read_from_its_own_table_and_listed_with_the_channels(
    config: Config, pager: Pager
) -> None:
    assert config.notify.pager == [
        PagerConfig("on-call", "+33600000000", ["outage_started", "recovered", "test"])]
    assert config.channel_names() == ["on-call"]
    assert "[[notify.pager]]" in dump_config(config)


def test_its_table_is_checked_like_every_other(tmp_path: Path, pager: Pager) -> None:
    file = tmp_path / "watchdog.toml"
    assert problems_of(tmp_path, MINIMAL + PAGER.replace("number =", "numbr =")) == [
        f"{file}: notify.pager[0].numbr: unknown key; did you mean \"number\"? "
        "(allowed here: name, number, events)",
        f"{file}: notify.pager[0].number: is required; add it",
    ]
    assert problems_of(tmp_path, MINIMAL + PAGER.replace("+33600000000", "0600000000")) == [
        f"{file}: notify.pager[0].number: '0600000000' is not an international number; "
        'write it as "+33600000000"']
    (unknown,) = problems_of(tmp_path, MINIMAL + "[[notify.sms]]\nname = \"x\"\n")
    assert unknown.endswith(
        "notify.sms: unknown key; (allowed here: email, webhook, command, apprise, pager)")


def test_it_gets_the_events_it_lists(config: Config) -> None:
    assert notify_channels(config, "outage_started") == ["on-call"]
    assert notify_channels(config, "ticket_opened") == []


def test_it_is_delivered_through_the_outbox_with_its_own_classification(
    config: Config, store: Store, pager: Pager
) -> None:
    now = at(20)
    deliverer = Deliverer(store, build_senders(config, site_zone(config)), now=lambda: now)
    pager.failures.append(GatewayBusy())
    up(store, 0)
    down(store, 10)

    # Busy: transient, retried after the gateway's Retry-After, not before.
    assert deliverer.deliver("on-call") == 0
    assert outbox(store) == [
        ("on-call", "outage_started", "pending", 1, "the paging gateway is busy")]
    now = at(49)
    assert deliverer.deliver("on-call") == 0
    now = at(51)
    assert deliverer.deliver("on-call") == 1
    ((number, subject),) = pager.pages  # rendered by the shared templates
    assert (number, subject) == ("+33600000000", "[Office] Internet down since 12:00 (ISP side)")

    # Refused: permanent, the message fails with the error on the incident's timeline.
    pager.failures.append(NumberRefused())
    up(store, 60)
    now = at(70)
    assert deliverer.deliver("on-call") == 0
    assert outbox(store)[-1] == ("on-call", "recovered", "failed", 1,
                                 "the paging gateway refused the number; fix notify.pager")
    (failed,) = query(store, "SELECT text, channel FROM incident_event WHERE kind = 'failed'")
    assert failed == ("recovered could not be delivered: the paging gateway refused the number; "
                      "fix notify.pager", "on-call")


def test_notify_test_pages_it_and_knows_its_name(
    config: Config, store: Store, pager: Pager, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(config.source)
    try:
        assert main(["notify-test", "--config", path]) == 0
        assert main(["notify-test", "--config", path, "--channel", "nope"]) == EX_USAGE
    finally:
        structlog.reset_defaults()  # notify-test configures logging for its process
    out, err = capsys.readouterr()
    assert out == "on-call: ok — paged +33600000000\n"
    assert err == "watchdog: no channel 'nope' (known: on-call)\n"
    (page,) = pager.pages
    assert 'Test message from the internet watchdog (channel "on-call")' in page[1]
    (context,) = query(store, "SELECT context FROM outbox WHERE event = 'test'")
    assert json.loads(context[0])["channel"] == "on-call"
