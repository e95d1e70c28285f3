"""The site's state and the link its messages leave through, from its links' states."""

from __future__ import annotations

import pytest

from watchdog.link.site import LinkView, carrier, site_state
from watchdog.vocabulary import LinkState, SiteState


def views(primary: LinkState, *others: LinkState, other_path: bool = False) -> list[LinkView]:
    return [LinkView("fibre", primary, True, other_path=other_path),
            *(LinkView(f"backup-{number}", state, False)
              for number, state in enumerate(others, start=1))]


@pytest.mark.parametrize(("primary", "others", "site"), [
    ("up", (), "up"),
    ("degraded", ("down",), "up"),
    ("down", (), "down"),
    ("lan_down", ("down",), "down"),
    ("down", ("up",), "on_backup"),
    ("lan_down", ("degraded",), "on_backup"),
    ("down", ("down", "up"), "on_backup"),
    ("maintenance", (), "maintenance"),
    ("maintenance", ("up",), "on_backup"),
    ("unknown", ("up",), "unknown"),
    ("down", ("unknown",), "down"),
])
def test_the_site_follows_its_primary_and_its_backups(primary: LinkState,
                                                      others: tuple[LinkState, ...],
                                                      site: SiteState) -> None:
    assert site_state(views(primary, *others)) == site


def test_a_primary_down_behind_a_router_that_failed_over_leaves_the_site_on_backup() -> None:
    assert site_state(views("down", other_path=True)) == "on_backup"
    assert carrier(views("down", other_path=True)) == LinkView("fibre", "down", True, True)
    # Its router's own backup path comes after a backup uplink of the site's own.
    assert carrier(views("down", "up", other_path=True)) == LinkView("backup-1", "up", False)


def test_messages_leave_through_the_primary_while_it_works_else_the_first_working_backup(
) -> None:
    assert carrier(views("degraded", "up")) == LinkView("fibre", "degraded", True)
    assert carrier(views("down", "down", "up", "up")) == LinkView("backup-2", "up", False)
    assert carrier(views("down", "lan_down")) is None
    assert site_state([]) == "unknown" and carrier([]) is None


def test_without_a_link_marked_primary_the_first_one_is() -> None:
    links = [LinkView("a", "down", False), LinkView("b", "up", False)]
    assert site_state(links) == "on_backup" and carrier(links) == links[1]
