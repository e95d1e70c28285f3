"""Tables of cycles → expected transitions and blips for the pure link tracker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.link.cycles import at, cycle
from watchdog.link.classify import Policy
from watchdog.link.states import Blip, Transition
from watchdog.link.tracker import TrackerState, advance
from watchdog.probes.results import CycleResult

POLICY = Policy(confirm_down=3, confirm_up=3)


@dataclass
class Run:
    state: TrackerState
    transitions: list[Transition]
    blips: list[Blip]

    @property
    def path(self) -> list[tuple[str, float]]:
        """(state, seconds after T0) of every transition, outage kind appended to ``down``."""
        return [
            (t.state + (f"/{t.outage_kind}" if t.state == "down" else ""),
             (t.at - at(0)).total_seconds())
            for t in self.transitions
        ]


def run(
    cycles: list[CycleResult], policy: Policy = POLICY, start: TrackerState | None = None
) -> Run:
    state = start or TrackerState.start(cycles[0].started_at)
    transitions: list[Transition] = []
    blips: list[Blip] = []
    for one in cycles:
        before = state.since
        state, new_transitions, new_blips = advance(state, one, policy)
        for transition in new_transitions:
            assert_bracketed(transition, clamped_to=before)
        transitions += new_transitions
        blips += new_blips
    return Run(state, transitions, blips)


def assert_bracketed(transition: Transition, clamped_to: datetime) -> None:
    """Every transition the tracker makes has a ``by``; the back-dated instant lies in its
    bracket (unless it was clamped to the start of the state it ends)."""
    assert transition.by is not None
    assert transition.after is None or transition.after <= transition.by
    if transition.at != clamped_to:
        assert transition.after is None or transition.after <= transition.at
        assert transition.at <= transition.by


def steady(start: float, stop: float, step: float = 2.0, **spec: object) -> list[CycleResult]:
    out = []
    t = start
    while t < stop:
        out.append(cycle(t, **spec))  # type: ignore[arg-type]
        t += step
    return out


def test_it_reports_up_at_the_first_good_cycle_after_start() -> None:
    result = run([cycle(0), cycle(2)])
    assert result.path == [("up", 0)]
    assert result.state.state == "up"


def test_it_backdates_an_outage_to_the_first_failing_probe() -> None:
    cycles = [*steady(0, 10), cycle(10, "---"), cycle(11, "---"), cycle(12, "---"),
              *steady(14, 20, pings="---")]
    result = run(cycles)
    assert result.path == [("up", 0), ("down/isp", 10)]
    assert "the gateway 192.0.2.1 answers but 3 of 3 internet targets do not answer" in (
        result.transitions[-1].cause)
    assert result.blips == []


def test_it_backdates_recovery_to_the_first_succeeding_probe() -> None:
    cycles = [cycle(0), cycle(2, "---"), cycle(3, "---"), cycle(4, "---"), cycle(6, "---"),
              cycle(8), cycle(9), cycle(10), cycle(12)]
    assert run(cycles).path == [("up", 0), ("down/isp", 2), ("up", 8)]


def test_a_failure_shorter_than_the_confirmation_is_a_blip_not_an_outage() -> None:
    cycles = [cycle(0), cycle(2, "---"), cycle(3, "---"), cycle(4), cycle(6)]
    result = run(cycles)
    assert result.path == [("up", 0)]
    assert result.blips == [Blip("down", at(2), at(4), 2, result.blips[0].cause,
                                 start_after=at(0), start_by=at(2), end_after=at(3),
                                 end_by=at(4))]


def test_a_flapping_link_makes_blips_and_no_outage() -> None:
    cycles = [cycle(0)]
    for t in range(2, 40, 4):
        cycles += [cycle(t, "---"), cycle(t + 2)]
    result = run(cycles)
    assert result.path == [("up", 0)]
    assert len(result.blips) == 10
    assert all(blip.cycles == 1 for blip in result.blips)


def test_one_dead_target_of_three_is_degraded_never_down() -> None:
    result = run(steady(0, 120, pings="++-"))
    assert [state for state, _ in result.path] == ["degraded"]
    assert "ping3 (203.0.113.3): timeout (2 of 3 answer)" in result.transitions[0].cause


def test_two_dead_targets_of_three_are_not_an_outage_with_the_default_quorum() -> None:
    result = run(steady(0, 60, pings="+--"))
    assert [state for state, _ in result.path] == ["degraded"]


def test_a_quorum_of_two_makes_two_dead_targets_an_outage() -> None:
    result = run(steady(0, 20, pings="+--"), Policy(down_quorum=2))
    assert result.path == [("down/isp", 0)]


def test_a_silent_gateway_with_dead_targets_is_a_lan_fault() -> None:
    cycles = [cycle(0), cycle(2, "---", gw="-"), cycle(3, "---", gw="-"), cycle(4, "---", gw="-")]
    result = run(cycles)
    assert result.path == [("up", 0), ("lan_down", 2)]
    assert "local fault" in result.transitions[-1].cause
    assert result.transitions[-1].outage_kind == "lan"


def test_no_default_route_is_a_lan_fault() -> None:
    cycles = [cycle(0), *[cycle(t, "---", gw=None) for t in (2, 3, 4)]]
    result = run(cycles)
    assert result.path == [("up", 0), ("lan_down", 2)]
    assert "no default route" in result.transitions[-1].cause


def test_a_gateway_that_ignores_ping_while_the_internet_answers_is_up() -> None:
    result = run(steady(0, 10, gw="-"))
    assert result.path == [("up", 0)]
    assert "does not answer ping" in result.state.cause


def test_the_gateway_dying_during_an_isp_outage_turns_it_into_a_lan_fault() -> None:
    cycles = [cycle(0), *[cycle(t, "---") for t in (2, 3, 4, 6)],
              *[cycle(t, "---", gw="-") for t in (8, 9, 10, 12)]]
    assert run(cycles).path == [("up", 0), ("down/isp", 2), ("lan_down", 8)]


def test_a_link_alternating_between_down_and_degraded_is_degraded() -> None:
    cycles = [cycle(0), cycle(2, "---"), cycle(3, "++-"), cycle(4, "---"), cycle(5, "++-")]
    result = run(cycles)
    assert result.path == [("up", 0), ("degraded", 2)]


def test_failures_right_after_start_need_confirmation_and_are_backdated() -> None:
    cycles = [cycle(0, "---"), cycle(1, "---"), cycle(2, "---"), cycle(4, "---")]
    assert run(cycles).path == [("down/isp", 0)]


def test_a_good_cycle_after_failures_at_start_is_taken_at_once() -> None:
    result = run([cycle(0, "---"), cycle(1)])
    assert result.path == [("up", 1)]
    assert len(result.blips) == 1


def test_dns_failing_everywhere_while_pings_work_is_a_dns_outage() -> None:
    cycles = [cycle(0, dns="++"), cycle(2), cycle(30, dns="--"), cycle(31, dns="--"),
              cycle(32, dns="--"), cycle(34)]
    result = run(cycles)
    assert result.path == [("up", 0), ("down/dns", 30)]
    assert result.transitions[-1].outage_kind == "dns"


def test_ping_only_cycles_never_confirm_a_dns_verdict() -> None:
    cycles = [cycle(0, dns="++"), cycle(30, dns="--"), *steady(32, 58)]
    result = run(cycles)
    assert result.path == [("up", 0)]
    assert result.state.suspect
    assert result.state.retry_kinds() >= {"dns"}


def test_dns_failures_during_an_isp_outage_do_not_hold_back_recovery() -> None:
    cycles = [cycle(0, dns="++"), cycle(2, "---", dns="--"), cycle(3, "---"), cycle(4, "---"),
              cycle(6), cycle(7), cycle(8)]
    assert run(cycles).path == [("up", 0), ("down/isp", 2), ("up", 6)]


def test_one_resolver_failing_is_degraded() -> None:
    cycles = [cycle(0, dns="+-"), cycle(2)]
    result = run(cycles)
    assert result.path == [("degraded", 0)]


def test_a_failing_web_check_is_degraded_and_recovers_on_fresh_checks_only() -> None:
    cycles = [cycle(0, http="++"), cycle(1, http="+-"), cycle(2, http="+-"), cycle(3, http="+-"),
              cycle(5, http="++"), cycle(7), cycle(9), cycle(11, http="++"), cycle(12, http="++")]
    assert run(cycles).path == [("up", 0), ("degraded", 1), ("up", 5)]


def test_sustained_packet_loss_is_degraded() -> None:
    # Every target loses one echo request of two: 50 % loss, every target still answers.
    cycles = steady(0, 60, received=[1, 1, 1])
    result = run(cycles)
    assert [state for state, _ in result.path] == ["up", "degraded"]
    assert "packet loss" in result.state.cause


def test_high_latency_is_degraded() -> None:
    result = run(steady(0, 20, rtt=450.0))
    assert [state for state, _ in result.path] == ["degraded"]
    assert "median round trip 450 ms" in result.state.cause


def test_outage_cycles_do_not_count_as_loss_after_recovery() -> None:
    cycles = [*steady(0, 10), *steady(10, 40, pings="---"), *steady(40, 80)]
    result = run(cycles)
    assert [state for state, _ in result.path] == ["up", "down/isp", "up"]


def test_a_backdated_transition_never_precedes_the_current_state() -> None:
    start = TrackerState.start(at(5), state="up", cause="continued")
    cycles = [cycle(3, "---"), cycle(4, "---"), cycle(6, "---")]
    result = run(cycles, start=start)
    assert result.path == [("down/isp", 5)]


def test_a_stored_outage_continues_across_a_restart_without_a_new_transition() -> None:
    start = TrackerState.start(at(0), state="down", cause="stored", outage_kind="isp")
    result = run([cycle(2, "---"), cycle(4, "---")], start=start)
    assert result.path == []
    assert result.state.state == "down"


@pytest.mark.parametrize("confirm_down", [1, 2, 5])
def test_confirmation_needs_exactly_confirm_down_failing_cycles(confirm_down: int) -> None:
    policy = Policy(confirm_down=confirm_down)
    fails = [cycle(2 + i, "---") for i in range(confirm_down)]
    assert run([cycle(0), *fails[:-1]], policy).path == [("up", 0)]
    assert run([cycle(0), *fails], policy).path == [("up", 0), ("down/isp", 2)]


def test_a_cut_while_degraded_by_a_web_check_is_seen_by_pings_alone() -> None:
    # Degraded because a web check fails (checked at 30, 31, 32), then the WAN is cut at 40:
    # the ping-only cycles confirm the outage without waiting for the next web check.
    cycles = [cycle(0, http="++"), cycle(30, http="+-"), cycle(31, http="+-"),
              cycle(32, http="+-"), cycle(34), cycle(40, "---"), cycle(41, "---"),
              cycle(42, "---")]
    result = run(cycles)
    assert result.path == [("up", 0), ("degraded", 30), ("down/isp", 40)]


def test_retries_during_a_ping_streak_do_not_wait_for_web_checks() -> None:
    cycles = [cycle(0, http="++"), cycle(30, http="+-"), cycle(31, http="+-"),
              cycle(32, http="+-"), cycle(40, "---")]
    state = run(cycles).state
    assert state.suspect
    assert state.retry_kinds() == {"ping", "gateway"}


def test_dns_failures_that_are_not_consecutive_never_confirm_a_dns_outage() -> None:
    # Degraded (one target dead, and a failing web check carried forward); both resolvers
    # fail at 30, 34 and 37 but answer in between: no DNS outage.
    cycles = [cycle(0, "++-", dns="++", http="+-"), cycle(1, "++-", dns="++", http="+-"),
              cycle(2, "++-", dns="++", http="+-")]
    for t, dns in ((30, "--"), (31, "++"), (32, "++"), (33, "++"), (34, "--"), (35, "++"),
                   (36, "++"), (37, "--")):
        cycles.append(cycle(t, "++-", dns=dns))
    result = run(cycles)
    assert [state for state, _ in result.path] == ["degraded"]
    assert all(blip.state == "down" for blip in result.blips)


# --- brackets: the last probe that saw the old state, the first that saw the new -------------

MS = 0.001


def ms(seconds: float, milliseconds: float = 0.0) -> datetime:
    """``at(seconds)`` plus ``milliseconds``."""
    return at(seconds) + timedelta(milliseconds=milliseconds)


def bracket(transition: Transition) -> tuple[datetime | None, datetime | None]:
    return transition.after, transition.by


# Each cycle's probes leave 1 ms apart: pings at +0, +1, +2 ms, the gateway at +3 ms, then DNS
# (+4, +5 ms) and HTTP. ``after`` is the earliest send of the last cycle before the change that
# ran the kinds the new verdict rests on; ``by`` the latest send of the first cycle that saw it.
BRACKET_TABLE = [
    pytest.param(
        [cycle(t, spread=MS) for t in (0, 2, 4, 6, 8)]
        + [cycle(t, "---", spread=MS) for t in (10, 11, 12)],
        ("down/isp", 10), (ms(8), ms(10, 3)), id="a cut: last good cycle to first failing one",
    ),
    pytest.param(
        [cycle(0, spread=MS), *[cycle(t, "---", spread=MS) for t in (2, 3, 4, 6)],
         *[cycle(t, spread=MS) for t in (8, 9, 10)]],
        ("up", 8), (ms(6), ms(8, 3)), id="a recovery: last failing cycle to first good one",
    ),
    pytest.param(
        [cycle(0, spread=MS), cycle(2, "---", gw="-", spread=MS),
         cycle(3, "---", gw="-", spread=MS), cycle(4, "---", gw="-", spread=MS)],
        ("lan_down", 2), (ms(0), ms(2, 3)), id="a LAN fault rests on the gateway too",
    ),
    pytest.param(
        [cycle(0, dns="++", spread=MS), *[cycle(t, spread=MS) for t in range(2, 30, 2)],
         *[cycle(t, dns="--", spread=MS) for t in (30, 31, 32)]],
        ("down/dns", 30), (ms(0, 4), ms(30, 5)),
        id="a DNS outage: bracketed by the DNS checks, not by the pings between them",
    ),
    pytest.param(
        [*[cycle(t, dns="--", spread=MS) for t in (0, 1, 2)],
         *[cycle(t, spread=MS) for t in range(4, 20, 2)],
         *[cycle(t, dns="++", spread=MS) for t in (20, 21, 22)]],
        ("up", 20), (ms(2, 4), ms(20, 5)),
        id="a DNS recovery: last failing DNS check to first answering one",
    ),
]


@pytest.mark.parametrize(("cycles", "change", "expected"), BRACKET_TABLE)
def test_every_change_keeps_its_bracket(
    cycles: list[CycleResult], change: tuple[str, float],
    expected: tuple[datetime | None, datetime | None],
) -> None:
    result = run(cycles)
    assert result.path[-1] == change
    assert bracket(result.transitions[-1]) == expected


def test_the_first_observation_after_start_up_has_no_earlier_side() -> None:
    result = run([cycle(0, spread=MS), cycle(2, spread=MS)])
    assert bracket(result.transitions[0]) == (None, ms(0, 2))
    confirmed = run([cycle(t, "---", spread=MS) for t in (0, 1, 2)])
    assert confirmed.path == [("down/isp", 0)]
    assert bracket(confirmed.transitions[0]) == (None, ms(0, 3))


def test_a_good_cycle_after_failures_at_start_is_bracketed_by_the_last_failure() -> None:
    result = run([cycle(0, "---", spread=MS), cycle(1, "---", spread=MS), cycle(2, spread=MS)])
    assert result.path == [("up", 2)]
    assert bracket(result.transitions[0]) == (ms(1), ms(2, 2))


def test_a_change_right_after_a_restart_or_a_gap_has_no_earlier_side() -> None:
    start = TrackerState.start(at(0), state="up", cause="continued after a restart")
    result = run([cycle(t, "---", spread=MS) for t in (2, 3, 4)], start=start)
    assert result.path == [("down/isp", 2)]
    assert bracket(result.transitions[0]) == (None, ms(2, 3))


def test_a_streak_that_turned_around_is_bracketed_from_its_last_cycle() -> None:
    # Degraded (one dead target); a failing cycle at 10; good ones from 11: the link entered
    # ``up`` after the failing cycle's probes, not after the degraded ones before it. (The
    # loss threshold is out of the way: the dead target's lost pings would hold "degraded".)
    cycles = [*[cycle(t, "++-", spread=MS) for t in (0, 2, 4)], cycle(10, "---", spread=MS),
              *[cycle(t, spread=MS) for t in (11, 12, 13)]]
    result = run(cycles, Policy(degraded_loss_percent=50.0))
    assert result.path == [("degraded", 0), ("up", 11)]
    # "degraded" rests on the pings alone (no gateway): so does the way back to "up".
    assert bracket(result.transitions[-1]) == (ms(10), ms(11, 2))
    assert [(b.start_after, b.start_by, b.end_after, b.end_by) for b in result.blips] == [
        (ms(4), ms(10, 3), ms(10), ms(11, 2))]


def test_a_blip_keeps_the_brackets_of_its_start_and_its_end() -> None:
    cycles = [cycle(0, spread=MS), cycle(2, "---", spread=MS), cycle(3, "---", spread=MS),
              cycle(5, spread=MS)]
    (blip,) = run(cycles).blips
    assert (blip.started_at, blip.ended_at) == (at(2), at(5))
    assert (blip.start_after, blip.start_by) == (ms(0), ms(2, 3))
    assert (blip.end_after, blip.end_by) == (ms(3), ms(5, 2))  # "up" rests on the pings


def test_a_clock_set_back_between_two_cycles_leaves_the_earlier_side_unknown() -> None:
    # The previous cycle's probes carry a later time than the first failing one's.
    cycles = [cycle(0), cycle(20), cycle(10, "---"), cycle(11, "---"), cycle(12, "---")]
    result = run(cycles, start=TrackerState.start(at(0)))
    assert result.path == [("up", 0), ("down/isp", 10)]
    assert bracket(result.transitions[-1]) == (None, at(10))


@pytest.mark.parametrize("rtts", [(12.5,), (3.0, 1.0), (5.0, 1.0, 9.5, 2.25), (7.0, 7.0, 1.0),
                                  tuple(float(n % 17) / 3 for n in range(101))])
def test_the_window_median_is_statistics_median(rtts: tuple[float, ...]) -> None:
    import statistics

    from watchdog.link.classify import WindowEntry, window_stats

    window = [WindowEntry(at_s=float(index), sent=1, received=1, rtts_ms=(rtt,))
              for index, rtt in enumerate(rtts)]
    assert window_stats(window)[2] == statistics.median(rtts)
