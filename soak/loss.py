"""Loss: 30 % of the packets lost each way, as on a bad line, with one resolver and with two.

One lab, two daemons in its office at the shipped default schedule and detection, each with
its own database: one asks a single resolver, the other both. Once both record ``up``, the
router drops 30 % of the packets it forwards in each direction (a round trip fails 51 % of
the time) for ``HOLD`` (long: 10 min; short: 30 s, with DNS checked every 5 s instead of 30 s
so that it is asked often enough). Counted per daemon over the hold: outages of any kind
(target 0), the state held most (target ``degraded``), blips. Then, the loss still on, every
resolver goes silent: a real DNS outage, which each daemon must confirm within the detection
time: the next DNS check (``check_interval``), then ``confirm_down`` failing cycles, each as
long as its slowest probe (a cycle starts ``retry_interval`` after the previous one started,
never before it ended: a DNS check waits ``dns_timeout``, and a web check due in the same
cycle, timing out under the loss as TCP may, ``http_timeout``), plus a second. Before it
all, one DNS check is run against a silent resolver on loopback to count the queries it sends
within its timeout: one query is a single chance per round trip, as when the probe does not
retransmit (the issue's false DNS outages under loss): target ≥ 2.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.false_outages import dominant, seconds_by_state
from soak.common import Outputs
from soak.figures import Figure, Size, SuiteResult, at_least, at_most, expect, info
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import read_intervals
from testbed.lab import Lab
from testbed.lab.config import lab_config_document
from testbed.lab.topology import DNS_SERVERS
from testbed.servers.dns_server import DnsServer
from watchdog.config.schema import Config, DnsCheck
from watchdog.store.reader import read_blips, read_outages

LOSS_PERCENT = 30.0
HOLD = {"short": timedelta(seconds=30), "long": timedelta(minutes=10)}
# The short hold is too short for the default 30 s between DNS checks to say anything.
CHECK_INTERVAL = {"short": "5s", "long": None}
EXPECTED_STATE = "degraded"
START_TIMEOUT = 60.0
RESOLVERS = {"one resolver": DNS_SERVERS[:1], "two resolvers": DNS_SERVERS}


def queries_per_check(timeout: float = 1.0) -> int:
    """How many queries one DNS check sends to a resolver that never answers (loopback)."""
    from watchdog.probes.dns import query

    with DnsServer(host="127.0.0.53", port=0, mode="silent") as server:
        check = DnsCheck(name="silent", server=server.host, port=server.port)
        asyncio.run(query(check, timeout=timeout))
        time.sleep(0.1)
        return server.queries


def detection_bound(config: Config) -> timedelta:
    """The time within which a DNS outage must be confirmed at ``config``'s schedule: the next
    DNS check, then ``confirm_down`` cycles as long as their slowest probe can be."""
    schedule, detection = config.schedule, config.detection
    longest_cycle = max(schedule.retry_interval, schedule.dns_timeout, schedule.http_timeout)
    return schedule.check_interval + detection.confirm_down * longest_cycle + timedelta(
        seconds=1)


def _dns_outage_seen(daemon: LabDaemon, since: datetime) -> datetime | None:
    """Now, if a DNS outage that started after ``since`` is recorded (its start is back-dated
    to the first failing check: the instant it is seen is when it was confirmed)."""
    for outage in daemon.outages():
        if outage.kind == "dns" and outage.started_at >= since - timedelta(seconds=5):
            return datetime.now(UTC)
    return None


def _hold_figures(label: str, daemon: LabDaemon, fault_at: datetime,
                  ended_at: datetime) -> tuple[list[Figure], dict[str, Any]]:
    outages = [outage for outage in read_outages(daemon.database, None)
               if (outage.ended_at or ended_at) >= fault_at and outage.started_at <= ended_at]
    blips = [blip for blip in read_blips(daemon.database, None)
             if fault_at <= blip.ended_at and blip.started_at <= ended_at]
    seconds = seconds_by_state(read_intervals(daemon.database), fault_at, ended_at)
    total = sum(seconds.values()) or 1.0
    held = dominant(seconds)
    return [
        at_most(f"{label}: outages during the loss", len(outages)),
        expect(f"{label}: state held most", held, EXPECTED_STATE),
        info(f"{label}:   share of the hold in it", round(100 * seconds.get(held, 0) / total, 1),
             unit="%"),
        info(f"{label}: blips", len(blips)),
    ], {
        "outages": [f"{o.kind} {o.started_at:%H:%M:%S} → "
                    f"{'open' if o.ended_at is None else f'{o.ended_at:%H:%M:%S}'}: {o.cause}"
                    for o in outages],
        "seconds_by_state": {state: round(value, 1) for state, value in seconds.items()},
        "blips": [f"{b.state} {b.started_at:%H:%M:%S} ({b.cycles} cycles): {b.cause}"
                  for b in blips],
    }


def run(size: Size, work: Path) -> SuiteResult:
    """The loss suite at ``size``: one lab, the two daemons side by side."""
    result = SuiteResult("loss", "Loss: 30 % each way, one resolver and two", size)
    outputs = Outputs(work / "outputs")
    queries = queries_per_check()
    # A stub resolver retransmits within its timeout; a check that sends once makes the
    # issue's false DNS outages under loss.
    figures: list[Figure] = [
        at_least("DNS queries one check sends to a silent resolver", queries, 2)]
    details: dict[str, Any] = {"queries_per_check": queries}
    schedule: dict[str, Any] | None = None  # None: the section left out, every default
    if CHECK_INTERVAL[size]:
        # The lab's quick schedule removed key by key, but for the DNS checks' interval.
        lab_schedule = lab_config_document(work / "unused.db")["schedule"]
        schedule = {**dict.fromkeys(lab_schedule), "check_interval": CHECK_INTERVAL[size]}
    with Lab() as lab:
        daemons: dict[str, LabDaemon] = {}
        try:
            for label, resolvers in RESOLVERS.items():
                directory = work / label.replace(" ", "-")
                config = lab.write_config(
                    directory / "watchdog.toml", detection=None, schedule=schedule,
                    dns=[{"name": f"resolver-{address.rsplit('.', 1)[1]}", "server": address,
                          "query": "example.com", "record": "A"} for address in resolvers])
                daemons[label] = LabDaemon(lab, config).start()
            for daemon in daemons.values():
                daemon.wait_for_state("up", timeout=START_TIMEOUT)
            fault_at = lab.packet_loss(LOSS_PERCENT, "both")
            until = fault_at + HOLD[size]
            while (left := (until - datetime.now(UTC)).total_seconds()) > 0:
                time.sleep(min(left, 60.0))
                print(f"loss: {(datetime.now(UTC) - fault_at).total_seconds():.0f} s of "
                      f"{HOLD[size].total_seconds():.0f}; " + ", ".join(
                          f"{label} {daemon.status().state}, {len(daemon.outages())} "
                          f"outage(s)" for label, daemon in daemons.items()), flush=True)
            ended_at = datetime.now(UTC)
            for label, daemon in daemons.items():
                hold_figures, hold_details = _hold_figures(label, daemon, fault_at, ended_at)
                figures += hold_figures
                details[label] = hold_details
            # A daemon already in a (false) DNS outage cannot show a real one's detection.
            already = {label for label, daemon in daemons.items()
                       if any(o.kind == "dns" and o.ended_at is None for o in daemon.outages())}
            silent_at = datetime.now(UTC)
            for address in DNS_SERVERS:
                lab.dns_mode(address, "silent")
            bounds = {label: detection_bound(daemon.settings)
                      for label, daemon in daemons.items()}
            deadline = silent_at + max(bounds.values()) + timedelta(seconds=15)
            seen: dict[str, datetime | None] = dict.fromkeys(daemons)
            while datetime.now(UTC) < deadline and not all(
                    seen[label] or label in already for label in daemons):
                for label, daemon in daemons.items():
                    seen[label] = seen[label] or _dns_outage_seen(daemon, silent_at)
                time.sleep(0.2)
            for label in daemons:
                if label in already:
                    figures.append(info(f"{label}: real DNS outage recorded after",
                                        "not measured (already in a DNS outage)"))
                    continue
                confirmed = seen[label]
                after = None if confirmed is None else round(
                    (confirmed - silent_at).total_seconds(), 1)
                bound = bounds[label].total_seconds()
                figures.append(Figure(f"{label}: real DNS outage recorded after",
                                      "never" if after is None else after, f"≤ {bound:g} s",
                                      after is not None and after <= bound,
                                      "" if after is None else "s"))
            lab.clear_packet_loss()
            exit_codes = {label: daemon.stop() for label, daemon in daemons.items()}
        finally:
            for daemon in daemons.values():
                daemon.close()
                outputs.add(*daemon.logs)
    figures += [
        at_most("clean stops failed", sum(code != 0 for code in exit_codes.values())),
        at_most("tracebacks", outputs.tracebacks()),
        at_most("secrets in outputs", len(outputs.leaks())),
    ]
    details["hold_s"] = HOLD[size].total_seconds()
    details["detection_bounds_s"] = {label: bound.total_seconds()
                                     for label, bound in bounds.items()}
    result.figures, result.details = figures, details
    return result


if __name__ == "__main__":
    from soak.__main__ import main

    sys.exit(main(["--only", "loss", *sys.argv[1:]]))
