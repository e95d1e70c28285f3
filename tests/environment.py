"""What the tests need from the machine, and the one rule for when it is missing.

A test that cannot run here for lack of root, network namespaces, raw sockets, a system command
(``systemd-analyze``, ``nft``, ...) or ``python3-venv`` calls ``require(reason)`` with why not
(``None``: it can run), or ``unavailable(reason)`` where it already knows it cannot. On a
developer's machine the test skips and says why. Under ``.ci/run``, which sets
``WATCHDOG_TESTS_REQUIRE_ALL=1``, it fails with the same reason instead: CI installs everything
the tests need (``make test`` runs ``make system-deps``) and runs as root, so a skip there would
be a claim left untested. ``tests/conftest.py`` holds every other skip to that rule.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

# Set by .ci/run: no test may skip.
REQUIRE_ALL = "WATCHDOG_TESTS_REQUIRE_ALL"


def requiring_all() -> bool:
    """True when ``WATCHDOG_TESTS_REQUIRE_ALL`` is set (to anything but "" or "0")."""
    return os.environ.get(REQUIRE_ALL, "") not in ("", "0")


def require(reason: str | None) -> None:
    """Go on when ``reason`` is None; else ``unavailable(reason)``."""
    if reason is not None:
        unavailable(reason)


def unavailable(reason: str) -> NoReturn:
    """Skip the test with ``reason`` or, when ``requiring_all()``, fail it with ``reason``
    (raises pytest's skip or fail outcome)."""
    if requiring_all():
        pytest.fail(f"{reason} ({REQUIRE_ALL} is set, as .ci/run does: this machine must run "
                    "every test; run the tests as root after make system-deps)", pytrace=False)
    # Reported at the test's own line, not at this one (as a skip mark is): the summary of
    # ``-rs`` then tells the tests apart instead of counting them all under this file.
    raise pytest.skip.Exception(reason, _use_item_location=True)


def raw_sockets_problem() -> str | None:
    """None when this process may open raw ICMP sockets (root or CAP_NET_RAW), else why not."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return "needs root or CAP_NET_RAW for raw ICMP sockets"
    return None
