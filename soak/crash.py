"""Crash anywhere: SIGKILLs at every moment of an outage's life, and nothing lost or doubled.

In the namespace lab (the ISP's and management's mail servers on its internet, a webhook
receiver on its LAN, as ``testbed/daemon/alert_servers.py``), the daemon runs at the lab's
quick schedule (pings every second) with ``open_after`` 5 s and one escalation step at 20 s,
its webhook authenticated with a token and an HMAC secret. Each outage is a WAN cut during
which the daemon is killed (SIGKILL) at each moment of its life in turn, and restarted after
2.5-4 s (longer than two ping intervals, so every downtime is history's ``unknown``):

- ``before_ticket``: the outage recorded, its ticket not yet opened;
- ``at_opening``: the instant the ticket's reference is recorded;
- ``mid_delivery``: the instant a receiver logged a message (the servers hold their answer a
  moment, so the send is in flight, not yet marked sent);
- ``during_escalation``: the instant the escalation's messages are recorded;
- ``around_recovery``: 0-4 s after the WAN is restored (before or after the recovery is
  recorded);

then an up period with one more kill at a random moment (long size). The short size: one
outage, three moments; the long: ten outages, all six (60 kills). After the last, the suite
waits until nothing is left to send and stops the daemon cleanly.

Counted: kills survived (the restarted daemon recorded a cycle of its own within 30 s);
``PRAGMA integrity_check`` after every kill; intervals contiguous with an ``unknown`` interval
over each downtime; duplicate tickets; messages lost (never sent, sent but never arrived, or
expected for an outage and never recorded: its start, ticket, escalation and recovery on each
channel); messages duplicated (one message under two ids, or an id recorded as sent before a
kill that arrived again after it); same-id redeliveries of a message in flight at a kill
(allowed: the receiver recognises them) are shown. Tracebacks in the daemon's output and
secrets in everything captured must be none.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.alerts import Kill, KillReport, RealOutage, count_kill_results, outage_of_incident
from soak.common import (
    Outputs,
    count_arrivals,
    inspect_cli,
    resumed,
    wait_quiet,
    with_secrets,
)
from soak.figures import Figure, Size, SuiteResult, at_least, at_most, info
from testbed.daemon.alert_servers import (
    ALERT_EVENTS,
    HOOK_CHANNEL,
    ISP_CHANNEL,
    MANAGEMENT_CHANNEL,
    AlertServers,
    alert_overrides,
)
from testbed.daemon.delivery_audit import delivery_id, received_ids
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import (
    Interval,
    OutboxRow,
    find_outage,
    read_incidents,
    read_intervals,
    read_outbox_rows,
)
from testbed.daemon.waiting import WaitTimeout
from testbed.integrity import integrity
from testbed.lab import Lab
from watchdog.store.invariants import timeline_problems

OUTAGE_PHASES = ("before_ticket", "at_opening", "mid_delivery", "during_escalation",
                 "around_recovery")
PHASES = {"short": ("at_opening", "mid_delivery", "around_recovery"),
          "long": (*OUTAGE_PHASES, "random_while_up")}
OUTAGES = {"short": 1, "long": 10}
OPEN_AFTER = "5s"
ESCALATION = timedelta(seconds=20)
EVENTS = (*ALERT_EVENTS, "escalated")
RESTART_PAUSE = (2.5, 4.0)
# How long a moment is waited for before the kill goes ahead anyway (off target).
MOMENT_TIMEOUT = 40.0
AROUND_RECOVERY = (0.0, 4.0)
UP_PERIOD = (6.0, 10.0)
SMTP_HOLD = 1.0
HOOK_HOLD = 0.5
# An outage held this much longer than open_after (escalation) must have its ticket
# (escalation's messages); restarts add a few seconds each.
TICKET_MARGIN = timedelta(seconds=15)
# The escalation's messages expected when an outage outlasted its step by this much.
ESCALATED_EXPECTED = ((HOOK_CHANNEL, "escalated"), (MANAGEMENT_CHANNEL, "escalated"),
                      (ISP_CHANNEL, "ticket_reminder"))


@dataclass(frozen=True, slots=True)
class CrashKill:
    """One SIGKILL and what was true at it."""

    phase: str
    on_target: bool
    killed_at: datetime
    restarted_at: datetime
    survived: bool
    was_running: bool
    integrity: str
    sent_before: frozenset[tuple[str, str]]
    in_flight: tuple[OutboxRow, ...]

    def as_bench_kill(self) -> Kill:
        return Kill(self.killed_at, self.phase == "mid_delivery",
                    tuple(f"{row.channel} {row.event}" for row in self.in_flight), 0,
                    round((self.restarted_at - self.killed_at).total_seconds(), 3),
                    self.was_running)


class CrashRun:
    """The plan on a running lab: cuts, kills at their moments, restarts."""

    def __init__(self, lab: Lab, daemon: LabDaemon, servers: AlertServers,
                 rng: random.Random) -> None:
        self.lab, self.daemon, self.servers, self.rng = lab, daemon, servers, rng
        self.kills: list[CrashKill] = []
        self.outages: list[RealOutage] = []
        self.arrivals = count_arrivals(servers)

    def _new_incidents(self, known: set[int]) -> list[Any]:
        return [incident for incident in read_incidents(self.daemon.database)
                if incident.id not in known]

    def _wait(self, check: Any) -> bool:
        """Wait for ``check()`` (True: on target); False after ``MOMENT_TIMEOUT``."""
        try:
            self.daemon.poll(check, timeout=MOMENT_TIMEOUT, what="the moment to kill")
        except (WaitTimeout, AssertionError):
            return False
        return True

    def _moment(self, phase: str, known_outages: set[int], known_incidents: set[int]) -> bool:
        """Wait for ``phase``'s moment; return whether it came (the kill is on target)."""
        database = self.daemon.database
        if phase == "before_ticket":
            came = self._wait(lambda: find_outage(database, exclude=known_outages))
            return came and not any(incident.reference for incident
                                    in self._new_incidents(known_incidents))
        if phase == "at_opening":
            return self._wait(lambda: any(incident.reference for incident
                                          in self._new_incidents(known_incidents)))
        if phase == "mid_delivery":
            before = self.arrivals()
            return self._wait(lambda: self.arrivals() > before)
        if phase == "during_escalation":
            new: set[int] = set()

            def escalated() -> bool:
                new.update(incident.id for incident in self._new_incidents(known_incidents))
                return any(row.event in ("escalated", "ticket_reminder")
                           and row.incident_id in new
                           for row in read_outbox_rows(database))

            return self._wait(escalated)
        if phase == "around_recovery":
            time.sleep(self.rng.uniform(*AROUND_RECOVERY))
            return True
        time.sleep(self.rng.uniform(0.0, UP_PERIOD[0]))  # random_while_up
        return True

    def kill(self, phase: str, on_target: bool) -> None:
        """SIGKILL now, look at what it left, restart after a pause, wait for it to resume."""
        was_running = self.daemon.running
        killed_at = datetime.now(UTC)
        self.daemon.kill()
        rows = read_outbox_rows(self.daemon.database)
        checked = integrity(self.daemon.database)
        time.sleep(self.rng.uniform(*RESTART_PAUSE))
        restarted_at = datetime.now(UTC)
        self.daemon.start()
        survived = resumed(self.daemon)
        self.kills.append(CrashKill(
            phase=phase, on_target=on_target, killed_at=killed_at, restarted_at=restarted_at,
            survived=survived, was_running=was_running, integrity=checked,
            sent_before=frozenset((row.channel, delivery_id(row)) for row in rows
                                  if row.status == "sent"),
            in_flight=tuple(row for row in rows if row.status == "sending")))
        print(f"kill {len(self.kills)} ({phase}{'' if on_target else ', off target'}): "
              f"{sum(row.status == 'sending' for row in rows)} send(s) in flight, integrity "
              f"{checked}, {'resumed' if survived else 'DID NOT RESUME'}", flush=True)

    def outage(self, number: int, phases: tuple[str, ...]) -> None:
        """One cut with a kill at each of ``phases`` (in their order), then the up period."""
        known_outages = {outage.id for outage in self.daemon.outages()}
        known_incidents = {incident.id for incident in read_incidents(self.daemon.database)}
        cut_at = self.lab.cut_wan()
        for phase in phases:
            if phase in ("around_recovery", "random_while_up"):
                continue
            self.kill(phase, self._moment(phase, known_outages, known_incidents))
        restored_at = self.lab.restore_wan()
        self.outages.append(RealOutage(number, cut_at, restored_at))
        if "around_recovery" in phases:
            self.kill("around_recovery", self._moment("around_recovery", set(), set()))
        self.daemon.wait_for_state("up", timeout=MOMENT_TIMEOUT)
        if "random_while_up" in phases:
            self.kill("random_while_up", self._moment("random_while_up", set(), set()))
            self.daemon.wait_for_state("up", timeout=MOMENT_TIMEOUT)
        time.sleep(self.rng.uniform(*UP_PERIOD))


