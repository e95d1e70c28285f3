"""Several uplinks, measured end to end at the shipped default schedule and detection.

    sudo .venv/bin/python -m bench --only uplinks

1. **Fibre cut → ticket email over the backup uplink** (``backup_ticket``): the lab with the
   office's own 4G uplink (``Lab(backup="uplink")``), the ISP's and management's mail servers
   on its internet, ``incidents.open_after`` 10 s (``merge_within`` 0, so that every cut opens
   a ticket of its own). The fibre router's WAN is cut at a random phase of the probe cycle;
   measured: the cut → the ISP's mail server accepting the ticket's email (which can only
   leave over the 4G). The target is ``open_after`` + 5 s. The fibre is restored once the
   email is in and its closing email sent before the next cut.
2. **Failover behind the router → the fibre down recorded** (``failover_down``): the lab
   whose router fails over to its own 4G (``Lab(backup="failover")``, NAT), one uplink with a
   path check (the echo service's view of the public address, and the router 2 hops away);
   the router fails over at a random instant; measured: the failover → the fibre's outage
   (cause ``other_path``) in the database. The path check runs every ``check_interval``
   (30 s at the defaults), so the target is two of them; the router fails back once it is
   recorded, and the fibre must be seen up again before the next failover.

Each is a median of ``runs`` (5; quick: 1). Needs root (network namespaces).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.detection import check_default_settings, settings_of
from testbed.daemon.alert_servers import (
    ISP_CHANNEL,
    ISP_MAILBOX,
    AlertServers,
    MailRecord,
    alert_overrides,
)
from testbed.daemon.delivery_audit import FINAL_STATUSES
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import IncidentRow, read_incidents, read_outbox_rows
from testbed.lab import Lab
from testbed.lab.config import FIBRE, uplink_sections
from watchdog.store.reader import OutageRow
from watchdog.vocabulary import CAUSE_OTHER_PATH

OPEN_AFTER = "10s"
OPEN_AFTER_S = 10.0
# The ticket's email must be accepted this long after open_after at most.
TICKET_MARGIN_S = 5.0
DEADLINE = 90.0


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run: the fault's instant and when its effect was seen (seconds after)."""

    number: int
    fault_at: datetime
    seen_at: datetime
    detail: str

    @property
    def seconds(self) -> float:
        return (self.seen_at - self.fault_at).total_seconds()

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "fault_at": self.fault_at.isoformat(),
                "seen_at": self.seen_at.isoformat(), "seconds": round(self.seconds, 3),
                "detail": self.detail}


def median(runs: list[Run]) -> float:
    return float(statistics.median(run.seconds for run in runs))


def measure_backup_ticket(work: Path, runs: int, rng: random.Random,
                          progress: Callable[[str], None]) -> tuple[list[Run], dict[str, Any]]:
    """Fibre cuts with the 4G up: each cut → its ticket's email at the ISP's mail server."""
    results: list[Run] = []
    with Lab(backup="uplink") as lab, AlertServers(lab, work / "servers") as servers:
        overrides = alert_overrides(open_after=OPEN_AFTER, merge_within="0s")
        fibre, mobile = uplink_sections("uplink")["uplink"]
        fibre["tickets"] = mobile["tickets"] = [ISP_CHANNEL]
        config = lab.write_config(work / "backup" / "watchdog.toml", schedule=None,
                                  detection=None, **overrides, uplink=[fibre, mobile])
        with LabDaemon(lab, config) as daemon:
            check_default_settings(daemon.settings)
            daemon.start()
            interval = daemon.settings.schedule.ping_interval.total_seconds()
            for number in range(1, runs + 1):
                daemon.wait_for_site("up", timeout=DEADLINE)
                known = {row.id for row in read_incidents(daemon.database)}
                time.sleep(interval + rng.uniform(0.0, interval))
                cut = lab.cut_wan()
                incident = daemon.poll(_new_ticket(daemon, known), timeout=DEADLINE,
                                       what=f"the ticket of cut {number}").value
                mail = daemon.poll(_mail_with(servers, incident.reference), timeout=DEADLINE,
                                   what=f"the ticket email of cut {number}",
                                   also=servers.describe).value
                results.append(Run(number, cut, mail.at, f"{incident.reference} accepted "
                                   f"{(mail.at - incident.ticket_opened_at).total_seconds():.2f}"
                                   " s after the ticket opened"
                                   if incident.ticket_opened_at else ""))
                progress(f"uplinks: cut {number}/{runs}: ticket email accepted "
                         f"{results[-1].seconds:.2f} s after the cut")
                lab.restore_wan()
                daemon.poll(lambda: _all_sent(daemon), timeout=DEADLINE,
                            what=f"the messages of cut {number} sent")
            settings = settings_of(daemon.settings)
            daemon.stop()
    return results, settings


