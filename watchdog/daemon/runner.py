"""``watchdog run``: the service shell around one ``LinkMonitor`` per link.

APScheduler 3.x (BackgroundScheduler) runs each link's probe cycle as a one-shot job that
schedules its successor when it ends, so a link's cycle never overlaps itself (the links'
cycles run side by side); a maintenance job (roll-ups, retention) every minute; a check of
the system clock's synchronisation at start-up and every minute, recorded with each link's
heartbeat; one delivery job per channel every second; and one job per heartbeat (the
dead-man's switch, ``daemon.heartbeats``), each rescheduling itself too. A transaction that
makes messages due (a cycle's incident, the recovery rush) wakes their channels' delivery at
its commit, so an alert leaves without waiting for the channel's next look. The main thread
waits for signals:

- SIGTERM / SIGINT: let the running cycles finish, close every link's current interval, give
  the outbox a few seconds to send what it can (and the heartbeats to say the watchdog
  stops), exit 0;
- SIGHUP: reload the config, validated first; on error the old one stays and one clear error
  is logged.

Under systemd (``Type=notify``) it says ``READY=1`` once every link has completed its first
cycle, ``WATCHDOG=1`` each time every link has completed a cycle since the last one (a link
whose cycles are stuck stops feeding systemd's watchdog), and a one-line ``STATUS=``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from watchdog import clock, memory
from watchdog.config import Config
from watchdog.config.zone import site_zone
from watchdog.daemon import notify
from watchdog.daemon.clock_sync import clock_synchronised
from watchdog.daemon.failures import FailureLog
from watchdog.daemon.heartbeats import Heartbeats
from watchdog.daemon.monitor import LinkMonitor
from watchdog.daemon.routes import RouteChooser
from watchdog.delivery.outbox import due_channels
from watchdog.errors import ConfigError
from watchdog.logs import get_logger
from watchdog.probes.gateway import default_gateway
from watchdog.probes.ping import detect_ping_mode

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from watchdog.delivery.worker import Deliverer
    from watchdog.store.writer import Store

log = get_logger("watchdog.daemon")

MAINTENANCE_INTERVAL = timedelta(minutes=1)
# The system clock's synchronisation is checked this often (one cheap syscall, not per cycle).
CLOCK_CHECK_INTERVAL = timedelta(minutes=1)
# Each channel's outbox is looked at this often (its own job: a slow channel holds no other),
# and at once when a commit made one of its messages due (``Daemon.wake``).
DELIVERY_INTERVAL = timedelta(seconds=1)
# On SIGTERM, the outbox gets this long to send what it can before the process exits.
FLUSH_SECONDS = 5.0
# Malloc arenas the daemon's threads share (glibc's default: up to 8 per core, one per thread
# here); measured at the defaults (bench resources): a few hundred kB less resident.
MALLOC_ARENAS = 2
CYCLE_JOB = "probe-cycle"
HEARTBEAT_JOB = "heartbeat"


class Daemon:
    """The running watchdog: the scheduler, signals, reload, delivery jobs and sd_notify
    around one ``LinkMonitor`` per link of the config."""

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
        clock_reader: Callable[[], bool | None] = clock_synchronised,
    ) -> None:
        self.store = store
        self.clock_reader = clock_reader
        # The last answer of ``clock_reader`` (None: none yet), to log changes only.
        self._clock_answer: tuple[bool | None] | None = None
        self.deliverer = deliverer
        self.privileged = privileged
        self.now = now
        self.reload_config = reload_config
        self.on_config = on_config
        self.monitors = [
            LinkMonitor(link, config, store, privileged=privileged, now=now,
                        gateway_lookup=gateway_lookup)
            for link in config.links
        ]
        # Messages leave through the uplink that works (the default route while the primary
        # does): the delivery loop asks before each attempt.
        self.routes = RouteChooser(self.monitors)
        if deliverer is not None:
            deliverer.route = self.routes.binding
        self.heartbeats = Heartbeats(config, store, self.monitors, now=now,
                                     route=self.routes.binding)
        # Links that completed a cycle since systemd's watchdog was last fed.
        self._cycled: set[str] = set()
        # The jobs' failures, each said once (a full database fails them all, every run).
        self.failures = FailureLog()
        self._ready = False
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self._notify_lock = threading.Lock()
        # Channels woken since their delivery pass began; with the lock, a wake either finds
        # the channel's next job scheduled or is seen by the pass as it ends.
        self._woken: set[str] = set()
        self._wake_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        self.apply(config)

    def apply(self, config: Config) -> None:
        """Use ``config`` from every link's next cycle on."""
        self.config = config
        self.zone = site_zone(config)
        for monitor in self.monitors:
            monitor.apply(config)
        self.heartbeats.apply(config)

    def resume(self) -> None:
        """Every link's ``LinkMonitor.resume``: the gap since its heartbeat becomes history."""
        for monitor in self.monitors:
            monitor.resume()

    def status_line(self) -> str:
        """One line for ``systemctl status``: each link's state, since when, its targets; and
        whether the database is held in memory (the readers then show the file's older state)."""
        if len(self.monitors) == 1:
            line = self.monitors[0].status_line()
        else:
            line = "; ".join(f"{monitor.name}: {monitor.status_line()}"
                             for monitor in self.monitors)
        if self.store.held_in_memory:
            line += " — database held in memory: its file system takes no writes"
        return line

    def maintain(self) -> None:
        """Roll up and prune; a failure is logged and retried next minute. Then what the
        minute's work freed goes back to the system."""
        try:
            self.store.maintain(self.now(), self.config.storage)
        except Exception as error:  # keep the daemon alive; the next run retries
            self.failures.failed("maintenance", "maintenance_failed", error)
        else:
            self.failures.succeeded("maintenance", "maintenance_recovered")
        memory.give_back()

    def check_clock(self) -> None:
        """Record whether the system clock is synchronised with every link's heartbeat; say
        so in the log when that changes. A failed write is logged and retried next minute."""
        synced = self.clock_reader()
        try:
            self.store.record_clock(self.now(), synced)
        except Exception as error:  # keep the daemon alive; the next check retries
            self.failures.failed("clock_check", "clock_check_failed", error)
            return
        self.failures.succeeded("clock_check", "clock_check_recovered")
        if synced is not True and self._clock_answer != (synced,):
            log.warning("clock_not_synchronised", synced=synced,
                        hint="recorded times may drift; enable NTP (timedatectl set-ntp true)")
        self._clock_answer = (synced,)

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
        with self._wake_lock:
            self._woken.discard(channel)
        self._deliver(channel)
        if self.stopping.is_set() or self.deliverer is None:
            return
        if channel in self.deliverer.senders:
            with self._wake_lock:
                # Woken during the pass: a message committed after its claim waits no longer.
                woken = channel in self._woken
                schedule_once(scheduler, self._deliver_job, f"deliver:{channel}",
                              self.now() if woken else self.now() + DELIVERY_INTERVAL,
                              [channel, scheduler])

    def wake(self, info: Mapping[Any, Any]) -> None:
        """Start the delivery of every channel a committed transaction (its session's
        ``info``) made messages due in now, instead of at its next look (the store's
        ``after_commit`` while serving). A channel whose pass is running passes again as it
        ends."""
        channels = due_channels(info)
        scheduler, deliverer = self._scheduler, self.deliverer
        if not channels or scheduler is None or deliverer is None:
            return
        names = [name for name in deliverer.senders if None in channels or name in channels]
        from apscheduler.jobstores.base import JobLookupError

        with self._wake_lock:
            for channel in sorted(names):
                self._woken.add(channel)
                with contextlib.suppress(JobLookupError):  # its pass is running
                    scheduler.modify_job(f"deliver:{channel}", next_run_time=self.now())

    def _heartbeat_job(self, name: str, scheduler: BackgroundScheduler) -> None:
        """One turn of the heartbeat ``name``, then its next when it says (none once the
        config no longer has it). A turn never raises, and a service that does not answer
        holds up this job alone, for its timeout at most."""
        next_at = self.heartbeats.beat(name)
        if next_at is None or self.stopping.is_set():
            return
        schedule_once(scheduler, self._heartbeat_job, f"{HEARTBEAT_JOB}:{name}", next_at,
                      [name, scheduler])

    def _schedule_heartbeats(self, scheduler: BackgroundScheduler) -> None:
        """One job per heartbeat, its first turn now; called at start and after a reload
        (a removed heartbeat's job ends at its next turn, a new one starts now)."""
        scheduled = {job.id for job in scheduler.get_jobs()}
        for name in self.heartbeats.names:
            if f"{HEARTBEAT_JOB}:{name}" not in scheduled:
                schedule_once(scheduler, self._heartbeat_job, f"{HEARTBEAT_JOB}:{name}",
                              self.now(), [name, scheduler])

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
        self.apply(config)
        if self.on_config is not None:
            self.on_config(config)
        log.info("config_reloaded", source=str(config.source))
        notify.notify("READY=1", f"STATUS={self.status_line()}")
        return True

    # --- the scheduled loop ------------------------------------------------------------

    def _cycle_job(self, monitor: LinkMonitor, scheduler: BackgroundScheduler) -> None:
        """One cycle of ``monitor``'s link, then its next one when its cadence says."""
        started = self.now()
        try:
            result = monitor.cycle()
            started, finished = result.started_at, self.now()
        except Exception as error:  # a broken cycle must not stop the heartbeat
            self.failures.failed(f"cycle:{monitor.name}", "cycle_failed", error,
                                 link=monitor.name)
            finished = self.now()
        else:
            self.failures.succeeded(f"cycle:{monitor.name}", "cycle_recovered",
                                    link=monitor.name)
            self._completed(monitor)
        if self.stopping.is_set():
            return
        schedule_once(scheduler, self._cycle_job, self._cycle_job_id(monitor),
                      monitor.next_cycle_at(started, finished), [monitor, scheduler])

    def _completed(self, monitor: LinkMonitor) -> None:
        """Feed systemd's watchdog once every link has completed a cycle since the last time:
        only completed cycles count, so a stuck link gets the service restarted."""
        with self._notify_lock:
            self._cycled.add(monitor.name)
            if len(self._cycled) < len(self.monitors):
                return
            self._cycled.clear()
            ready = "WATCHDOG=1" if self._ready else "READY=1"
            self._ready = True
        if ready == "READY=1":
            # Start-up is over (imports, the first cycles): its garbage goes back now.
            memory.give_back()
        notify.notify(ready, "WATCHDOG=1", f"STATUS={self.status_line()}")

    def _cycle_job_id(self, monitor: LinkMonitor) -> str:
        return CYCLE_JOB if len(self.monitors) == 1 else f"{CYCLE_JOB}:{monitor.name}"

    def _schedule_delivery(self, scheduler: BackgroundScheduler) -> None:
        """One job per channel; called at start and after a reload changed the channels."""
        wanted = set(self.deliverer.senders) if self.deliverer else set()
        for job in scheduler.get_jobs():
            if job.id.startswith("deliver:") and job.id[len("deliver:"):] not in wanted:
                job.remove()
        scheduled = {job.id for job in scheduler.get_jobs()}
        for channel in sorted(wanted):
            if f"deliver:{channel}" not in scheduled:
                schedule_once(scheduler, self._deliver_job, f"deliver:{channel}", self.now(),
                              [channel, scheduler])

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
        self.check_clock()
        channels = list(self.deliverer.senders) if self.deliverer else []
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": {"type": "threadpool",
                                   "max_workers": 8 + len(channels) + len(self.heartbeats.names)}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        for monitor in self.monitors:
            schedule_once(scheduler, self._cycle_job, self._cycle_job_id(monitor), self.now(),
                          [monitor, scheduler])
        scheduler.add_job(self.maintain, "interval",
                          seconds=MAINTENANCE_INTERVAL.total_seconds(), id="maintenance")
        scheduler.add_job(self.check_clock, "interval",
                          seconds=CLOCK_CHECK_INTERVAL.total_seconds(), id="clock")
        self._schedule_delivery(scheduler)
        self._schedule_heartbeats(scheduler)
        self._scheduler = scheduler
        self.store.after_commit = self.wake

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
            links=[monitor.name for monitor in self.monitors],
            ping_targets=len(self.config.ping),
            dns_checks=len(self.config.dns),
            http_checks=len(self.config.http),
            channels=channels,
            heartbeats=self.heartbeats.names,
            ping_mode="raw" if self.privileged else "unprivileged",
        )
        try:
            while not self.stopping.wait(timeout=1.0):
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    if self.reload():
                        self._schedule_delivery(scheduler)
                        self._schedule_heartbeats(scheduler)
        finally:
            self.store.after_commit = None
            self._scheduler = None
            notify.notify("STOPPING=1", "STATUS=stopping: finishing the cycles")
            scheduler.shutdown(wait=True)  # lets the running cycles (and sends) finish
            self.store.shutdown(self.now())
            # The heartbeats' last word and the outbox's flush, side by side.
            last_word = threading.Thread(target=self.heartbeats.stop, args=[FLUSH_SECONDS],
                                         daemon=True)
            last_word.start()
            self.flush()
            last_word.join(FLUSH_SECONDS)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for monitor in self.monitors:
            log.info("stopped", link=monitor.name, cycles=monitor.cycles,
                     state=monitor.tracker.state)
        return 0


