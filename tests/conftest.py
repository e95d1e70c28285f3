"""Rules and fixtures for the whole suite: under ``.ci/run`` no test skips (see
``tests/environment.py``); what a test needs to ping from the host's own namespace."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.environment import REQUIRE_ALL, raw_sockets_problem, require, requiring_all, unavailable


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under ``WATCHDOG_TESTS_REQUIRE_ALL`` a skip that did not go through ``require`` (a
    ``pytest.skip`` or ``skipif`` added later, a test skipped for want of another's result)
    fails too, with its reason: a CI run cannot pass by skipping."""
    report = yield
    if report.skipped and requiring_all() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped ({reason}), but {REQUIRE_ALL} is set: no test may skip"
    return report


# The folders whose tests run on real time (a lab's cuts, a real install, a bench part, the
# short robustness suites): run first, so that under ``make test``'s two workers the short
# tests fill the gaps between them instead of one worker finishing a long test alone at the end.
LONG_TEST_FOLDERS = ("e2e", "bench", "systemd", "soak")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the long tests first (a stable sort: each group keeps its own order)."""
    tests_dir = Path(__file__).parent
    long_dirs = [tests_dir / name for name in LONG_TEST_FOLDERS]
    items.sort(key=lambda item: not any(folder in item.path.parents for folder in long_dirs))


@pytest.fixture(scope="session")
def host_ping_mode() -> bool:
    """The ping mode this test process may use in the host's namespace: True for raw sockets,
    False for datagram ones (``detect_ping_mode``); a test that pings needs one of them."""
    from watchdog.errors import SetupError
    from watchdog.probes.ping import detect_ping_mode

    try:
        return detect_ping_mode()
    except SetupError as why:
        unavailable(f"this process may not ping: {why}")


@pytest.fixture
def raw_sockets() -> None:
    """For tests that ping with raw ICMP sockets (``privileged=True``): root or CAP_NET_RAW."""
    require(raw_sockets_problem())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module's tests (``tests/browser.py``)."""
    from tests.browser import launched, require_chromium

    require_chromium("a page")
    yield from launched()


@pytest.fixture(autouse=True)
def _config_check_as_this_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """``config check`` run by root checks files as the service's user when it exists, and
    the install test creates that user for a while (another checkout's run on this machine
    too): here files are checked as the test's own user, unless a test names one (--user)."""
    monkeypatch.setattr("watchdog.config.service_account.SERVICE_USER", "")


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """structlog's defaults back after each test. A test that configures the daemon's logging
    (``cache_logger_on_first_use``) would otherwise let the next tests' first log calls bind
    the package's module-level loggers for good, and ``capture_logs`` in any later test of the
    same worker would see nothing from them."""
    yield
    import structlog

    structlog.reset_defaults()
