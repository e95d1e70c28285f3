"""The route chooser: messages take the default route while the primary uplink carries the
traffic, and are bound to the backup uplink that does while it does not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from structlog.testing import capture_logs

from watchdog.binding import Binding
from watchdog.config.schema import GatewayConfig, LinkConfig
from watchdog.daemon.routes import RouteChooser
from watchdog.link.site import LinkView


def monitor(name: str, state: str, *, primary: bool, interface: str = "",
            other_path: bool = False) -> Any:
    link = LinkConfig(name, GatewayConfig(), primary=primary, interface=interface)
    view = LinkView(name, state, primary, other_path)  # type: ignore[arg-type]
    return SimpleNamespace(name=name, link=link, view=lambda: view)


def test_messages_take_the_default_route_while_the_primary_works() -> None:
    chooser = RouteChooser([monitor("fibre", "up", primary=True, interface="eth0"),
                            monitor("4g", "up", primary=False, interface="wwan0")])
    assert chooser.binding() is None


def test_messages_are_bound_to_the_backup_that_works_while_the_primary_is_down() -> None:
    chooser = RouteChooser([monitor("fibre", "down", primary=True, interface="eth0"),
                            monitor("adsl", "lan_down", primary=False, interface="eth2"),
                            monitor("4g", "degraded", primary=False, interface="wwan0")])
    with capture_logs() as logs:
        assert chooser.binding() == Binding(interface="wwan0")
        assert chooser.binding() == Binding(interface="wwan0")
    assert [(entry["event"], entry["uplink"]) for entry in logs] == [("messages_route", "4g")]


def test_behind_a_router_that_failed_over_or_with_nothing_working_the_default_route_stays(
) -> None:
    failed_over = RouteChooser([monitor("fibre", "down", primary=True, other_path=True)])
    assert failed_over.binding() is None
    with capture_logs() as logs:
        assert RouteChooser([monitor("fibre", "down", primary=True),
                             monitor("4g", "down", primary=False, interface="wwan0")]
                            ).binding() is None
    assert logs[0]["log_level"] == "warning" and logs[0]["uplink"] is None
