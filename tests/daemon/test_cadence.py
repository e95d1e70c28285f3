"""When the daemon probes next and which checks are due (pure)."""

from __future__ import annotations

from datetime import timedelta

from tests.link.cycles import at
from watchdog.daemon.cadence import Cadence

CADENCE = Cadence(timedelta(seconds=2), timedelta(seconds=1), timedelta(seconds=30))


def test_the_next_cycle_starts_one_interval_after_this_one_started() -> None:
    assert CADENCE.next_cycle_at(at(0), at(0.3), suspect=False) == at(2)


def test_a_suspected_change_is_reprobed_at_the_retry_interval() -> None:
    assert CADENCE.next_cycle_at(at(0), at(0.3), suspect=True) == at(1)


def test_a_cycle_longer_than_the_interval_is_followed_at_once_not_overlapped() -> None:
    assert CADENCE.next_cycle_at(at(0), at(5), suspect=False) == at(5)


def test_a_clock_stepping_back_during_a_cycle_does_not_stall_the_next() -> None:
    assert CADENCE.next_cycle_at(at(100), at(40), suspect=False) == at(42)


def test_checks_are_due_at_start_then_every_check_interval() -> None:
    assert CADENCE.check_due("dns", at(0), None, ())
    assert not CADENCE.check_due("dns", at(28), at(0), ())
    # Half a ping interval early is due, so a check never slips a whole cycle late.
    assert CADENCE.check_due("dns", at(29), at(0), ())
    assert CADENCE.check_due("dns", at(30), at(0), ())


def test_a_check_needed_to_confirm_a_change_is_due_at_once() -> None:
    assert CADENCE.check_due("dns", at(3), at(0), {"ping", "dns"})
    assert not CADENCE.check_due("http", at(3), at(0), {"ping", "dns"})


def test_a_clock_stepping_back_makes_checks_due() -> None:
    assert CADENCE.check_due("http", at(0), at(3600), ())
