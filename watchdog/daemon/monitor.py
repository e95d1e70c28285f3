"""``LinkMonitor``: one link watched on its own: its plan, tracker, cadence and cycle.

The daemon runs one monitor per link (``config.links``). A monitor probes its link, folds each
cycle into its tracker and records it on the link's own timeline in one transaction; nothing
in it knows about the scheduler, signals or delivery (the ``Daemon`` shell owns those).

During a maintenance window (the config's, or one declared with ``watchdog maintenance add``)
the link is probed and its samples kept as ever, but the timeline shows ``maintenance``
(``link.maintenance.overlay`` decides what is recorded). The database's windows are read at
start and again only after another process wrote to the database (``Store.outside_writes``),
so a cycle costs no query for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from watchdog import clock
from watchdog.config import Config
from watchdog.config.schema import LinkConfig
from watchdog.config.zone import site_zone
from watchdog.daemon.cadence import Cadence
from watchdog.errors import DatabaseError
from watchdog.link.classify import Policy, quorum_failed
from watchdog.link.maintenance import Works, overlay
from watchdog.link.maintenance_windows import MaintenanceWindow, config_windows, span_at
from watchdog.link.site import LinkView
from watchdog.link.states import Blip, Transition
from watchdog.link.tracker import TrackerState, advance
from watchdog.logs import get_logger
from watchdog.probes.cycle import plan_for, run_cycle
from watchdog.probes.gateway import default_gateway, gateway_to_probe, lookup_for
from watchdog.probes.results import CycleResult
from watchdog.store.maintenance_reader import declared_windows
from watchdog.vocabulary import CAUSE_OTHER_PATH

if TYPE_CHECKING:
    from watchdog.store.writer import Store

log = get_logger("watchdog.daemon")

# A cycle that starts this many ping intervals after the last one (the server was suspended,
# or the process stalled) turns the silence into an ``unknown`` interval, as a restart does.
STALL_INTERVALS = 5


class LinkMonitor:
    """Watches one link: ``resume`` once, then ``cycle`` on the schedule ``next_cycle_at`` says.

    ``cycle`` and ``apply`` may be called from different threads (the scheduler's worker and
    the main thread's reload): a lock serialises them.
    """

    def __init__(
        self,
        link: LinkConfig,
        config: Config,
        store: Store,
        *,
        privileged: bool,
        now: Callable[[], datetime] = clock.utcnow,
        gateway_lookup: Callable[[], str | None] = default_gateway,
    ) -> None:
        self.name = link.name
        self.store = store
        self.privileged = privileged
        self.now = now
        self.gateway_lookup = gateway_lookup
        self.tracker = TrackerState.start(now())
        self.last_run: dict[str, datetime] = {}
        self.last_cycle_at: datetime | None = None
        self.cycles = 0
        # The maintenance the timeline shows (None: the tracker's state), and the end of the
        # time already recorded (None until the first cycle after an ``unknown`` start).
        self.works: Works | None = None
        self.recorded_until: datetime | None = None
        # The database's windows, and the store's ``outside_writes`` when they were read.
        self.declared: tuple[MaintenanceWindow, ...] = ()
        self._declared_at_generation: int | None = None
        self._lock = threading.Lock()
        self.apply(config)

    def apply(self, config: Config) -> None:
        """Use ``config`` (and this link's entry in it) from the next cycle on."""
        with self._lock:
            self.config = config
            self.link = next(link for link in config.links if link.name == self.name)
            self.policy = Policy.from_config(config, self.link)
            self.cadence = Cadence.from_config(config)
            self.zone = site_zone(config)
            self.config_windows = tuple(config_windows(config))

    @property
    def windows(self) -> tuple[MaintenanceWindow, ...]:
        """Every maintenance window known: the config's and the database's."""
        return self.config_windows + self.declared

    def resume(self) -> None:
        """Turn the gap since the link's last heartbeat into history and set the tracker's
        start."""
        now = self.now()
        primary_of = [link.name for link in self.config.links] if self.link.primary else None
        info = self.store.resume(now, self.config.schedule.ping_interval, link=self.name,
                                 primary_of=primary_of)
        if info.took_over is not None:
            log.info("link_history_taken_over", link=self.name, former_name=info.took_over,
                     hint="the primary uplink continues the history recorded before")
        self._read_declared_windows(now)
        state, cause, self.works = info.state, info.cause, None
        if info.state == "maintenance":
            # A quick restart during the works: the timeline goes on showing them, and the
            # tracker, which never holds "maintenance", starts from no observation.
            window = span_at(self.windows, info.since, link=self.name)
            self.works = Works(info.since, window.end if window else now,
                               window.reason if window else info.cause)
            state, cause = "unknown", "the watchdog restarted during a maintenance window"
        self.tracker = TrackerState.start(
            info.since, state=state, cause=cause, outage_kind=info.outage_kind,
            other_path=info.cause_code == CAUSE_OTHER_PATH,
        )
        continued = info.continues and info.state != "unknown"
        self.recorded_until = now if continued else None
        log.info("resumed", link=self.name, state=info.state, since=info.since.isoformat(),
                 cause=info.cause)

    def _read_declared_windows(self, now: datetime, *, unless_unchanged: bool = False) -> None:
        """Read the database's maintenance windows (those not over at ``now``); with
        ``unless_unchanged``, only when another process wrote to the database since the last
        read. An unreadable database keeps the windows read before (logged; retried)."""
        generation = self.store.outside_writes
        if unless_unchanged and generation == self._declared_at_generation:
            return
        try:
            self.declared = tuple(declared_windows(self.store.path, ending_after=now))
        except DatabaseError as error:
            log.warning("maintenance_windows_unreadable", link=self.name, error=str(error))
            return
        self._declared_at_generation = generation

    def cycle(self) -> CycleResult:
        """Run one probe cycle, fold it into the tracker and record it in one transaction."""
        with self._lock:
            started = self.now()
            if self._stalled(started):
                self.resume()  # the silence becomes an unknown interval, as after a restart
            self._read_declared_windows(started, unless_unchanged=True)
            retry = self.tracker.retry_kinds() if self.tracker.suspect else frozenset()
            tracker = self.tracker
            # While the internet is unreachable, DNS and web checks can tell nothing (a line
            # down while its traffic takes another path still reaches the internet).
            cut_off = tracker.state == "lan_down" or (
                tracker.state == "down" and tracker.outage_kind != "dns"
                and not tracker.other_path)
            dns = bool(self.config.dns) and (not cut_off or "dns" in retry) and (
                self.cadence.check_due("dns", started, self.last_run.get("dns"), retry))
            http = bool(self.config.http) and (not cut_off or "http" in retry) and (
                self.cadence.check_due("http", started, self.last_run.get("http"), retry))
            # The path check runs when due even while cut off (the cycle abandons it when
            # the pings fail): when they answer again, it tells the line from its backup.
            # An outage that only a fresh path check can end runs it every cycle.
            path = self.link.path is not None and (
                self.cadence.check_due("path", started, self.last_run.get("path"), retry)
                or ("path" in tracker.basis and cut_off))
            policy = self.policy
            plan = plan_for(
                self.config, self.link, dns=dns, http=http, path=path,
                privileged=self.privileged,
                gateway_address=gateway_to_probe(
                    self.link.gateway, lookup_for(self.link.interface, self.gateway_lookup)),
                abandon_checks_if=lambda results: quorum_failed(results, policy),
            )
            result = run_cycle(plan)
            for kind in ("dns", "http", "path"):
                if kind in result.kinds:
                    self.last_run[kind] = result.started_at
            before = self.tracker
            self.tracker, transitions, blips = advance(before, result, self.policy)
            window = span_at(self.windows, result.started_at, link=self.name)
            recorded = overlay(self.works, before, transitions, blips, window,
                               result.started_at, self.recorded_until)
            finished = self.now()
            self.store.record_cycle(result, recorded.transitions, recorded.blips, finished,
                                    link=self.name)
            self.works, self.recorded_until = recorded.works, finished
            self.last_cycle_at = finished
            self.cycles += 1
            self._log(recorded.transitions, recorded.blips)
            for unrecorded in (t for t in transitions if t not in recorded.transitions):
                log.info("link_state_seen_during_maintenance", link=self.name,
                         state=unrecorded.state, since=unrecorded.at.isoformat())
            return result

    def view(self) -> LinkView:
        """The link's state as the site sees it (``link.site``): the timeline's (maintenance
        during works), whether it is the primary, and whether it is down only because its
        traffic takes another path."""
        tracker = self.tracker  # replaced whole by the cycle: one read is consistent
        state = "maintenance" if self.works is not None else tracker.state
        return LinkView(self.name, state, self.link.primary, other_path=tracker.other_path)

    def next_cycle_at(self, started_at: datetime, finished_at: datetime) -> datetime:
        """When the cycle after one that ran from ``started_at`` to ``finished_at`` starts:
        sooner while the tracker suspects a change."""
        return self.cadence.next_cycle_at(started_at, finished_at, suspect=self.tracker.suspect)

    def _stalled(self, now: datetime) -> bool:
        """Whether the time since the last cycle is far longer than the schedule allows.

        Backwards steps are not stalls: the store clamps transitions to the open interval, so
        a clock set back never makes a negative or overlapping interval.
        """
        if self.last_cycle_at is None:
            return False
        silence = now - self.last_cycle_at
        return silence > self.config.schedule.ping_interval * STALL_INTERVALS + (
            self.config.schedule.http_timeout)

    def status_line(self) -> str:
        """One line for ``systemctl status``: "up since 14:02 — 3/3 targets, gateway ok"."""
        tracker = self.tracker
        since = tracker.since.astimezone(self.zone).strftime("%H:%M")
        line = f"{tracker.state} since {since}"
        if self.works is not None:
            until = self.works.until.astimezone(self.zone).strftime("%H:%M")
            line = f"maintenance until {until} ({line})"
        observation = tracker.last
        if observation is not None:
            evidence = observation.evidence
            total = evidence.get("targets", 0)
            answering = total - len(evidence.get("failing", []))
            gateway = evidence.get("gateway")
            if isinstance(gateway, dict):
                gateway_text = "gateway ok" if gateway.get("ok") else "gateway silent"
            else:
                gateway_text = f"gateway: {gateway or 'not probed'}"
            line += f" — {answering}/{total} targets, {gateway_text}"
        return line

    def _log(self, transitions: list[Transition], blips: list[Blip]) -> None:
        for transition in transitions:
            log.info(
                "link_state_changed",
                link=self.name,
                state=transition.state,
                cause=transition.cause,
                since=transition.at.isoformat(),
                outage_kind=transition.outage_kind,
            )
        for blip in blips:
            log.info(
                "blip",
                link=self.name,
                state=blip.state,
                started_at=blip.started_at.isoformat(),
                duration_s=round((blip.ended_at - blip.started_at).total_seconds(), 1),
                cycles=blip.cycles,
                cause=blip.cause,
            )
