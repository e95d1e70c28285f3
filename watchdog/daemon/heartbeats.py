"""The dead-man's switch in the daemon: each ``[[heartbeat]]`` takes its turn on its own.

``Heartbeats.beat(name)`` is one turn of one heartbeat, run by its own scheduler job (the
``Daemon`` reschedules it at the time ``beat`` returns), so a slow or dead service holds up
no probe cycle and no other heartbeat. A turn never raises: whatever goes wrong is logged and
the next turn comes an interval later.

The turns of one heartbeat:

1. at the daemon's start, ``start`` (healthchecks' ``/start``; nothing for Uptime Kuma);
2. as soon as a link's state is known, and then every ``interval``: the state of the link it
   follows, or of the site (``heartbeats.site``): ``fail`` with the cause while down or
   degraded, else ``up``, with the summary of the outages that ended since the last summary
   the service took (read from the database, so a restart loses none and a cut shorter than
   an interval is reported too);
3. at a clean stop, a note (``/log``) that the silence to come is a stop, not a cut.

Each send is recorded (``store.heartbeat_pings``) for ``watchdog status`` and ``/metrics``;
only changes (a first send, another signal, taken or not) are logged, never the URL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from watchdog import clock
from watchdog.binding import Binding, outbound, outbound_for
from watchdog.channels.errors import origin
from watchdog.config import Config
from watchdog.config.schema import HeartbeatConfig
from watchdog.config.zone import site_zone
from watchdog.heartbeats.pings import Ping, start_ping, state_ping, stop_ping
from watchdog.heartbeats.site import LinkView, site_view
from watchdog.heartbeats.styles import HeartbeatRequest, request_for
from watchdog.link.classify import window_stats
from watchdog.link.states import is_outage
from watchdog.logs import get_logger
from watchdog.store import heartbeat_pings
from watchdog.store.heartbeat_reader import ended_outages, outage_baseline, read_heartbeats

if TYPE_CHECKING:
    from watchdog.daemon.monitor import LinkMonitor
    from watchdog.heartbeats.transport import Answer
    from watchdog.store.writer import Store

log = get_logger("watchdog.heartbeat")

# While no link's state is known yet (the first cycles), look again this soon.
FIRST_LOOK = timedelta(seconds=1)

# send(request, timeout=seconds, binding=...) -> Answer: transport.send, or a test's.
SendFunction = Callable[..., "Answer"]


@dataclass
class _Memory:
    """What one heartbeat remembers between its turns."""

    started: bool = False
    # The newest outage already reported (None until read from the database).
    reported_outage: int | None = None
    # (signal, taken) of the last send: only a change is logged.
    last: tuple[str, bool] | None = None


def link_view(monitor: LinkMonitor) -> LinkView:
    """``monitor``'s link as a heartbeat reports it: its tracker's state, or ``maintenance``
    while the timeline shows a window's works."""
    tracker = monitor.tracker  # replaced whole by each cycle: read once, consistent
    works = monitor.works
    # The window holds the cycles that reached the internet: during an outage, old ones.
    rtt_ms = None if is_outage(tracker.state) else window_stats(tracker.window)[2]
    if works is not None:
        return LinkView(monitor.name, "maintenance", works.since, works.reason, rtt_ms=rtt_ms,
                        until=works.until)
    return LinkView(monitor.name, tracker.state, tracker.since, tracker.cause,
                    tracker.outage_kind, rtt_ms)


