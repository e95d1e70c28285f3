"""``/metrics``: the watchdog's figures in Prometheus' text format, with ``prometheus_client``.

A custom collector reads the database at scrape time through the read-only readers
(``read_status``, ``metrics_reader``): nothing is counted in the daemon's memory, so the
figures are those ``watchdog status`` would show, and a scrape costs a few bounded queries.
Imported only when ``[web]`` is enabled: the daemon without it never loads the library.

Names follow Prometheus' conventions (``watchdog_`` prefix, base units: seconds and ratios,
``_total`` for counters, one gauge per state with a ``state`` label); every per-link series
carries ``link`` (``"default"`` for a config that names none), so several uplinks and several
sites (the scrape config's ``site`` label) add up in one Prometheus. ``METRICS`` lists them.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from watchdog import __version__
from watchdog.config.schema import Config
from watchdog.store.metrics_reader import read_link_figures, read_outbox_queues
from watchdog.store.reader import read_status
from watchdog.vocabulary import AVAILABLE_STATES, LINK_STATES

# The classic text format (0.0.4), which generate_latest writes: every Prometheus since 2.0
# reads it (newer clients announce "version=1.0.0", unknown to older servers).
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

#: Every series the collector exposes: name (as scraped), labels, help. The README lists it.
METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("watchdog_build_info", "version, python_version",
     "Always 1; the watchdog's version and Python's in the labels."),
    ("watchdog_link_state", "link, state",
     "1 for the link's current state, 0 for the others (up, degraded, down, lan_down, "
     "unknown, maintenance)."),
    ("watchdog_link_up", "link",
     "1 while the link carries traffic (up or degraded), else 0."),
    ("watchdog_link_state_duration_seconds", "link",
     "Seconds since the link entered its current state."),
    ("watchdog_link_last_cycle_age_seconds", "link",
     "Seconds since the link's monitor last completed a probe cycle."),
    ("watchdog_link_availability_ratio", "link, window",
     "Available time over observed time in the last 24h, 7d, 30d (unknown and maintenance "
     "left out)."),
    ("watchdog_target_success", "link, kind, target",
     "1 when the target's last probe succeeded, 0 when it failed."),
    ("watchdog_target_rtt_seconds", "link, kind, target",
     "Mean round trip of the target's answered probes over the detection window."),
    ("watchdog_target_loss_ratio", "link, kind, target",
     "Share of the target's probes without an answer over the detection window."),
    ("watchdog_outages_total", "link, kind",
     "Outages recorded, by kind (isp, lan, dns)."),
    ("watchdog_tickets_open", "link",
     "Tickets open (a reference, the link still down, not closed by hand)."),
    ("watchdog_tickets_gtr_breached", "link",
     "Open tickets past the contract's guaranteed time to repair."),
    ("watchdog_outbox_queued_messages", "channel",
     "Messages waiting to be sent (pending or being sent)."),
    ("watchdog_outbox_oldest_queued_age_seconds", "channel",
     "Age of the oldest message waiting to be sent (0 when none waits)."),
    ("watchdog_outbox_failed_messages", "channel",
     "Messages given up for good (watchdog outbox lists them)."),
    ("watchdog_heartbeat_last_sent_timestamp_seconds", "",
     "When the dead-man's switch heartbeat was last sent (Unix time); absent until the "
     "daemon has one."),
)
_HELP: Final = {name: text for name, _labels, text in METRICS}

HeartbeatSent = Callable[[], datetime | None]


def _gauge(name: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, _HELP[name], labels=labels)


class WatchdogCollector(Collector):
    """Reads the figures at each scrape. ``config`` is read at every scrape (a reload's new
    links and channels show at once); ``heartbeat_sent`` gives the dead-man's switch's last
    send (None: no heartbeat configured or none sent yet: the series is left out)."""

    def __init__(self, config: Config, now: Callable[[], datetime],
                 heartbeat_sent: HeartbeatSent | None = None) -> None:
        self.config = config
        self.now = now
        self.heartbeat_sent = heartbeat_sent

    def collect(self) -> Iterator[Metric]:
        config, now = self.config, self.now()
        path = config.storage.database
        build = _gauge("watchdog_build_info", ["version", "python_version"])
        build.add_metric([__version__, platform.python_version()], 1)
        yield build
        state = _gauge("watchdog_link_state", ["link", "state"])
        up = _gauge("watchdog_link_up", ["link"])
        duration = _gauge("watchdog_link_state_duration_seconds", ["link"])
        cycle_age = _gauge("watchdog_link_last_cycle_age_seconds", ["link"])
        availability = _gauge("watchdog_link_availability_ratio", ["link", "window"])
        success = _gauge("watchdog_target_success", ["link", "kind", "target"])
        rtt = _gauge("watchdog_target_rtt_seconds", ["link", "kind", "target"])
        loss = _gauge("watchdog_target_loss_ratio", ["link", "kind", "target"])
        outages = CounterMetricFamily("watchdog_outages", _HELP["watchdog_outages_total"],
                                      labels=["link", "kind"])
        tickets = _gauge("watchdog_tickets_open", ["link"])
        breached = _gauge("watchdog_tickets_gtr_breached", ["link"])
        for link in config.links:
            name = link.name
            status = read_status(path, now, link=name)
            figures = read_link_figures(path, now, config.detection.window, link=name)
            for word in LINK_STATES:
                state.add_metric([name, word], 1 if status.state == word else 0)
            up.add_metric([name], 1 if status.state in AVAILABLE_STATES else 0)
            if status.since is not None:
                duration.add_metric([name], max(0.0, (now - status.since).total_seconds()))
            if status.heartbeat is not None:
                cycle_age.add_metric([name], max(0.0, (
                    now - status.heartbeat.last_cycle_at).total_seconds()))
            for window in status.windows:
                if window.uptime_percent is not None:
                    availability.add_metric([name, window.label], window.uptime_percent / 100)
            for target in figures.targets:
                labels = [name, target.kind, target.name]
                if target.last_ok is not None:
                    success.add_metric(labels, 1 if target.last_ok else 0)
                if target.mean_rtt_ms is not None:
                    rtt.add_metric(labels, target.mean_rtt_ms / 1000)
                if target.loss_ratio is not None:
                    loss.add_metric(labels, target.loss_ratio)
            for kind, count in figures.outages.items():
                outages.add_metric([name, kind], count)
            tickets.add_metric([name], figures.tickets_open)
            breached.add_metric([name], figures.tickets_gtr_breached)
        yield from (state, up, duration, cycle_age, availability, success, rtt, loss, outages,
                    tickets, breached)
        yield from self._outbox(config, now)
        sent = self.heartbeat_sent() if self.heartbeat_sent is not None else None
        if sent is not None:
            heartbeat = _gauge("watchdog_heartbeat_last_sent_timestamp_seconds", [])
            heartbeat.add_metric([], sent.timestamp())
            yield heartbeat

    def _outbox(self, config: Config, now: datetime) -> Iterator[Metric]:
        queued = _gauge("watchdog_outbox_queued_messages", ["channel"])
        oldest = _gauge("watchdog_outbox_oldest_queued_age_seconds", ["channel"])
        failed = _gauge("watchdog_outbox_failed_messages", ["channel"])
        for queue in read_outbox_queues(config.storage.database, config.channel_names()):
            queued.add_metric([queue.channel], queue.queued)
            age = 0.0 if queue.oldest_queued_at is None else max(
                0.0, (now - queue.oldest_queued_at).total_seconds())
            oldest.add_metric([queue.channel], age)
            failed.add_metric([queue.channel], queue.failed)
        yield from (queued, oldest, failed)


class MetricsPage:
    """The registry behind ``/metrics``: the watchdog's collector and the process's own
    (``process_resident_memory_bytes``, CPU, open files)."""

    def __init__(self, collector: WatchdogCollector) -> None:
        self.collector = collector
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        ProcessCollector(registry=self.registry)

    def render(self) -> bytes:
        """The exposition text. Raises ``DatabaseError`` when the database cannot be read."""
        return generate_latest(self.registry)
