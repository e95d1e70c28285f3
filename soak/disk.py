"""Resource faults: the database on a file system that fills up, then turns read-only.

The database lives on a small tmpfs the suite mounts (``testbed/filesystems.py``, root). In
the lab of ``testbed/daemon/alert_servers.py`` (the webhook receiver on the LAN, reachable
during a WAN cut), the daemon runs at the lab's quick schedule. Two faults in turn:

- ``full``: a filler file takes every free byte;
- ``read-only``: the file system is read-only when the daemon starts (Linux will not remount
  it read-only under a writer; a reboot finds it so), seen as the service sees it (its
  directory bind-mounted writable over it, ``mount_writable_for``); if the daemon ends, it is
  started again once the file system is writable, as systemd's ``Restart=`` would;

each held ``HOLD`` (short 15 s, long 60 s) with a WAN cut inside it (an outage the daemon must
still see, and say through the LAN webhook: the daemon holds its database in memory meanwhile,
``store.memory_copy``), then lifted. Counted per fault: whether the
daemon kept running; the error lines it logged during the fault (target: one clear error,
not one per cycle) and whether they name the database; the outage's alert at the LAN webhook
during the fault; the first cycle recorded after the fault was lifted (target: within a few
seconds); whether the outage that happened during the fault is in the history afterwards;
``PRAGMA integrity_check`` and the timeline's invariants at the end.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from soak.common import Outputs, count_arrivals, wait_quiet
from soak.figures import Figure, Size, SuiteResult, at_least, at_most, info
from testbed.daemon.alert_servers import AlertServers, alert_overrides
from testbed.daemon.delivery_audit import audit_deliveries, received_ids
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import read_outbox_rows
from testbed.filesystems import SmallFilesystem
from testbed.integrity import integrity
from testbed.lab import Lab
from watchdog.store.invariants import timeline_problems
from watchdog.store.reader import connect, read_outages

HOLD = {"short": timedelta(seconds=15), "long": timedelta(seconds=60)}
# The cut starts this long into the fault and lasts this long.
CUT_AFTER = timedelta(seconds=2)
CUT_FOR = {"short": timedelta(seconds=8), "long": timedelta(seconds=30)}
FILESYSTEM_MB = 16
# After the fault is lifted, a cycle must be recorded within this.
RECORD_AGAIN_WITHIN = 10.0
START_TIMEOUT = 60.0
FAULTS = ("full", "read-only")


def _errors_between(daemon: LabDaemon, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Errors logged from ``start`` to ``end``; a line that is not a log record
    (what the command line prints before it exits) counts when its run began in that time."""
    found = []
    for log in daemon.logs:
        began = datetime.fromtimestamp(log.stat().st_ctime, UTC) if log.exists() else None
        for text in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(text)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                if began is not None and start <= began <= end and text.strip():
                    found.append({"level": "error", "event": text.strip()})
                continue
            stamp = record.get("timestamp")
            if record.get("level") not in ("error", "critical") \
                    or not isinstance(stamp, str):
                continue
            if start <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= end:
                found.append(record)
    return found


def _last_cycle_ms(database: Path) -> int:
    with connect(database) as connection:
        row = connection.execute("SELECT MAX(at_ms) FROM sample").fetchone()
    return int(row[0] or 0)


def _first_cycle_after(daemon: LabDaemon, since: datetime, timeout: float) -> float | None:
    """Seconds from ``since`` until a cycle that started after it is recorded (None: not
    within ``timeout``)."""
    since_ms = since.timestamp() * 1000
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if _last_cycle_ms(daemon.database) > since_ms:
                return round((datetime.now(UTC) - since).total_seconds(), 2)
        except Exception:  # the reader may meet the file mid-recovery: look again
            pass
        time.sleep(0.1)
    return None


class FaultRun:
    """One fault held on the running daemon, with a WAN cut inside it."""

    def __init__(self, lab: Lab, daemon: LabDaemon, servers: AlertServers,
                 filesystem: SmallFilesystem, size: Size) -> None:
        self.lab, self.daemon, self.servers = lab, daemon, servers
        self.filesystem, self.size = filesystem, size

    def hold(self, fault: str) -> dict[str, Any]:
        self.daemon.wait_for_state("up", timeout=START_TIMEOUT)
        hooks_before = len(self.servers.hooks())
        began = datetime.now(UTC)
        if fault == "full":
            filled = self.filesystem.fill()
        else:
            # Linux refuses to remount read-only under a process that has files open for
            # writing ("busy"): the daemon meets the read-only file system at a restart, as
            # after a reboot that found it read-only.
            filled = 0
            self.daemon.stop()
            self.filesystem.read_only()
            self.daemon.start()
            # The service's view: its database's directory bind-mounted writable by systemd
            # over the read-only file system (see ``mount_writable_for``).
            self.filesystem.mount_writable_for(self.daemon.pid)
        time.sleep(CUT_AFTER.total_seconds())
        cut_at = self.lab.cut_wan()
        time.sleep(CUT_FOR[self.size].total_seconds())
        restored_at = self.lab.restore_wan()
        time.sleep(max(0.0, (began + HOLD[self.size] - datetime.now(UTC)).total_seconds()))
        alive = self.daemon.running
        lifted_at = datetime.now(UTC)
        if fault == "full":
            self.filesystem.free()
        else:
            self.filesystem.writable()
        if not self.daemon.running:
            self.daemon.start()  # as systemd's Restart= would
        again = _first_cycle_after(self.daemon, lifted_at, RECORD_AGAIN_WITHIN)
        errors = _errors_between(self.daemon, began, lifted_at)
        alerts = [hook for hook in self.servers.hooks()[hooks_before:]
                  if hook.event == "outage_started" and hook.at <= lifted_at]
        return {"fault": fault, "began": began, "lifted_at": lifted_at, "cut_at": cut_at,
                "restored_at": restored_at, "filled_bytes": filled, "alive": alive,
                "recorded_again_after_s": again, "errors": errors,
                "alerts_during": len(alerts)}


