"""Messages leave through the uplink the daemon picks: the delivery loop asks before each
attempt, and the mail and webhook transports bind their connections to it when the kernel
would send them through a default route. On loopback, 127.0.0.2 stands for the 4G uplink's
address: the servers see which address each message came from."""

from __future__ import annotations

import pytest

from tests.delivery.conftest import ISP_MAILBOX, RigFactory
from watchdog.binding import Binding

BACKUP = Binding(interface="lo", source="127.0.0.2")


@pytest.fixture
def internet_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test servers (on 127.0.0.1) count as reached through a default route."""
    monkeypatch.setattr("watchdog.probes.gateway.takes_default_route", lambda _address: True)


def test_messages_leave_through_the_uplink_the_route_names(
    rig: RigFactory, internet_everywhere: None
) -> None:
    made = rig()
    asked: list[int] = []

    def route() -> Binding:
        asked.append(1)
        return BACKUP

    made.deliverer.route = route
    made.up(0)
    made.down(10)
    made.tick(140)
    assert made.deliver() > 0
    assert [received.peer for received in made.received(ISP_MAILBOX)] == ["127.0.0.2"]
    assert {request.client for request in made.requests("/")} == {"127.0.0.2"}
    assert len(asked) == len(made.rows("status = 'sent'"))


def test_without_a_route_or_towards_the_lan_messages_take_the_default_route(
    rig: RigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = rig()
    made.deliverer.route = lambda: BACKUP
    # The servers are on the LAN (a route more specific than the default one): not bound.
    monkeypatch.setattr("watchdog.probes.gateway.takes_default_route", lambda _address: False)
    made.up(0)
    made.down(10)
    made.deliver()
    made.deliverer.route = None
    made.tick(140)
    made.deliver()
    peers = {received.peer for received in made.smtp.messages}
    assert peers == {"127.0.0.1"} and {r.client for r in made.requests("/")} == {"127.0.0.1"}