def schedule_once(scheduler: BackgroundScheduler, function: Callable[..., None], job_id: str,
                  run_date: datetime, args: list[Any]) -> None:
    """Add (or replace) the one-shot job ``job_id``: ``function(*args)`` at ``run_date``.

    The cycle and delivery jobs schedule their successor this way as they end, so a run never
    overlaps the next. The successor may be due at once (a cycle that outlasted its interval on
    a busy machine) while the run that scheduled it is still counted as running; with
    APScheduler's ``max_instances=1`` it would then be skipped, and a skipped one-shot job is
    gone: the link would never be probed again. Two instances cover that last moment; the
    work itself never overlaps (each run schedules the next only when it ends).
    """
    scheduler.add_job(function, "date", run_date=run_date, args=args, id=job_id,
                      replace_existing=True, misfire_grace_time=None, max_instances=2)


def _keep_database(config: Config, current: Config) -> Config:
    import dataclasses

    return dataclasses.replace(
        config, storage=dataclasses.replace(config.storage, database=current.storage.database))


def run(config: Config, reload_config: Callable[[], Config] | None = None) -> int:
    """Entry point of ``watchdog run``: check the host, open the store, serve."""
    from watchdog.delivery.senders import build_senders
    from watchdog.delivery.worker import Deliverer
    from watchdog.incidents.service import IncidentService
    from watchdog.store.writer import Store

    privileged = detect_ping_mode()
    store = Store.open_for_daemon(config.storage.database)
    incidents = IncidentService(config)
    store.on_cycle = incidents.after_cycle
    store.on_resume = incidents.after_resume
    deliverer = Deliverer(store, build_senders(config, site_zone(config)))
    # [web]: its own threads, reading the database read-only; None when off.
    web = None
    if config.web.enabled:
        from watchdog.store.heartbeat_reader import last_sent
        from watchdog.web.server import start_web

        web = start_web(config, heartbeat_sent=lambda: last_sent(config.storage.database))

    def on_config(new: Config) -> None:
        incidents.config = new
        deliverer.senders = build_senders(new, site_zone(new))
        if web is not None:
            web.apply(new)

    try:
        return Daemon(config, store, privileged=privileged, deliverer=deliverer,
                      reload_config=reload_config, on_config=on_config).serve()
    finally:
        if web is not None:
            web.stop()
        store.close()
