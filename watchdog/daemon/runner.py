"""``watchdog run``: probe on schedule, track the link, record every cycle.

APScheduler 3.x (BackgroundScheduler) runs the probe cycle as a one-shot job that schedules
its successor when it ends, so a cycle never overlaps itself, and a maintenance job (roll-ups,
retention) every minute. The main thread waits for SIGTERM or SIGINT, then lets the running
cycle finish, closes the current interval and exits 0.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from watchdog import clock
from watchdog.config import Config
from watchdog.daemon.cadence import Cadence
from watchdog.link.classify import Policy
from watchdog.link.states import Blip, Transition
from watchdog.link.tracker import TrackerState, advance
from watchdog.logs import get_logger
from watchdog.probes.cycle import plan_for, run_cycle
from watchdog.probes.gateway import default_gateway
from watchdog.probes.ping import detect_ping_mode
from watchdog.probes.results import CycleResult

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from watchdog.delivery.worker import Deliverer
    from watchdog.store.writer import Store

log = get_logger("watchdog.daemon")

MAINTENANCE_INTERVAL = timedelta(minutes=1)
# Each channel's outbox is looked at this often (its own job: a slow channel holds no other).
DELIVERY_INTERVAL = timedelta(seconds=1)
CYCLE_JOB = "probe-cycle"


class Daemon:
    """The running watchdog: owns the tracker, the store and the scheduler."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        privileged: bool,
        now: Callable[[], datetime] = clock.utcnow,
        gateway_lookup: Callable[[], str | None] = default_gateway,
        deliverer: Deliverer | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.deliverer = deliverer
        self.privileged = privileged
        self.now = now
        self.gateway_lookup = gateway_lookup
        self.policy = Policy.from_config(config)
        self.cadence = Cadence.from_config(config)
        self.tracker = TrackerState.start(now())
        self.last_run: dict[str, datetime] = {}
        self.cycles = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    # --- one cycle ---------------------------------------------------------------------

    def resume(self) -> None:
        """Turn the gap since the last heartbeat into history and set the tracker's start."""
        info = self.store.resume(self.now(), self.config.schedule.ping_interval)
        self.tracker = TrackerState.start(
            info.since, state=info.state, cause=info.cause, outage_kind=info.outage_kind
        )
        log.info("resumed", state=info.state, since=info.since.isoformat(), cause=info.cause)

    def cycle(self) -> CycleResult:
        """Run one probe cycle, fold it into the tracker and record it in one transaction."""
        with self._lock:
            started = self.now()
            retry = self.tracker.retry_kinds() if self.tracker.suspect else frozenset()
            dns = bool(self.config.dns) and self.cadence.check_due(
                "dns", started, self.last_run.get("dns"), retry)
            http = bool(self.config.http) and self.cadence.check_due(
                "http", started, self.last_run.get("http"), retry)
            plan = plan_for(
                self.config, dns=dns, http=http, privileged=self.privileged,
                gateway_address=self._gateway_address(),
            )
            result = run_cycle(plan)
            for kind in ("dns", "http"):
                if kind in result.kinds:
                    self.last_run[kind] = result.started_at
            self.tracker, transitions, blips = advance(self.tracker, result, self.policy)
            self.store.record_cycle(result, transitions, blips, self.now())
            self.cycles += 1
            self._log(transitions, blips)
            return result

    def _gateway_address(self) -> str | None:
        if not self.config.gateway.enabled:
            return None
        return self.config.gateway.address or self.gateway_lookup()

    def _log(self, transitions: list[Transition], blips: list[Blip]) -> None:
        for transition in transitions:
            log.info(
                "link_state_changed",
                state=transition.state,
                cause=transition.cause,
                since=transition.at.isoformat(),
                outage_kind=transition.outage_kind,
            )
        for blip in blips:
            log.info(
                "blip",
                state=blip.state,
                started_at=blip.started_at.isoformat(),
                duration_s=round((blip.ended_at - blip.started_at).total_seconds(), 1),
                cycles=blip.cycles,
                cause=blip.cause,
            )

    def maintain(self) -> None:
        """Roll up and prune; a failure is logged and retried next minute."""
        try:
            self.store.maintain(self.now(), self.config.storage)
        except Exception as error:  # keep the daemon alive; the next run retries
            log.error("maintenance_failed", error=str(error))

    def _deliver_job(self, channel: str) -> None:
        assert self.deliverer is not None
        try:
            self.deliverer.deliver(channel)
        except Exception as error:  # the database was busy or broken: try again next second
            log.error("delivery_pass_failed", channel=channel, error=str(error))

    # --- the scheduled loop ------------------------------------------------------------

    def _cycle_job(self, scheduler: BackgroundScheduler) -> None:
        started = self.now()
        try:
            result = self.cycle()
            started, finished = result.started_at, self.now()
        except Exception as error:  # a broken cycle must not stop the heartbeat
            log.error("cycle_failed", error=str(error), error_type=type(error).__name__)
            finished = self.now()
        if self.stopping.is_set():
            return
        next_at = self.cadence.next_cycle_at(started, finished, suspect=self.tracker.suspect)
        scheduler.add_job(
            self._cycle_job, "date", run_date=next_at, args=[scheduler], id=CYCLE_JOB,
            replace_existing=True, misfire_grace_time=None,
        )

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit code (0 after a clean stop)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        self.resume()
        channels = list(self.deliverer.senders) if self.deliverer else []
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": {"type": "threadpool", "max_workers": 4 + len(channels)}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        scheduler.add_job(self._cycle_job, "date", run_date=self.now(), args=[scheduler],
                          id=CYCLE_JOB, misfire_grace_time=None)
        scheduler.add_job(self.maintain, "interval",
                          seconds=MAINTENANCE_INTERVAL.total_seconds(), id="maintenance")
        for channel in channels:
            scheduler.add_job(self._deliver_job, "interval", args=[channel],
                              seconds=DELIVERY_INTERVAL.total_seconds(), id=f"deliver:{channel}")

        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping", signal=signal.Signals(signum).name)
            self.stopping.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        scheduler.start()
        log.info(
            "started",
            database=str(self.config.storage.database),
            ping_targets=len(self.config.ping),
            dns_checks=len(self.config.dns),
            http_checks=len(self.config.http),
            ping_mode="raw" if self.privileged else "unprivileged",
        )
        try:
            while not self.stopping.wait(timeout=1.0):
                pass
        finally:
            scheduler.shutdown(wait=True)  # lets the running cycle finish
            with self._lock:
                self.store.shutdown(self.now())
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("stopped", cycles=self.cycles, state=self.tracker.state)
        return 0


def run(config: Config) -> int:
    """Entry point of ``watchdog run``: check the host, open the store, serve."""
    from watchdog.config.zone import site_zone
    from watchdog.delivery.senders import build_senders
    from watchdog.delivery.worker import Deliverer
    from watchdog.incidents.service import IncidentService
    from watchdog.store.writer import Store

    privileged = detect_ping_mode()
    store = Store.open(config.storage.database, migrate=True)
    incidents = IncidentService(config)
    store.on_cycle = incidents.after_cycle
    store.on_resume = incidents.after_resume
    deliverer = Deliverer(store, build_senders(config, site_zone(config)))
    try:
        return Daemon(config, store, privileged=privileged, deliverer=deliverer).serve()
    finally:
        store.close()

