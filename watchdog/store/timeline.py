"""State intervals, outages and blips: how transitions, restarts and shutdowns change them.

Every function works on one link's timeline (``link`` is the link's id). Invariants kept here
(and guarded by constraints in the schema), per link: intervals are contiguous and never
overlap, at most one is open (exactly one while the link's monitor runs), none ends before it
starts; at most one outage is open.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlmodel import Session, col, select

from watchdog.link.states import Blip, Transition, outage_kind_of
from watchdog.store import heartbeat
from watchdog.store.models import Blip as BlipRow
from watchdog.store.models import Outage, StateInterval
from watchdog.vocabulary import LinkState, OutageKind

# A restart within this many ping intervals of the last heartbeat continues the open interval.
CONTINUE_WITHIN_INTERVALS = 2

CAUSE_FIRST_START = "the watchdog started; no observation yet"
CAUSE_AFTER_SHUTDOWN = "the watchdog was not running (it was stopped)"
CAUSE_AFTER_CRASH = "the watchdog was not running (it stopped without a clean shutdown)"


@dataclass(frozen=True, slots=True)
class ResumeInfo:
    """Where the link tracker starts after ``Store.resume``.

    ``link_id`` is the link's id in the database. ``state``/``since``/``cause`` describe the
    open interval. ``continues`` is True when the
    interval open before the restart is still open (a quick restart after a crash, or an
    ``unknown`` gap that was never resolved); False when a new one was opened. ``open_outage``
    is the kind of the outage still open (it goes on, or ends, with the first confirmed
    transition), None when there is none. ``took_over`` is the former name of the history
    a new primary link continues (``heartbeat.take_over``), None when it kept its own.
    ``cause_code`` is the open interval's cause in a word (``other_path``...), if recorded.
    """

    link_id: int
    state: LinkState
    since: datetime
    cause: str
    continues: bool
    outage_kind: OutageKind | None
    took_over: str | None = None
    cause_code: str | None = None


def open_interval(session: Session, link: int) -> StateInterval | None:
    """The link's interval that holds now (``ended_at`` NULL), if any."""
    return session.exec(
        select(StateInterval).where(col(StateInterval.link_id) == link,
                                    col(StateInterval.ended_at).is_(None))
    ).first()


def open_outage(session: Session, link: int) -> Outage | None:
    """The link's outage still going on, if any."""
    return session.exec(
        select(Outage).where(col(Outage.link_id) == link, col(Outage.ended_at).is_(None))
    ).first()


