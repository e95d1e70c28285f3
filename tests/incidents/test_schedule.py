"""The escalation schedule: steps in time order, the GTR where the contract puts it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchdog.incidents.schedule import due_steps, scheduled

START = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
STEPS = ["gtr", "24h", "72h"]


def hours(value: float) -> datetime:
    return START + timedelta(hours=value)


def test_a_24_7_gtr_comes_first() -> None:
    assert scheduled(START, STEPS, hours(4)) == [
        ("gtr", hours(4)), ("24h", hours(24)), ("72h", hours(72))]


def test_a_business_hours_gtr_may_come_after_the_24h_step() -> None:
    # Friday 17:00 Paris + 4 business hours: Monday 11:00, 66 h later.
    due = due_steps(START, hours(70), STEPS, hours(66), timedelta(hours=24), done=0)
    assert [(step.number, step.label, step.due_at, step.is_gtr) for step in due] == [
        (1, "24h", hours(24), False), (2, "gtr", hours(66), True)]
    assert due[1].offset == timedelta(hours=66)


def test_a_gtr_clock_not_started_leaves_the_gtr_step_out() -> None:
    assert scheduled(START, STEPS, None) == [("24h", hours(24)), ("72h", hours(72))]


def test_steps_due_at_the_same_time_are_taken_once() -> None:
    assert scheduled(START, ["gtr", "24h"], hours(24)) == [("gtr", hours(24))]


def test_reminders_repeat_after_the_last_step_whichever_it_is() -> None:
    due = due_steps(START, hours(150), STEPS, hours(100), timedelta(hours=24), done=3)
    assert [(step.number, step.label, step.due_at) for step in due] == [
        (4, "+5d4h", hours(124)), (5, "+6d4h", hours(148))]
