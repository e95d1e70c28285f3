"""``watchdog run``: probe on schedule, track the link, record every cycle, deliver messages.

APScheduler 3.x (BackgroundScheduler) runs the probe cycle as a one-shot job that schedules
its successor when it ends, so a cycle never overlaps itself; a maintenance job (roll-ups,
retention) every minute; and one delivery job per channel every second. The main thread
waits for signals:

- SIGTERM / SIGINT: let the running cycle finish, close the current interval, give the outbox
  a few seconds to send what it can, exit 0;
- SIGHUP: reload the config, validated first; on error the old one stays and one clear error
  is logged.

Under systemd (``Type=notify``) it says ``READY=1`` after the first cycle, ``WATCHDOG=1``
after every completed cycle, and a one-line ``STATUS=``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from watchdog import clock
from watchdog.config import Config
from watchdog.config.zone import site_zone
from watchdog.daemon import notify
from watchdog.daemon.cadence import Cadence
from watchdog.errors import ConfigError
from watchdog.link.classify import Policy, quorum_failed
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
# On SIGTERM, the outbox gets this long to send what it can before the process exits.
FLUSH_SECONDS = 5.0
# A cycle that starts this many ping intervals after the last one (the server was suspended,
# or the process stalled) turns the silence into an ``unknown`` interval, as a restart does.
STALL_INTERVALS = 5
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
        reload_config: Callable[[], Config] | None = None,
        on_config: Callable[[Config], None] | None = None,
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.privileged = privileged
        self.now = now
        self.gateway_lookup = gateway_lookup
        self.reload_config = reload_config
        self.on_config = on_config
        self.tracker = TrackerState.start(now())
        self.last_run: dict[str, datetime] = {}
        self.last_cycle_at: datetime | None = None
        self.cycles = 0
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self._lock = threading.Lock()
        self.apply(config)

    def apply(self, config: Config) -> None:
        """Use ``config`` from the next cycle on."""
        self.config = config
        self.policy = Policy.from_config(config)
        self.cadence = Cadence.from_config(config)
        self.zone = site_zone(config)

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
            if self._stalled(started):
                self.resume()  # the silence becomes an unknown interval, as after a restart
            retry = self.tracker.retry_kinds() if self.tracker.suspect else frozenset()
            # While the internet is unreachable, DNS and web checks can tell nothing.
            cut_off = self.tracker.state == "lan_down" or (
                self.tracker.state == "down" and self.tracker.outage_kind != "dns")
            dns = bool(self.config.dns) and (not cut_off or "dns" in retry) and (
                self.cadence.check_due("dns", started, self.last_run.get("dns"), retry))
            http = bool(self.config.http) and (not cut_off or "http" in retry) and (
                self.cadence.check_due("http", started, self.last_run.get("http"), retry))
            policy = self.policy
            plan = plan_for(
                self.config, dns=dns, http=http, privileged=self.privileged,
                gateway_address=self._gateway_address(),
                abandon_checks_if=lambda results: quorum_failed(results, policy),
            )
            result = run_cycle(plan)
            for kind in ("dns", "http"):
                if kind in result.kinds:
                    self.last_run[kind] = result.started_at
            self.tracker, transitions, blips = advance(self.tracker, result, self.policy)
            finished = self.now()
            self.store.record_cycle(result, transitions, blips, finished)
            self.last_cycle_at = finished
            self.cycles += 1
            self._log(transitions, blips)
            return result

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

    def _gateway_address(self) -> str | None:
        if not self.config.gateway.enabled:
            return None
        return self.config.gateway.address or self.gateway_lookup()

    def status_line(self) -> str:
        """One line for ``systemctl status``: "up since 14:02 — 3/3 targets, gateway ok"."""
        tracker = self.tracker
        since = tracker.since.astimezone(self.zone).strftime("%H:%M")
        line = f"{tracker.state} since {since}"
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

    def _deliver(self, channel: str) -> None:
        if self.deliverer is None:
            return
        try:
            self.deliverer.deliver(channel)
        except Exception as error:  # the database was busy or broken: try again next second
            log.error("delivery_pass_failed", channel=channel, error=str(error))

    def _deliver_job(self, channel: str, scheduler: BackgroundScheduler) -> None:
        """One channel's pass, then the next one a second after it ends.

        Like the cycle, it schedules its successor, so a send that hangs for its whole timeout
        (the relay is behind the dead internet) delays only this channel and never piles up
        skipped runs.
        """
        self._deliver(channel)
        if self.stopping.is_set() or self.deliverer is None:
            return
        if channel in self.deliverer.senders:
            scheduler.add_job(self._deliver_job, "date", args=[channel, scheduler],
                              run_date=self.now() + DELIVERY_INTERVAL, id=f"deliver:{channel}",
                              replace_existing=True, misfire_grace_time=None)

    # --- reload ------------------------------------------------------------------------

    def reload(self) -> bool:
        """Read the config again; keep the old one (and say why) when the new one is bad."""
        if self.reload_config is None:
            return False
        notify.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            config = self.reload_config()
        except ConfigError as error:
            log.error("config_reload_failed", problems=error.problems,
                      hint="the previous configuration stays in force; fix the file and "
                           "send SIGHUP again")
            notify.notify("READY=1", f"STATUS=config reload failed; {self.status_line()}")
            return False
        if config.storage.database != self.config.storage.database:
            log.warning("config_reload_partial", key="storage.database",
                        hint="a new database path takes effect at the next restart")
            config = _keep_database(config, self.config)
        with self._lock:
            self.apply(config)
        if self.on_config is not None:
            self.on_config(config)
        log.info("config_reloaded", source=str(config.source))
        notify.notify("READY=1", f"STATUS={self.status_line()}")
        return True

    # --- the scheduled loop ------------------------------------------------------------

    def _cycle_job(self, scheduler: BackgroundScheduler) -> None:
        started = self.now()
        try:
            result = self.cycle()
            started, finished = result.started_at, self.now()
        except Exception as error:  # a broken cycle must not stop the heartbeat
            log.error("cycle_failed", error=str(error), error_type=type(error).__name__)
            finished = self.now()
        else:
            # Only a completed cycle feeds systemd's watchdog: a stuck loop gets restarted.
            ready = "READY=1" if self.cycles == 1 else "WATCHDOG=1"
            notify.notify(ready, "WATCHDOG=1", f"STATUS={self.status_line()}")
        if self.stopping.is_set():
            return
        next_at = self.cadence.next_cycle_at(started, finished, suspect=self.tracker.suspect)
        scheduler.add_job(
            self._cycle_job, "date", run_date=next_at, args=[scheduler], id=CYCLE_JOB,
            replace_existing=True, misfire_grace_time=None,
        )

    def _schedule_delivery(self, scheduler: BackgroundScheduler) -> None:
        """One job per channel; called at start and after a reload changed the channels."""
        wanted = set(self.deliverer.senders) if self.deliverer else set()
        for job in scheduler.get_jobs():
            if job.id.startswith("deliver:") and job.id[len("deliver:"):] not in wanted:
                job.remove()
        scheduled = {job.id for job in scheduler.get_jobs()}
        for channel in sorted(wanted):
            if f"deliver:{channel}" not in scheduled:
                scheduler.add_job(self._deliver_job, "date", args=[channel, scheduler],
                                  run_date=self.now(), id=f"deliver:{channel}",
                                  misfire_grace_time=None)

    def flush(self, seconds: float = FLUSH_SECONDS) -> None:
        """Give every channel up to ``seconds`` to send what is due (at shutdown).

        Each channel flushes in its own thread; one still blocked at the deadline is left
        behind: its message stays claimed and is sent again, with the same id, next start.
        """
        deliverer = self.deliverer
        if deliverer is None or not deliverer.senders:
            return
        threads = [threading.Thread(target=self._deliver, args=[name], daemon=True)
                   for name in deliverer.senders]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit code (0 after a clean stop)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        self.resume()
        channels = list(self.deliverer.senders) if self.deliverer else []
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": {"type": "threadpool", "max_workers": 8 + len(channels)}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        scheduler.add_job(self._cycle_job, "date", run_date=self.now(), args=[scheduler],
                          id=CYCLE_JOB, misfire_grace_time=None)
        scheduler.add_job(self.maintain, "interval",
                          seconds=MAINTENANCE_INTERVAL.total_seconds(), id="maintenance")
        self._schedule_delivery(scheduler)

        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping", signal=signal.Signals(signum).name)
            self.stopping.set()

        def hang_up(_signum: int, _frame: FrameType | None) -> None:
            self.reload_requested.set()

        handlers: dict[signal.Signals, Callable[[int, FrameType | None], None]] = {
            signal.SIGTERM: stop, signal.SIGINT: stop, signal.SIGHUP: hang_up,
        }
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        scheduler.start()
        log.info(
            "started",
            database=str(self.config.storage.database),
            ping_targets=len(self.config.ping),
            dns_checks=len(self.config.dns),
            http_checks=len(self.config.http),
            channels=channels,
            ping_mode="raw" if self.privileged else "unprivileged",
        )
        try:
            while not self.stopping.wait(timeout=1.0):
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    if self.reload():
                        self._schedule_delivery(scheduler)
        finally:
            notify.notify("STOPPING=1", "STATUS=stopping: finishing the cycle")
            scheduler.shutdown(wait=True)  # lets the running cycle (and sends) finish
            with self._lock:
                self.store.shutdown(self.now())
            self.flush()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("stopped", cycles=self.cycles, state=self.tracker.state)
        return 0


def _keep_database(config: Config, current: Config) -> Config:
    import dataclasses

    return dataclasses.replace(
        config, storage=dataclasses.replace(config.storage, database=current.storage.database))


def run(config: Config, reload_config: Callable[[], Config] | None = None) -> int:
    """Entry point of ``watchdog run``: check the host, open the store, serve."""
    from watchdog.delivery.senders import build_senders
    from watchdog.delivery.worker import Deliverer
    from watchdog.incidents.service import IncidentService
    from watchdog.store.files import hold_writer_lock
    from watchdog.store.migrate import migrate_in_child, needs_migration
    from watchdog.store.writer import Store

    privileged = detect_ping_mode()
    lock = hold_writer_lock(config.storage.database)
    if needs_migration(config.storage.database):
        # In a child: the daemon itself never carries Alembic in memory.
        migrate_in_child(config.storage.database)
    store = Store.open(config.storage.database, migrate=True)
    incidents = IncidentService(config)
    store.on_cycle = incidents.after_cycle
    store.on_resume = incidents.after_resume
    deliverer = Deliverer(store, build_senders(config, site_zone(config)))

    def on_config(new: Config) -> None:
        incidents.config = new
        deliverer.senders = build_senders(new, site_zone(new))

    try:
        return Daemon(config, store, privileged=privileged, deliverer=deliverer,
                      reload_config=reload_config, on_config=on_config).serve()
    finally:
        store.close()
        lock.close()
