"""What the timeline records around a maintenance window: a table of cycles through
``link.maintenance.overlay`` (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from tests.link.cycles import at
from watchdog.link.maintenance import Recorded, Works, cause_of, overlay
from watchdog.link.maintenance_windows import MaintenanceSpan
from watchdog.link.states import Blip, Transition
from watchdog.link.tracker import TrackerState
from watchdog.vocabulary import LinkState, OutageKind

WINDOW = MaintenanceSpan(at(100), at(200), ("fibre works",))


def went(state: LinkState, seconds: float, kind: OutageKind | None = None) -> Transition:
    return Transition(state, at(seconds), f"seen {state}", kind)


def blip(seconds: float) -> Blip:
    return Blip("down", at(seconds), at(seconds + 2), 2, "short")


def tracker(state: LinkState = "up", kind: OutageKind | None = None) -> TrackerState:
    return TrackerState.start(at(0), state=state, cause=f"was {state}", outage_kind=kind)


def works(since: float = 100, until: float = 200) -> Works:
    return Works(at(since), at(until), "fibre works")


@dataclass(frozen=True)
class Case:
    name: str
    cycle_at: float
    before: TrackerState = field(default_factory=tracker)
    works: Works | None = None
    window: MaintenanceSpan | None = WINDOW
    transitions: list[Transition] = field(default_factory=list)
    blips: list[Blip] = field(default_factory=list)
    recorded_until: float | None = None
    # What is recorded: (state, at seconds, outage kind) per transition, the blips' starts,
    # and the works after the cycle as (since, until), or None.
    recorded: list[tuple[str, float, str | None]] = field(default_factory=list)
    kept_blips: list[float] = field(default_factory=list)
    works_after: tuple[float, float] | None = None


CASES = [
    Case("no window: everything is recorded", 50, window=None,
         transitions=[went("down", 44, "isp")], blips=[blip(30)],
         recorded=[("down", 44, "isp")], kept_blips=[30]),
    Case("the window begins: maintenance from its start", 101, recorded_until=99.5,
         recorded=[("maintenance", 100, None)], works_after=(100, 200)),
    Case("what happened before the window is recorded first", 101, recorded_until=99.5,
         transitions=[went("down", 96, "isp")], blips=[blip(90)],
         recorded=[("down", 96, "isp"), ("maintenance", 100, None)], kept_blips=[90],
         works_after=(100, 200)),
    Case("a window learnt late never rewrites recorded time", 131, recorded_until=130.5,
         recorded=[("maintenance", 130.5, None)], works_after=(130.5, 200)),
    Case("after an unknown start, the works begin at the first probe", 131,
         recorded=[("maintenance", 131, None)], works_after=(131, 200)),
    Case("during the works nothing of the tracker is recorded", 150, works=works(),
         transitions=[went("down", 140, "isp")], blips=[blip(120)], works_after=(100, 200)),
    Case("a window that grows keeps the works going", 150, works=works(),
         window=MaintenanceSpan(at(100), at(260), ("fibre works",)), works_after=(100, 260)),
    Case("the end: back to the state the tracker held then", 201, works=works(),
         before=tracker("down", "isp"), recorded=[("down", 200, "isp")]),
    Case("a change dated inside the works is folded into the state at their end", 201,
         works=works(), before=tracker("down", "isp"), transitions=[went("up", 199)],
         recorded=[("up", 200, None)]),
    Case("a change dated after the end follows it", 206, works=works(),
         transitions=[went("down", 202, "isp")], blips=[blip(150), blip(201)],
         recorded=[("up", 200, None), ("down", 202, "isp")], kept_blips=[201]),
    Case("a removed window ends at the cycle that learns it", 150, works=works(), window=None,
         before=tracker("down", "isp"), recorded=[("down", 150, "isp")]),
    Case("a separate window right after: out and in again", 301, works=works(),
         window=MaintenanceSpan(at(300), at(400), ("tests",)),
         recorded=[("up", 200, None), ("maintenance", 300, None)], works_after=(300, 400)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_overlay(case: Case) -> None:
    until = None if case.recorded_until is None else at(case.recorded_until)
    result = overlay(case.works, case.before, case.transitions, case.blips, case.window,
                     at(case.cycle_at), until)
    assert [(t.state, t.at, t.outage_kind) for t in result.transitions] == [
        (state, at(seconds), kind) for state, seconds, kind in case.recorded]
    assert [b.started_at for b in result.blips] == [at(seconds) for seconds in case.kept_blips]
    expected = None if case.works_after is None else (at(case.works_after[0]),
                                                      at(case.works_after[1]))
    assert (None if result.works is None else (result.works.since, result.works.until)) == (
        expected)


def test_the_maintenance_interval_says_why_and_keeps_the_window() -> None:
    result: Recorded = overlay(None, tracker(), [], [], WINDOW, at(101), at(99))
    (entered,) = result.transitions
    assert entered.cause == cause_of("fibre works") == "maintenance window: fibre works"
    assert entered.evidence["window"]["reasons"] == ["fibre works"]


def test_the_state_after_the_works_keeps_the_trackers_cause() -> None:
    result = overlay(works(), tracker("lan_down", "lan"), [], [], None, at(201), at(199))
    (back,) = result.transitions
    assert (back.state, back.cause, back.outage_kind) == ("lan_down", "was lan_down", "lan")
    assert isinstance(back.at, datetime)