def downtimes_without_gap(kills: list[CrashKill], intervals: list[Interval]) -> list[str]:
    """Kills whose downtime (kill → restart) no ``unknown`` interval covers."""
    slack = timedelta(milliseconds=100)
    missing = []
    for number, kill in enumerate(kills, start=1):
        covered = any(interval.state == "unknown"
                      and interval.started_at <= kill.killed_at + slack
                      and (interval.ended_at is None
                           or interval.ended_at >= kill.restarted_at - slack)
                      for interval in intervals)
        if not covered:
            missing.append(f"kill {number} ({kill.phase}) at {kill.killed_at:%H:%M:%S.%f}, "
                           f"restarted {kill.restarted_at:%H:%M:%S.%f}")
    return missing


def resent_after_recorded_sent(kills: list[CrashKill], servers: AlertServers) -> list[str]:
    """Arrivals of a message after a kill at which it was already recorded as sent."""
    first_known: dict[tuple[str, str], datetime] = {}
    for kill in kills:
        for pair in kill.sent_before:
            first_known.setdefault(pair, kill.killed_at)
    arrivals = [(ISP_CHANNEL, mail.message_id, mail.at) for mail in servers.isp_mail()]
    arrivals += [(MANAGEMENT_CHANNEL, mail.message_id, mail.at)
                 for mail in servers.management_mail()]
    arrivals += [(HOOK_CHANNEL, hook.key or "", hook.at) for hook in servers.hooks()]
    return [f"{channel} {item} again at {at:%H:%M:%S.%f}" for channel, item, at in arrivals
            if (channel, item) in first_known and at > first_known[(channel, item)]]


