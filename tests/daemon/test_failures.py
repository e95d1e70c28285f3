"""The daemon's jobs' failures, each said once: a full database fails every job alike."""

from __future__ import annotations

import pytest
import structlog
from structlog.testing import capture_logs

from watchdog.daemon import failures as failures_module
from watchdog.daemon.failures import FailureLog

FULL = OSError("Cannot write the database /var/lib/wd/watchdog.db (database or disk is full)")


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A logger bound under ``capture_logs``: the module's own may have been bound for good by
    an earlier test of this worker that configured logging with caching."""
    monkeypatch.setattr(failures_module, "log", structlog.get_logger("watchdog.daemon"))


def said(logs: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(entry["log_level"], entry["event"], entry.get("failed_runs")) for entry in logs]


def test_the_same_error_from_every_job_is_one_error_line_then_each_job_says_it_recovered(
) -> None:
    failures = FailureLog()
    with capture_logs() as logs:
        failures.failed("cycle:default", "cycle_failed", FULL, link="default")
        failures.failed("cycle:default", "cycle_failed", FULL, link="default")
        failures.failed("maintenance", "maintenance_failed", FULL)
        failures.failed("clock_check", "clock_check_failed", FULL)
        failures.succeeded("cycle:default", "cycle_recovered", link="default")
        failures.succeeded("maintenance", "maintenance_recovered")
        failures.succeeded("maintenance", "maintenance_recovered")  # not failing: silent
    assert said(logs) == [
        ("error", "cycle_failed", None), ("debug", "cycle_failed_again", 2),
        ("debug", "maintenance_failed_again", 1), ("debug", "clock_check_failed_again", 1),
        ("info", "cycle_recovered", 2), ("info", "maintenance_recovered", 1)]
    assert logs[0]["error"] == str(FULL) and logs[0]["link"] == "default"


def test_another_error_is_an_error_line_anew_and_a_fault_that_returns_is_said_again() -> None:
    failures = FailureLog()
    with capture_logs() as logs:
        failures.failed("cycle:default", "cycle_failed", FULL)
        failures.failed("cycle:default", "cycle_failed", OSError("read-only file system"))
        failures.succeeded("cycle:default", "cycle_recovered")
        failures.failed("cycle:default", "cycle_failed", FULL)
    assert said(logs) == [("error", "cycle_failed", None), ("error", "cycle_failed", None),
                          ("info", "cycle_recovered", 1), ("error", "cycle_failed", None)]
