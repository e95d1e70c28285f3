"""The path check in classification and tracking: behind a router that fails over by itself,
the line is down while its traffic takes another path, and only then."""

from __future__ import annotations

from dataclasses import replace

from tests.link.cycles import cycle
from tests.link.test_tracker import POLICY, run, steady
from watchdog.link.classify import Policy, classify
from watchdog.vocabulary import CAUSE_OTHER_PATH

PATH_POLICY = replace(POLICY, path_check=True)


def test_a_path_check_that_sees_another_path_makes_the_line_down_on_the_other_path() -> None:
    seen = classify(cycle(0, path="b"), PATH_POLICY, path=cycle(0, path="b").of_kind("path"))
    assert (seen.state, seen.outage_kind, seen.other_path) == ("down", "isp", True)
    assert seen.basis == frozenset({"path"})
    assert seen.evidence["cause"]["code"] == CAUSE_OTHER_PATH
    assert "leaves through another path (public address 198.51.100.5): the line" in seen.cause


def test_a_path_check_without_an_answer_or_one_seeing_the_line_says_nothing_against_it(
) -> None:
    for spec in ("?", "f", "fb", "b?f", "??"):
        results = cycle(0, path=spec).of_kind("path")
        assert classify(cycle(0), PATH_POLICY, path=results).state == "up", spec
    results = cycle(0, path="b?").of_kind("path")
    assert classify(cycle(0), PATH_POLICY, path=results).other_path


def test_pings_failing_outweigh_the_path() -> None:
    seen = classify(cycle(0, "---"), PATH_POLICY, path=cycle(0, path="b").of_kind("path"))
    assert (seen.state, seen.other_path) == ("down", False)


def test_a_failover_is_confirmed_on_path_checks_and_back_dated_to_the_first() -> None:
    # Path checks every 5 s, retried every second once one sees the backup.
    cycles = [cycle(0, path="f"), cycle(1), cycle(2), cycle(5, path="b"), cycle(6, path="b"),
              cycle(7, path="b"), cycle(8)]
    result = run(cycles, PATH_POLICY)
    assert result.path == [("up", 0), ("down/isp", 5)]
    assert result.state.other_path and result.transitions[-1].evidence["cause"]["code"] == (
        CAUSE_OTHER_PATH)


def test_pings_between_path_checks_neither_confirm_nor_dismiss_a_failover_nor_end_it(
) -> None:
    cycles = [cycle(0, path="f"), cycle(5, path="b"), *steady(6, 20), cycle(20, path="b"),
              *steady(21, 30), cycle(30, path="b"), *steady(31, 40)]
    result = run(cycles, PATH_POLICY)
    # Three path checks in a row saw the backup: back-dated to the first.
    assert result.path == [("up", 0), ("down/isp", 5)]
    assert result.state.state == "down" and result.state.other_path


def test_one_path_check_seeing_the_backup_while_pings_leave_over_the_line_is_no_outage(
) -> None:
    cycles = [cycle(0, path="f"), cycle(5, path="b"), cycle(6, path="f"), cycle(10, path="?"),
              cycle(15, path="?"), cycle(16, path="?"), cycle(17, path="?"), cycle(20, path="f")]
    assert run(cycles, PATH_POLICY).path == [("up", 0)]


def test_the_line_is_back_when_a_fresh_path_check_sees_it_again() -> None:
    cycles = [cycle(0, path="b"), cycle(1, path="b"), cycle(2, path="b"), *steady(3, 10),
              cycle(10, path="f"), cycle(11, path="f"), cycle(12, path="f")]
    assert run(cycles, PATH_POLICY).path == [("down/isp", 0), ("up", 10)]


def test_the_backup_dying_too_cuts_the_site_off_and_its_return_waits_for_the_path(
) -> None:
    cycles = [cycle(0, path="f"), cycle(1, path="b"), cycle(2, path="b"), cycle(3, path="b"),
              *steady(4, 10, step=1, pings="---"),
              # The backup is back but the line is not: pings answer, the path says so.
              cycle(10), cycle(11), cycle(12), cycle(13, path="b"), cycle(14, path="b"),
              cycle(15, path="b"), *steady(16, 20, step=1)]
    result = run(cycles, PATH_POLICY)
    assert result.path == [("up", 0), ("down/isp", 1), ("down/isp", 4), ("down/isp", 13)]
    assert [t.evidence["cause"]["code"] for t in result.transitions[1:]] == [
        CAUSE_OTHER_PATH, "isp", CAUSE_OTHER_PATH]


def test_without_a_path_check_pings_alone_end_an_outage_as_before() -> None:
    cycles = [*steady(0, 6, pings="---"), *steady(6, 12)]
    assert run(cycles, Policy()).path == [("down/isp", 0), ("up", 6)]