def escalations_missing(outages: list[RealOutage], rows: list[OutboxRow],
                        incidents: list[Any], servers: AlertServers) -> list[str]:
    """Outages that outlasted the escalation step whose escalation never arrived on a
    channel (directly, or folded into a later message that arrived)."""
    owner = {incident.id: outage_of_incident(incident, outages) for incident in incidents}
    arrived = {(ISP_CHANNEL, m.message_id) for m in servers.isp_mail()}
    arrived |= {(MANAGEMENT_CHANNEL, m.message_id) for m in servers.management_mail()}
    arrived |= {(HOOK_CHANNEL, h.key or "") for h in servers.hooks()}
    by_id = {row.id: row for row in rows}

    def carried(row: OutboxRow) -> bool:
        seen = set()
        while row.status in ("folded", "superseded") and row.folded_into in by_id \
                and row.id not in seen:
            seen.add(row.id)
            row = by_id[row.folded_into]
        return (row.channel, delivery_id(row)) in arrived

    missing = []
    for outage in outages:
        if outage.hold < ESCALATION + TICKET_MARGIN:
            continue
        got = {(row.channel, row.event) for row in rows
               if owner.get(row.incident_id) == outage.number and carried(row)}
        missing += [f"outage {outage.number}: {channel} {event}"
                    for channel, event in ESCALATED_EXPECTED if (channel, event) not in got]
    return missing