def run(size: Size, work: Path) -> SuiteResult:
    """The resource-faults suite at ``size`` in a lab of its own."""
    result = SuiteResult("disk", "Resource faults: the database's file system full, read-only",
                         size)
    outputs = Outputs(work / "outputs")
    held: list[dict[str, Any]] = []
    with Lab() as lab, AlertServers(lab, work / "servers") as servers, \
            SmallFilesystem(work / "dbfs", FILESYSTEM_MB) as filesystem:
        overrides = alert_overrides(open_after="5s", merge_within="0s")
        config = lab.write_config(work / "run" / "watchdog.toml", storage={
            "database": str(filesystem.path / "watchdog.db")}, **overrides)
        with LabDaemon(lab, config) as daemon:
            daemon.start()
            daemon.wait_for_state("up", timeout=START_TIMEOUT)
            run_ = FaultRun(lab, daemon, servers, filesystem, size)
            for fault in FAULTS:
                held.append(run_.hold(fault))
            wait_quiet(daemon, count_arrivals(servers), limit=120.0)
            exit_code = daemon.stop()
            outputs.add(*daemon.logs)
            database = daemon.database
            checked = integrity(database)
            problems = timeline_problems(database)
            outages = read_outages(database, None)
            rows = read_outbox_rows(database)
            audit = audit_deliveries(rows, received_ids(servers))
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    for entry in held:
        fault = entry["fault"]
        errors = entry["errors"]
        in_history = any(outage.started_at <= entry["restored_at"]
                         and (outage.ended_at or entry["lifted_at"]) >= entry["cut_at"]
                         for outage in outages)
        names_database = sum("watchdog.db" in json.dumps(error) or "database" in
                             json.dumps(error).lower() for error in errors)
        figures += [
            at_most(f"{fault}: daemon stopped", 0 if entry["alive"] else 1),
            at_most(f"{fault}: error lines logged", len(errors), 1),
            info(f"{fault}:   naming the database", names_database),
            at_least(f"{fault}: outage alerts at the LAN webhook during it",
                     entry["alerts_during"], 1),
            Figure(f"{fault}: first cycle recorded after it was lifted",
                   "never" if entry["recorded_again_after_s"] is None
                   else entry["recorded_again_after_s"], f"≤ {RECORD_AGAIN_WITHIN:g} s",
                   entry["recorded_again_after_s"] is not None,
                   "" if entry["recorded_again_after_s"] is None else "s"),
            at_least(f"{fault}: its outage in the history", int(in_history), 1),
        ]
        details[fault] = {
            "filled_bytes": entry["filled_bytes"],
            "errors": [f"{e.get('timestamp', '')} {e.get('level')} {e.get('event')} "
                       f"{str(e.get('error', ''))[:160]}" for e in errors[:30]],
            "distinct_error_events": sorted({str(e.get("event")) for e in errors}),
        }
    figures += [
        at_most("integrity check not ok", 0 if checked == "ok" else 1),
        at_most("timeline problems", len(problems)),
        at_most("messages lost", audit.lost),
        at_most("clean stops failed", 0 if exit_code == 0 else 1),
        at_most("tracebacks", outputs.tracebacks()),
        at_most("secrets in outputs", len(outputs.leaks())),
    ]
    details.update({"integrity": checked, "timeline_problems": problems,
                    "outages": [f"{o.kind} {o.started_at:%H:%M:%S} → "
                                f"{'open' if o.ended_at is None else f'{o.ended_at:%H:%M:%S}'}"
                                for o in outages],
                    "unsent": [f"{r.channel} {r.event} {r.status} {r.last_error or ''}"
                               for r in audit.unsent]})
    result.figures, result.details = figures, details
    return result


if __name__ == "__main__":
    from soak.__main__ import main

    sys.exit(main(["--only", "disk", *sys.argv[1:]]))