def measure_failover(work: Path, runs: int, rng: random.Random,
                     progress: Callable[[str], None]) -> tuple[list[Run], dict[str, Any]]:
    """Failovers behind the router: each → the fibre's outage recorded (other path)."""
    results: list[Run] = []
    with Lab(backup="failover") as lab:
        config = lab.write_config(work / "failover" / "watchdog.toml", schedule=None,
                                  detection=None, **uplink_sections("failover"))
        with LabDaemon(lab, config) as daemon:
            check_default_settings(daemon.settings)
            daemon.start()
            check = daemon.settings.schedule.check_interval.total_seconds()
            for number in range(1, runs + 1):
                daemon.wait_for_state("up", link=FIBRE, timeout=DEADLINE)
                known = {outage.id for outage in daemon.outages()}
                # A random phase of the path check's cycle.
                time.sleep(rng.uniform(0.0, check))
                failed = lab.fail_over()
                down = daemon.poll(_new_outage(daemon, known), timeout=DEADLINE,
                                   what=f"the fibre's outage of failover {number}")
                status = daemon.status(FIBRE)
                results.append(Run(number, failed, down.at,
                                   f"outage {down.value.id} ({down.value.kind}, "
                                   f"{status.cause_code}) recorded start "
                                   f"{(down.value.started_at - failed).total_seconds():+.2f} s"))
                if status.cause_code != CAUSE_OTHER_PATH:
                    raise AssertionError(f"failover {number}: the fibre is {status.state} "
                                         f"({status.cause_code}), not on another path")
                progress(f"uplinks: failover {number}/{runs}: fibre down recorded "
                         f"{results[-1].seconds:.2f} s after it")
                lab.fail_back()
            daemon.wait_for_state("up", link=FIBRE, timeout=DEADLINE)
            settings = settings_of(daemon.settings)
            daemon.stop()
    return results, settings


def _new_ticket(daemon: LabDaemon, known: set[int]) -> Callable[[], IncidentRow | None]:
    """An incident not in ``known`` once its ticket is open."""
    def check() -> IncidentRow | None:
        return next((row for row in read_incidents(daemon.database)
                     if row.id not in known and row.reference), None)

    return check


def _new_outage(daemon: LabDaemon, known: set[int]) -> Callable[[], OutageRow | None]:
    """An outage not in ``known``, once recorded."""
    def check() -> OutageRow | None:
        return next((outage for outage in daemon.outages() if outage.id not in known), None)

    return check


def _mail_with(servers: AlertServers, reference: str | None) -> Callable[[], MailRecord | None]:
    def check() -> MailRecord | None:
        return next((mail for mail in servers.isp_mail()
                     if ISP_MAILBOX in mail.recipients and reference
                     and reference in mail.subject), None)

    return check


def _all_sent(daemon: LabDaemon) -> bool:
    rows = read_outbox_rows(daemon.database)
    return any(row.event == "ticket_close" for row in rows) and all(
        row.status in FINAL_STATUSES for row in rows)


def run(work: Path, *, quick: bool, seed: int,
        progress: Callable[[str], None]) -> tuple[list[Run], list[Run], dict[str, Any]]:
    """Both measurements (1 run each when ``quick``, else 5): the runs and their settings."""
    rng = random.Random(seed)
    runs = 1 if quick else 5
    started = datetime.now(UTC)
    tickets, backup_settings = measure_backup_ticket(work, runs, rng, progress)
    failovers, failover_settings = measure_failover(work, runs, rng, progress)
    return tickets, failovers, {
        "backup_ticket": {"settings": backup_settings, "open_after_s": OPEN_AFTER_S},
        "failover_down": {"settings": failover_settings},
        "seconds": round((datetime.now(UTC) - started) / timedelta(seconds=1), 1),
    }