def run(size: Size, work: Path, *, rng_seed: int | None = None) -> SuiteResult:
    """The crash suite at ``size`` in a lab of its own."""
    seed = rng_seed if rng_seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    result = SuiteResult("crash", "Crash anywhere: SIGKILLs across outages' lives", size)
    outputs = Outputs(work / "outputs")
    with Lab() as lab, AlertServers(lab, work / "servers", smtp_delay=SMTP_HOLD,
                                    hook_delay=HOOK_HOLD) as servers:
        overrides = alert_overrides(open_after=OPEN_AFTER, merge_within="0s", events=EVENTS)
        overrides["incidents"]["escalation"] = [f"{ESCALATION.total_seconds():.0f}s"]
        config = lab.write_config(work / "run" / "watchdog.toml",
                                  **with_secrets(overrides, work))
        with LabDaemon(lab, config) as daemon:
            daemon.start()
            daemon.wait_for_state("up", timeout=MOMENT_TIMEOUT)
            plan = CrashRun(lab, daemon, servers, rng)
            for number in range(1, OUTAGES[size] + 1):
                plan.outage(number, PHASES[size])
            quiet_s = wait_quiet(daemon, plan.arrivals)
            inspect_cli(outputs, lab, config)
            exit_code = daemon.stop()
            outputs.add(*daemon.logs)
            database = daemon.database
            open_after = max(daemon.settings.incidents.open_after.values())
        rows = read_outbox_rows(database)
        incidents = read_incidents(database)
        report = count_kill_results(
            plan.outages, incidents, rows, received_ids(servers),
            [kill.as_bench_kill() for kill in plan.kills],
            ticket_after=open_after + TICKET_MARGIN)
        gaps = downtimes_without_gap(plan.kills, read_intervals(database))
        resent = resent_after_recorded_sent(plan.kills, servers)
        escalations = escalations_missing(plan.outages, rows, incidents, servers)
        final_integrity = integrity(database)
        problems = timeline_problems(database)
    leaks = outputs.leaks()
    result.figures = _figures(size, plan, report, gaps, resent, escalations, final_integrity,
                              problems, outputs.tracebacks(), len(leaks), exit_code)
    result.details = {
        "seed": seed, "quiet_s": round(quiet_s, 1), "final_exit_code": exit_code,
        "kills": [{"phase": k.phase, "on_target": k.on_target,
                   "at": k.killed_at.isoformat(), "restarted_at": k.restarted_at.isoformat(),
                   "survived": k.survived, "integrity": k.integrity,
                   "in_flight": [f"{row.channel} {row.event}" for row in k.in_flight]}
                  for k in plan.kills],
        "outages": [{"number": o.number, "cut_at": o.cut_at.isoformat(),
                     "hold_s": round(o.hold.total_seconds(), 1)} for o in plan.outages],
        "downtimes_without_gap": gaps, "resent_after_recorded_sent": resent,
        "escalations_missing": escalations, "timeline_problems": problems,
        "expected_missing": report.expected_missing, "report": report.details,
        "leaks": [f"{leak.where}:{leak.line}" for leak in leaks],
    }
    return result


def _figures(size: Size, plan: CrashRun, report: KillReport, gaps: list[str],
             resent: list[str], escalations: list[str], final_integrity: str,
             problems: list[str], tracebacks: int, leaks: int,
             exit_code: int | None) -> list[Figure]:
    kills = plan.kills
    wanted = len(PHASES[size]) * OUTAGES[size]
    return [
        info("SIGKILLs", len(kills)),
        info("  on target (their moment came)", sum(kill.on_target for kill in kills)),
        at_least("kills survived", sum(kill.survived for kill in kills),
                 50 if size == "long" else wanted),
        at_most("daemon exits not caused by a kill",
                sum(not kill.was_running for kill in kills)),
        at_most("integrity checks not ok", sum(kill.integrity != "ok" for kill in kills)
                + (final_integrity != "ok")),
        at_most("timeline problems", len(problems)),
        at_most("downtimes without an unknown gap", len(gaps)),
        info("real outages", len(plan.outages)),
        at_most("outages without their ticket", report.outages_missing_a_ticket),
        at_most("duplicate tickets", report.duplicate_tickets),
        info("messages recorded", report.messages),
        at_most("messages lost", report.lost_messages + len(escalations)),
        at_most("messages duplicated", report.unrecognisable_duplicates + len(resent)),
        at_most("  sent again after recorded as sent", len(resent)),
        info("  same-id redeliveries (in flight at a kill)", report.same_id_redeliveries),
        at_most("clean stops failed", 0 if exit_code == 0 else 1),
        at_most("tracebacks", tracebacks),
        at_most("secrets in outputs", leaks),
    ]


if __name__ == "__main__":
    from soak.__main__ import main

    sys.exit(main(["--only", "crash", *sys.argv[1:]]))