def maintenance_intervals(
    session: Session, link: int, since: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The link's recorded maintenance since ``since`` (an open one: until ``now``): the
    windows the daemon honoured, which the contract's clocks skip."""
    rows = session.exec(
        select(StateInterval).where(
            col(StateInterval.link_id) == link, col(StateInterval.state) == "maintenance",
            col(StateInterval.ended_at).is_(None) | (col(StateInterval.ended_at) > since))
    ).all()
    return [(row.started_at, row.ended_at or now) for row in rows]


def _last_closed_interval(session: Session, link: int) -> StateInterval | None:
    return session.exec(
        select(StateInterval)
        .where(col(StateInterval.link_id) == link, col(StateInterval.ended_at).is_not(None))
        .order_by(col(StateInterval.ended_at).desc())
        .limit(1)
    ).first()


def cause_code(evidence: Mapping[str, Any]) -> str | None:
    """The cause's word in a transition's evidence (``evidence["cause"]["code"]``), if any."""
    cause = evidence.get("cause")
    code = cause.get("code") if isinstance(cause, Mapping) else None
    return code if isinstance(code, str) else None


def _open(session: Session, link: int, state: LinkState, cause: str, at: datetime,
          bracket: tuple[datetime | None, datetime | None] = (None, None),
          code: str | None = None) -> StateInterval:
    """Open the link's interval of ``state`` at ``at``; ``bracket`` is its start's (after, by),
    (None, None) for an interval the watchdog opens itself (``unknown``); ``code`` is its
    cause's word."""
    interval = StateInterval(link_id=link, state=state, cause=cause, started_at=at,
                             start_after=bracket[0], start_by=bracket[1], cause_code=code)
    session.add(interval)
    session.flush()
    return interval


def _close(session: Session, interval: StateInterval, at: datetime) -> None:
    interval.ended_at = at
    session.add(interval)
    # Flushed before the next interval is inserted: at most one open row (unique index).
    session.flush()


def resume(
    session: Session, name: str, now: datetime, ping_interval: timedelta, pid: int, *,
    primary_of: Collection[str] | None = None,
) -> ResumeInfo:
    """Start (or restart) the timeline of the link called ``name`` at ``now``.

    A link never watched before gets its row; the primary link (``primary_of``: the names of
    the config's links) may take over the site's first history instead (see
    ``heartbeat.take_over``). After a clean shutdown, or when the link's last
    heartbeat is older than two ping intervals, the time since that heartbeat becomes an
    ``unknown`` interval (the open interval is closed at the heartbeat). After a quicker
    restart the open interval continues. An open outage stays open either way: the first
    confirmed transition decides whether it continued.
    """
    last = heartbeat.find(session, name)
    if last is None and primary_of is not None:
        last = heartbeat.take_over(session, name, primary_of)
    # Read before ``heartbeat.start`` rewrites the row.
    took_over = None if last is None or last.name == name else last.name
    last_cycle_at = None if last is None else last.last_cycle_at
    clean_shutdown = last is not None and last.clean_shutdown
    link = heartbeat.start(session, name, now, ping_interval, pid, row=last)
    current = open_interval(session, link)
    quick_restart = (
        last_cycle_at is not None
        and current is not None
        and not clean_shutdown
        and now - last_cycle_at <= CONTINUE_WITHIN_INTERVALS * ping_interval
    )
    continues = True
    if current is None or (not quick_restart and current.state != "unknown"):
        continues = False
        if last_cycle_at is None:
            cause, last_seen = CAUSE_FIRST_START, now
        elif clean_shutdown:
            cause, last_seen = CAUSE_AFTER_SHUTDOWN, last_cycle_at
        else:
            cause, last_seen = CAUSE_AFTER_CRASH, last_cycle_at
        if current is not None:
            at = max(last_seen, current.started_at)
            _close(session, current, at)
        else:
            # Contiguity beats the heartbeat: start exactly where the last interval ended.
            previous = _last_closed_interval(session, link)
            at = previous.ended_at if previous is not None and previous.ended_at else last_seen
        current = _open(session, link, "unknown", cause, at)
    outage = open_outage(session, link)
    return ResumeInfo(
        link_id=link,
        state=cast(LinkState, current.state),
        since=current.started_at,
        cause=current.cause,
        continues=continues,
        outage_kind=cast(OutageKind, outage.kind) if outage is not None else None,
        took_over=took_over,
        cause_code=current.cause_code,
    )


def apply_transition(session: Session, link: int, transition: Transition) -> None:
    """The link entered ``transition.state`` at ``transition.at``: move the timeline there.

    The open interval is closed at that time and the new one opened at it; a time earlier than
    the open interval's start is clamped to the start (clocks step), and a transition at the
    very start replaces the open interval's state instead of leaving a zero-length one. The
    transition's bracket (``after``, ``by``) goes with the start it makes. Outages follow (see
    ``_follow_outage``). Raises ``RuntimeError`` when no interval is open (``resume`` was not
    called).
    """
    current = open_interval(session, link)
    if current is None:
        raise RuntimeError("no open state interval: call Store.resume() before recording")
    at = max(transition.at, current.started_at)
    previous_state, previous_start = current.state, current.started_at
    code = cause_code(transition.evidence)
    if at == current.started_at:
        current.state = transition.state
        current.cause = transition.cause
        current.cause_code = code
        current.start_after, current.start_by = transition.after, transition.by
        session.add(current)
        session.flush()
    else:
        _close(session, current, at)
        _open(session, link, transition.state, transition.cause, at,
              (transition.after, transition.by), code)
    _follow_outage(session, link, transition, at, previous_state, previous_start)


def _follow_outage(
    session: Session,
    link: int,
    transition: Transition,
    at: datetime,
    previous_state: str,
    previous_start: datetime,
) -> None:
    """Open, continue or close the outage for a transition applied at ``at``.

    When the previous state was ``unknown`` (the daemon was away) and an outage is open, the
    outage either continued (same kind: the unknown gap is added to ``unobserved_seconds``) or
    ended unseen (closed at the start of the gap, the last moment it was seen, with
    ``end_observed`` False; its end bracket then has no ``after``, only the ``by`` of the
    first cycle that saw it over).

    A maintenance window neither ends nor opens an outage. One open when the window starts
    stays open through it (the same fault, the same ticket; after an unwatched gap, the gap
    counts as unobserved); when the window ends it goes on if the link is still in the same
    kind of outage, else it is closed at the window's start, the last moment it was seen
    outside the works (the repair happened during them, so no bracket is on record). The
    window's own time is the ``maintenance`` interval's, left out of availability.
    """
    new_kind = outage_kind_of(transition.state, transition.outage_kind)
    outage = open_outage(session, link)
    if transition.state == "maintenance":
        if outage is not None and previous_state == "unknown":
            # Back from a gap straight into works: the outage is taken to have gone on
            # unseen, as when the same kind is seen after a gap.
            outage.unobserved_seconds += (at - previous_start).total_seconds()
            session.add(outage)
        return
    if outage is not None:
        if previous_state == "unknown":
            if new_kind == outage.kind:
                outage.unobserved_seconds += (at - previous_start).total_seconds()
                session.add(outage)
                return
            _close_outage(session, outage, previous_start, (None, transition.by),
                          observed=False)
        elif previous_state == "maintenance":
            if new_kind == outage.kind:
                return
            # The repair happened inside the works: no probe bracket is on record for it.
            _close_outage(session, outage, previous_start, (None, None), observed=True)
        elif new_kind == outage.kind:
            return
        else:
            _close_outage(session, outage, at, (transition.after, transition.by),
                          observed=True)
    if new_kind is not None:
        session.add(
            Outage(
                link_id=link,
                kind=new_kind,
                started_at=at,
                cause=transition.cause,
                evidence=json.dumps(transition.evidence, sort_keys=True, default=str),
                start_after=transition.after,
                start_by=transition.by,
            )
        )
        session.flush()


def _close_outage(session: Session, outage: Outage, at: datetime,
                  bracket: tuple[datetime | None, datetime | None], *, observed: bool) -> None:
    outage.ended_at = max(at, outage.started_at)
    outage.end_after, outage.end_by = bracket
    outage.end_observed = observed
    session.add(outage)
    session.flush()


def record_blips(session: Session, link: int, blips: Sequence[Blip]) -> None:
    """Store the link's short failures that were not confirmed as outages."""
    for blip in blips:
        session.add(
            BlipRow(
                link_id=link,
                state=blip.state,
                started_at=blip.started_at,
                ended_at=max(blip.ended_at, blip.started_at),
                cycles=blip.cycles,
                cause=blip.cause,
                start_after=blip.start_after,
                start_by=blip.start_by,
                end_after=blip.end_after,
                end_by=blip.end_by,
            )
        )


def shut_down(session: Session, link: int, now: datetime) -> None:
    """Close the link's open interval at ``now`` and mark its monitor's clean shutdown; an
    open outage stays open."""
    current = open_interval(session, link)
    end = now
    if current is not None:
        end = max(now, current.started_at)
        _close(session, current, end)
    heartbeat.stop(session, link, end)
