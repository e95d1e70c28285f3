"""The link tracker: hysteresis over observations, back-dated transitions, blips. Pure.

``advance(state, cycle, policy)`` → ``(new state, transitions, blips)``. No I/O, no clock:
time comes from the cycle. The rules:

- An observation that differs from the current state starts (or extends) a *streak* on its
  side: worse or better than the current state. A worse streak is confirmed after
  ``confirm_down`` observations, a better one after ``confirm_up``; the new state is the
  mildest of a worse streak (or the most severe of a better streak), so a link that alternates
  between down and degraded is called degraded, never down. The transition is back-dated to
  the first observation of the streak: to the first failing (or first succeeding) probe.
- An observation equal to the current state breaks the streak. A broken streak that reached an
  outage state is a *blip*: recorded, not an outage.
- An observation counts only when the probe kinds it rests on, and those the current state
  rests on, were probed in its own cycle (a DNS verdict needs a fresh DNS check).
- From ``unknown`` (start-up) a good observation is taken at once; a failing one still needs
  ``confirm_down``.

Every change carries its bracket (``Transition.after``/``by``, and a blip's start and end): the
honest precision of the record. The probes of one cycle leave concurrently, within a few ms;
each side is taken so that it holds whichever of them decided:

- ``after``: the earliest send time of the probes of the kinds the new verdict rests on, in the
  last cycle before the change that ran them (for several kinds, the earliest over the kinds:
  a DNS outage is bracketed by the DNS checks, not by the pings in between). None when no
  cycle since start-up (or since a gap) ran them.
- ``by``: the latest send time of those probes in the first cycle that saw the new state.

A probe's time is when it was sent, so a failing probe sent just before a cut (its answer lost
on the way back) makes ``by`` early by at most one round trip; otherwise the change happened
within the bracket, and the back-dated ``at`` (the first cycle's start) lies inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from watchdog.link.classify import (
    Policy,
    WindowEntry,
    classify,
    internet_unreachable,
)
from watchdog.link.states import (
    Blip,
    Observation,
    Transition,
    is_outage,
    rank,
)
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.vocabulary import LinkState, OutageKind


@dataclass(frozen=True, slots=True)
class TrackerState:
    """Everything the tracker remembers between cycles."""

    state: LinkState
    since: datetime
    cause: str
    outage_kind: OutageKind | None = None
    basis: frozenset[str] = frozenset()
    # Consecutive counted observations that differ from ``state``, all on the same side.
    streak: tuple[Observation, ...] = ()
    # Ping statistics of recent cycles in which the internet was reachable.
    window: tuple[WindowEntry, ...] = ()
    # Latest DNS, HTTP and path results, carried forward between the cycles that run them.
    dns: tuple[ProbeResult, ...] = ()
    http: tuple[ProbeResult, ...] = ()
    path: tuple[ProbeResult, ...] = ()
    # ``down`` only because the path check saw the traffic take another path.
    other_path: bool = False
    last: Observation | None = field(default=None, compare=False)
    # Per probe kind, the earliest send time in the last cycle that ran it (sorted by kind):
    # the ``after`` side of the next change's bracket.
    probed: tuple[tuple[str, datetime], ...] = ()

    @classmethod
    def start(
        cls,
        since: datetime,
        state: LinkState = "unknown",
        cause: str = "the watchdog has just started",
        outage_kind: OutageKind | None = None,
        *,
        other_path: bool = False,
    ) -> TrackerState:
        """Initial state: ``unknown`` after a gap, or the stored state when it continues
        (``other_path``: a line down while its traffic takes another path)."""
        basis = frozenset({"dns"}) if outage_kind == "dns" else frozenset(
            {"path"} if other_path else {"ping"})
        return cls(state, since, cause, outage_kind,
                   basis if state != "unknown" else frozenset(),
                   other_path=other_path and state == "down")

    @property
    def rank(self) -> int:
        return rank(self.state, self.outage_kind, other_path=self.other_path)

    @property
    def suspect(self) -> bool:
        """Whether a change is pending confirmation (the daemon then re-probes sooner)."""
        return bool(self.streak)

    def retry_kinds(self) -> frozenset[str]:
        """The probe kinds the next (retry) cycle must include to confirm or dismiss the streak."""
        return frozenset({"ping", "gateway"} | streak_needs(self))


def needs(state: TrackerState, observation: Observation) -> frozenset[str]:
    """The probe kinds a cycle must have run for ``observation`` to count.

    A worse observation rests on its own evidence only (a cut seen by fresh pings counts even
    while the state rests on a web check); a better or equal one must also re-check what put
    the link in its current state (a DNS outage ends on a fresh DNS answer, not on pings).
    """
    if observation.rank > state.rank:
        return observation.basis
    return observation.basis | state.basis


def streak_needs(state: TrackerState) -> frozenset[str]:
    """The probe kinds the pending streak rests on."""
    kinds: frozenset[str] = frozenset()
    for observation in state.streak:
        kinds |= needs(state, observation)
    return kinds


def advance(
    state: TrackerState, cycle: CycleResult, policy: Policy
) -> tuple[TrackerState, list[Transition], list[Blip]]:
    """Fold one cycle into the tracker; return the new state, its transitions and blips."""
    unreachable = internet_unreachable(cycle, policy)
    window = slide_window(state.window, cycle, policy, include=not unreachable)
    dns = _carry(state.dns, cycle, "dns", policy, unreachable)
    http = _carry(state.http, cycle, "http", policy, unreachable)
    path = _carry(state.path, cycle, "path", policy, unreachable)
    observation = classify(cycle, policy, window=window, dns=dns, http=http, path=path)
    needed = needs(state, observation)
    sent = _sent_times(cycle)
    earlier = dict(state.probed)
    observation = _stamp(observation, needed, sent, earlier)
    probed = tuple(sorted({**earlier, **{kind: first for kind, (first, _) in sent.items()}}
                          .items()))
    state = replace(state, window=window, dns=dns, http=http, path=path, last=observation,
                    probed=probed)

    if needed <= cycle.kinds:
        return _fold(state, observation, policy)
    # The observation rests on a check that did not run in this cycle: it does not count.
    # But when the streak's own evidence was probed again and not seen again, the streak is
    # over: failures that are not consecutive never confirm anything.
    if state.streak and streak_needs(state) <= cycle.kinds:
        streak_worse = state.streak[0].rank > state.rank
        seen_worse = observation.rank > state.rank
        seen_equal = observation.rank == state.rank
        if streak_worse != seen_worse or seen_equal:
            ending = _stamp(observation, streak_needs(state), sent, earlier)
            blips = _blip_of(state.streak, ending) if state.rank < rank("down", "dns") else []
            return replace(state, streak=()), [], blips
    return state, [], []


def _fold(
    state: TrackerState, observation: Observation, policy: Policy
) -> tuple[TrackerState, list[Transition], list[Blip]]:
    current = state.rank
    seen = observation.rank
    blips: list[Blip] = []

    if state.state == "unknown":
        if not is_outage(observation.state):
            blips = _blip_of(state.streak, observation)
            return (*_enter(state, observation, observation, policy), blips)
        streak = (*state.streak, observation)
        if len(streak) >= policy.confirm_down:
            return (*_enter(state, _mildest(streak), streak[0], policy), [])
        return replace(state, streak=streak), [], []

    if seen == current:
        blips = _blip_of(state.streak, observation) if current < rank("down", "dns") else []
        return replace(state, streak=(), cause=observation.cause), [], blips

    worse = seen > current
    streak = state.streak
    if streak and (streak[0].rank > current) != worse:
        # The streak turned around: it was a blip (if it reached an outage) and starts anew.
        blips = _blip_of(streak, observation) if current < rank("down", "dns") else []
        streak = ()
    streak = (*streak, observation)
    needed = policy.confirm_down if worse else policy.confirm_up
    if len(streak) < needed:
        return replace(state, streak=streak), [], blips
    target = _mildest(streak) if worse else _worst(streak)
    return (*_enter(state, target, streak[0], policy), blips)


def _enter(
    state: TrackerState, observation: Observation, first: Observation, policy: Policy
) -> tuple[TrackerState, list[Transition]]:
    """Move to ``observation``'s state, back-dated to ``first`` (the first observation of the
    change: its time and its bracket), never before the current state began.

    On a link with a path check, an outage ends only on a fresh path check too: pings that
    answer again may answer through the backup path while the line itself is still dead.
    """
    since = max(first.at, state.since)
    after, by = first.previous_sent, first.sent_until
    if after is not None and by is not None and after > by:
        after = None  # the clock was set back between the two cycles: nothing brackets it
    entered = replace(
        state,
        state=observation.state,
        since=since,
        cause=observation.cause,
        outage_kind=observation.outage_kind,
        basis=observation.basis | (
            frozenset({"path"}) if policy.path_check and is_outage(observation.state)
            else frozenset()),
        other_path=observation.other_path,
        streak=(),
    )
    transition = Transition(
        observation.state, since, observation.cause, observation.outage_kind,
        observation.evidence, after, by,
    )
    return entered, [transition]


def _mildest(streak: tuple[Observation, ...]) -> Observation:
    """The least severe observation of a worse streak (the latest among equals)."""
    best = streak[-1]
    for observation in reversed(streak):
        if observation.rank < best.rank:
            best = observation
    return best


def _worst(streak: tuple[Observation, ...]) -> Observation:
    """The most severe observation of a better streak (the latest among equals)."""
    worst = streak[-1]
    for observation in reversed(streak):
        if observation.rank > worst.rank:
            worst = observation
    return worst


def _blip_of(streak: tuple[Observation, ...], ending: Observation) -> list[Blip]:
    """A broken streak that showed an outage state is a blip from its first observation to
    ``ending``, the observation that broke it (stamped with the probes it rests on)."""
    failing = [observation for observation in streak if is_outage(observation.state)]
    if not failing:
        return []
    worst = _worst(tuple(failing))
    first, last = streak[0], streak[-1]
    return [Blip(worst.state, first.at, ending.at, len(streak), worst.cause,
                 start_after=first.previous_sent, start_by=first.sent_until,
                 end_after=last.sent_from, end_by=ending.sent_until)]


def _sent_times(cycle: CycleResult) -> dict[str, tuple[datetime, datetime]]:
    """Per probe kind that ``cycle`` ran: when its first and its last probe of that kind left."""
    times: dict[str, tuple[datetime, datetime]] = {}
    for result in cycle.results:
        if result.kind not in cycle.kinds:
            continue
        first, last = times.get(result.kind, (result.at, result.at))
        times[result.kind] = (min(first, result.at), max(last, result.at))
    return times


def _stamp(
    observation: Observation,
    kinds: frozenset[str],
    sent: dict[str, tuple[datetime, datetime]],
    earlier: dict[str, datetime],
) -> Observation:
    """``observation`` with the send times of its cycle's probes of ``kinds`` (``sent``) and
    the earliest of those kinds' previous sends (``earlier``; None unless every kind has one).
    """
    times = [sent[kind] for kind in kinds if kind in sent]
    previous = [earlier[kind] for kind in kinds if kind in earlier]
    return replace(
        observation,
        sent_from=min((first for first, _ in times), default=None),
        sent_until=max((last for _, last in times), default=None),
        previous_sent=min(previous) if kinds and len(previous) == len(kinds) else None,
    )


def slide_window(
    window: tuple[WindowEntry, ...], cycle: CycleResult, policy: Policy, *, include: bool
) -> tuple[WindowEntry, ...]:
    """Add this cycle's pings (unless the internet was unreachable) and drop old entries."""
    now_s = cycle.started_at.timestamp()
    horizon = now_s - policy.window.total_seconds()
    kept = tuple(entry for entry in window if horizon < entry.at_s <= now_s)
    if not include:
        return kept
    pings = cycle.of_kind("ping")
    entry = WindowEntry(
        now_s,
        sum(result.sent for result in pings),
        sum(result.received for result in pings),
        tuple(result.rtt_ms for result in pings if result.rtt_ms is not None),
    )
    return (*kept, entry)


def _carry(
    previous: tuple[ProbeResult, ...],
    cycle: CycleResult,
    kind: str,
    policy: Policy,
    unreachable: bool,
) -> tuple[ProbeResult, ...]:
    """The DNS or HTTP results to judge this cycle by.

    Fresh ones when the cycle ran that kind; otherwise the previous ones while they are not
    stale. Results from a cycle in which the internet was unreachable say nothing about DNS or
    the web checks themselves, so they are not carried forward.
    """
    if kind in cycle.kinds:
        fresh = tuple(result for result in cycle.results if result.kind == kind)
        return () if unreachable else fresh
    if not previous:
        return ()
    oldest = min(result.at for result in previous)
    if cycle.started_at - oldest > policy.check_stale_after:
        return ()
    return previous