class Heartbeats:
    """The heartbeats of ``config`` over the links ``monitors`` watch."""

    def __init__(
        self,
        config: Config,
        store: Store,
        monitors: Sequence[LinkMonitor],
        *,
        now: Callable[[], datetime] = clock.utcnow,
        send: SendFunction | None = None,
        route: Callable[[], Binding | None] | None = None,
    ) -> None:
        self.store = store
        self.monitors = monitors
        self.now = now
        self._send_function = send
        # Which uplink messages leave through now (``daemon.routes``); None: the default route.
        self.route = route
        self._memory: dict[str, _Memory] = {}
        self.apply(config)

    def apply(self, config: Config) -> None:
        """Use ``config``'s heartbeats from their next turn on (a removed one stops)."""
        self.config = config
        self.zone = site_zone(config)
        self.entries = {entry.name: entry for entry in config.heartbeat}

    @property
    def names(self) -> list[str]:
        """The heartbeats configured now, each wanting its own job."""
        return list(self.entries)

    def beat(self, name: str) -> datetime | None:
        """One turn of the heartbeat ``name``; when its next turn is due (None: it is no longer
        configured). Never raises."""
        entry = self.entries.get(name)
        if entry is None:
            return None
        started = self.now()
        try:
            return self._turn(entry, started)
        except Exception as error:  # a heartbeat must never stop the daemon or its own job
            _failed(name, error)
            return started + entry.interval

    def _turn(self, entry: HeartbeatConfig, started: datetime) -> datetime:
        memory = self._memory.setdefault(entry.name, _Memory())
        links = self._links(entry)
        if memory.reported_outage is None:
            memory.reported_outage = self._reported_outage(entry, links)
        if not memory.started:
            memory.started = True
            self._send(entry, start_ping(self.config.site.name, links, entry.interval), memory)
            return started + FIRST_LOOK
        view = site_view([link_view(monitor) for monitor in self.monitors], entry.link)
        if view is None:
            return started + FIRST_LOOK  # nothing known yet, nothing to say
        ended = () if view.failing else ended_outages(
            self.store.path, after=memory.reported_outage, links=links)
        self._send(entry, state_ping(self.config.site.name, view, ended, self.zone, started),
                   memory)
        return max(started + entry.interval, self.now())

    def _links(self, entry: HeartbeatConfig) -> list[str]:
        return [entry.link] if entry.link else [monitor.name for monitor in self.monitors]

    def _reported_outage(self, entry: HeartbeatConfig, links: Sequence[str]) -> int:
        """The newest outage this heartbeat reported before (its record), or, for a new one,
        where its reports begin."""
        for stored in read_heartbeats(self.store.path):
            if stored.name == entry.name and stored.reported_outage_id is not None:
                return stored.reported_outage_id
        return outage_baseline(self.store.path, links=links)

    def _send(self, entry: HeartbeatConfig, ping: Ping, memory: _Memory) -> None:
        """Send ``ping`` (if the style has a word for it), record and log what became of it."""
        if entry.url is None:  # the config was read without its secrets: nothing to send to
            return
        url = entry.url.reveal()
        request = request_for(entry.style, url, ping)
        if request is None:
            return
        sent_at = self.now()
        answer = self._transmit(request, entry)
        if answer.ok and ping.reported_outage is not None:
            memory.reported_outage = ping.reported_outage  # delivered: not to be said again
        self.store.transact(lambda session: heartbeat_pings.record(
            session, entry.name, style=entry.style, host=origin(url), sent_at=sent_at,
            signal=ping.signal, state=ping.state, ok=answer.ok, answer=answer.answer,
            error=answer.error, reported_outage_id=memory.reported_outage))
        if memory.last != (ping.signal, answer.ok):
            report = log.info if answer.ok else log.warning
            report("heartbeat_sent" if answer.ok else "heartbeat_not_taken",
                   heartbeat=entry.name, host=origin(url), signal=ping.signal,
                   state=ping.state, answer=answer.answer, error=answer.error)
        memory.last = (ping.signal, answer.ok)

    def _transmit(self, request: HeartbeatRequest, entry: HeartbeatConfig) -> Answer:
        if self._send_function is None:
            # Loaded on the first send: a daemon without heartbeats never needs it.
            from watchdog.heartbeats.transport import send

            self._send_function = send
        # Through the uplink that works, as the outbox's messages go (a LAN service keeps its
        # own route): during a fibre cut with a 4G uplink, the heartbeats keep coming.
        with outbound(self.route() if self.route is not None else None):
            binding = outbound_for(urlsplit(request.url).hostname or "")
        return self._send_function(request, timeout=entry.timeout.total_seconds(),
                                   binding=binding)

    def stop(self, seconds: float) -> None:
        """At a clean stop: each heartbeat that started says so (a note), all at once, for at
        most ``seconds``; one still waiting then is left behind."""
        ping = stop_ping(self.config.site.name)
        threads = [
            threading.Thread(target=self._stop_one, args=[entry, ping], daemon=True)
            for name, entry in self.entries.items()
            if self._memory.get(name, _Memory()).started
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _stop_one(self, entry: HeartbeatConfig, ping: Ping) -> None:
        try:
            self._send(entry, ping, self._memory[entry.name])
        except Exception as error:  # the process is stopping: say it, nothing more
            _failed(entry.name, error)


def _failed(name: str, error: Exception) -> None:
    """Log a turn that broke (the database was busy...); its URL is in no such error."""
    log.error("heartbeat_turn_failed", heartbeat=name, error=str(error),
              error_type=type(error).__name__)
