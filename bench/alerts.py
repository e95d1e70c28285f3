"""Alerts through WAN cuts and SIGKILLs, measured end to end at the shipped default settings.

    sudo .venv/bin/python -m bench.alerts [--cuts N] [--kills N] [--quick] [--seed S] [--out F]
                                          [--workdir DIR]

Builds the end-to-end lab (testbed/lab) with the ISP's and management's mail servers on
its internet (unreachable while the WAN is cut) and a webhook receiver on its LAN (reachable),
and runs ``watchdog run`` in the office at the default schedule and detection (pings every 2 s,
1 s timeout, retries every 1 s, 3 cycles to confirm down and up). Each receiver logs every
message it gets with the instant it arrived (the host's clock, as the lab's fault instants).

1. **Cut → LAN alert, restore → recovery notice** (``--cuts``, default 5): the WAN is cut at a
   random phase of the probe cycle; the cut lasts until the ``outage_started`` webhook has
   arrived, plus 8 s ± half a ping interval (so the restore falls at a random phase too); then
   the link is restored and left to recover. Measured per cut: cut → ``outage_started`` at the
   LAN webhook (and, of it, cut → outage recorded in the database), restore → ``recovered``
   at the LAN webhook, and restore → the mail queued during the cut delivered (management's
   ``outage_started`` email). Tickets are left at the default ``open_after`` (2 min, so these
   short cuts open none); ``incidents.merge_within`` is 0 so that each cut is an outage of its
   own, not a "down again" of the previous one (whose notices are grouped and rate-limited).
2. **SIGKILLs** (``--kills``, default 20): a fresh database and receivers; a scripted sequence
   of outages (up 10-16 s, down 25-35 s, ``open_after`` 10 s so each outage opens a ticket);
   ``--kills`` SIGKILLs at random instants of it, one in three aimed *during a send* (the
   harness waits for a receiver to log a message and kills at once: the mail servers hold
   their answer 1 s and the webhook 0.5 s after recording, so the send is in flight). The
   harness restarts the daemon 0.2-2 s after each kill. Each step of the plan comes at least
   its planned interval after the previous one finished, so a kill's waiting pushes the plan
   back instead of shortening an up or down phase (an "up" of a second between two cuts is
   not an outage's end the daemon could see). After the sequence, a quiet period
   (until the outbox has nothing left to try and the receivers have been silent 10 s; at
   most 3 min) and a clean stop. Counted:

   - duplicate tickets: per real outage, incidents with a ticket beyond the first, plus ticket
     reports (ISP emails opening a thread) beyond one per incident;
   - lost messages: outbox rows still unsent after the quiet period, rows recorded as sent
     that never reached their receiver, and expected messages that never arrived (per outage:
     ``outage_started`` and ``recovered`` at the webhook and management's mailbox; with a ticket,
     ``ticket_opened`` there and the report and closing email at the ISP);
   - duplicates at the receivers that do not share an id (one message under two ids: must be
     0), and same-id redeliveries (a message in flight at a kill, sent again with its
     Message-ID / Idempotency-Key: allowed, reported).

Prints tables and writes JSON to ``bench/results/alerts-<UTC date>.json``. ``--quick`` (a smoke
run): one cut, a shorter hold, and one shorter outage with at most 3 kills. Needs root (network
namespaces); without it, it says so and exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from bench.detection import (
    MeasuredCut,
    check_default_settings,
    settings_of,
    summarize,
    write_results,
)
from testbed.daemon.alert_servers import (
    HOOK_CHANNEL,
    ISP_CHANNEL,
    MANAGEMENT_CHANNEL,
    AlertServers,
    alert_overrides,
)
from testbed.daemon.delivery_audit import DeliveryAudit, audit_deliveries, delivery_id, received_ids
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import (
    IncidentRow,
    OutboxRow,
    describe_outbox,
    find_outage,
    read_incidents,
    read_outbox_rows,
)
from testbed.daemon.waiting import POLL_INTERVAL
from testbed.lab import Lab, lab_available
from watchdog.errors import EX_NOPERM

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_CUTS = 5
DEFAULT_KILLS = 20
# Phase 1: how long a cut lasts after its LAN alert arrived (± half a ping interval).
ALERT_HOLD = timedelta(seconds=8)
QUICK_ALERT_HOLD = timedelta(seconds=2)
# A wait on the database or a receiver: detection at the defaults takes ~3-9 s.
DEADLINE = 60.0
# Phase 2: the scripted sequence.
KILL_OPEN_AFTER = "10s"
UP_SECONDS = (10.0, 16.0)
DOWN_SECONDS = (25.0, 35.0)
QUICK_UP_SECONDS = (6.0, 8.0)
QUICK_DOWN_SECONDS = (20.0, 22.0)
RESTART_AFTER = (0.2, 2.0)
# Kills at least this far apart (a restarted daemon needs about a second to start probing).
KILL_SPACING = 3.0
# One kill in this many waits for a message to be in flight first.
IN_SEND_EVERY = 3
# How long a kill aimed at a send waits for one before killing anyway.
IN_SEND_WAIT = 15.0
SMTP_HOLD = 1.0
HOOK_HOLD = 0.5
QUICK_KILLS = 3
# Quiet period: the receivers silent this long and nothing left to try; at most QUIET_LIMIT.
QUIET = 10.0
QUIET_LIMIT = 180.0
# An incident belongs to a real outage when it starts within it (give or take this).
MATCH_SLACK = timedelta(seconds=3)
# An outage held this much longer than open_after must have opened a ticket (detection at
# the defaults takes ≤ 10 s, a restart adds a few).
TICKET_MARGIN = timedelta(seconds=15)

LATENCIES: tuple[tuple[str, str], ...] = (
    ("detection_s", "cut → outage recorded"),
    ("alert_s", "cut → outage_started at LAN webhook"),
    ("recovery_notice_s", "restore → recovered at LAN webhook"),
    ("queued_mail_s", "restore → queued mail delivered"),
)

# What a mail carrying earlier undelivered messages says (the English templates).
FOLDED_MARK = "Earlier messages that could not be delivered"

# Per real outage, the messages expected at each channel.
ALWAYS_EXPECTED = (
    (HOOK_CHANNEL, "outage_started"), (HOOK_CHANNEL, "recovered"),
    (MANAGEMENT_CHANNEL, "outage_started"), (MANAGEMENT_CHANNEL, "recovered"),
)
TICKET_EXPECTED = (
    (HOOK_CHANNEL, "ticket_opened"), (MANAGEMENT_CHANNEL, "ticket_opened"),
    (ISP_CHANNEL, "ticket_open"), (ISP_CHANNEL, "ticket_close"),
)


# --- phase 1: latencies -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertCut(MeasuredCut):
    """One cut of phase 1: the lab's instants and when each thing arrived or was recorded."""

    number: int
    delay_s: float
    cut_at: datetime
    restored_at: datetime
    outage_seen_at: datetime
    alert_at: datetime
    recovered_at: datetime
    queued_mail_at: datetime
    METRIC_NAMES: ClassVar[tuple[tuple[str, str], ...]] = LATENCIES

    @property
    def detection_s(self) -> float:
        return (self.outage_seen_at - self.cut_at).total_seconds()

    @property
    def alert_s(self) -> float:
        return (self.alert_at - self.cut_at).total_seconds()

    @property
    def recovery_notice_s(self) -> float:
        return (self.recovered_at - self.restored_at).total_seconds()

    @property
    def queued_mail_s(self) -> float:
        return (self.queued_mail_at - self.restored_at).total_seconds()



def latency_summary(cuts: Sequence[AlertCut]) -> dict[str, dict[str, float]]:
    """Median, max and min of every latency over ``cuts`` (seconds, rounded to ms)."""
    result: dict[str, dict[str, float]] = {}
    for name, _ in LATENCIES:
        summary = summarize([cut.metric(name) for cut in cuts])
        result[name] = {"median": round(summary.median, 3), "max": round(summary.max, 3),
                        "min": round(summary.min, 3)}
    return result


def format_latencies(cuts: Sequence[AlertCut]) -> str:
    """Per cut, then median and max rows."""
    headers = ["cut", "delay", *(label for _, label in LATENCIES)]
    rows = [[str(cut.number), f"{cut.delay_s:.2f} s",
             *(f"{cut.metric(name):.2f} s" for name, _ in LATENCIES)] for cut in cuts]
    footer: list[list[str]] = []
    if cuts:
        summary = latency_summary(cuts)
        for statistic in ("median", "max"):
            footer.append([statistic, "", *(f"{summary[name][statistic]:.2f} s"
                                              for name, _ in LATENCIES)])
    return _table(headers, rows, footer)


def _table(headers: list[str], rows: list[list[str]], footer: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows, *footer])
              for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(text.rjust(width) for text, width in zip(row, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    body = [line(row) for row in rows]
    if footer:
        body += [rule, *(line(row) for row in footer)]
    return "\n".join([line(headers), rule, *body])


def _new_hook(servers: AlertServers, event: str, seen: int) -> datetime | None:
    """When the first ``event`` webhook after the first ``seen`` requests arrived."""
    return next((hook.at for hook in servers.hooks()[seen:] if hook.event == event), None)


def measure_alert_cut(lab: Lab, daemon: LabDaemon, servers: AlertServers, number: int,
                      rng: random.Random, *, quick: bool) -> AlertCut:
    """One cut on a running lab and daemon; waits for the link to be up first."""
    interval = daemon.settings.schedule.ping_interval.total_seconds()
    daemon.wait_for_state("up", timeout=DEADLINE)
    known = {outage.id for outage in daemon.outages()}
    hooks_before = len(servers.hooks())
    mail_before = len(servers.management_mail())
    delay = rng.uniform(0.0, interval)
    time.sleep(delay + (0.0 if quick else interval))
    cut = lab.cut_wan()

    def also() -> str:
        return f"{servers.describe()}\n{describe_outbox(daemon.database)}"

    seen = daemon.poll(lambda: find_outage(daemon.database, exclude=known), timeout=DEADLINE,
                       what=f"the outage of cut {number}", also=also)
    alert = daemon.poll(lambda: _new_hook(servers, "outage_started", hooks_before),
                        timeout=DEADLINE, what=f"outage_started of cut {number}", also=also)
    hold = (QUICK_ALERT_HOLD if quick else ALERT_HOLD) + timedelta(
        seconds=rng.uniform(-interval / 2, interval / 2))
    time.sleep(max(0.0, (alert.at + hold - datetime.now(UTC)).total_seconds()))
    restored = lab.restore_wan()
    recovered = daemon.poll(lambda: _new_hook(servers, "recovered", hooks_before),
                            timeout=DEADLINE, what=f"recovered of cut {number}", also=also)
    # The mail queued during the cut leaves after the restore by itself, or folded into the
    # recovery notice when its news is stale by then (delivery/folding.py): that notice
    # then lists it among the earlier messages it carries.
    queued = daemon.poll(
        lambda: next((mail.at for mail in servers.management_mail()[mail_before:]
                      if "back" not in mail.subject or FOLDED_MARK in mail.body), None),
        timeout=DEADLINE + 60, what=f"the mail queued during cut {number}", also=also)
    return AlertCut(number=number, delay_s=round(delay, 3), cut_at=cut, restored_at=restored,
                    outage_seen_at=seen.at, alert_at=alert.value,
                    recovered_at=recovered.value, queued_mail_at=queued.value)


def run_latencies(work: Path, cuts: int, rng: random.Random, *,
                  quick: bool) -> tuple[list[AlertCut], dict[str, Any]]:
    results: list[AlertCut] = []
    with Lab() as lab, AlertServers(lab, work / "servers") as servers:
        config = lab.write_config(
            work / "watchdog.toml", schedule=None, detection=None,
            **_with_incidents(alert_overrides(), open_after=None, merge_within="0s"))
        with LabDaemon(lab, config) as daemon:
            check_default_settings(daemon.settings)
            daemon.start()
            for number in range(1, cuts + 1):
                result = measure_alert_cut(lab, daemon, servers, number, rng, quick=quick)
                results.append(result)
                print(f"cut {number}/{cuts}: LAN alert {result.alert_s:.2f} s after the cut, "
                      f"recovery notice {result.recovery_notice_s:.2f} s and queued mail "
                      f"{result.queued_mail_s:.2f} s after the restore", flush=True)
            settings = settings_of(daemon.settings)
            settings["incidents"] = _incident_settings(daemon)
            daemon.stop()
    return results, settings


def _with_incidents(overrides: dict[str, Any], *, open_after: str | None,
                    merge_within: str) -> dict[str, Any]:
    """``overrides`` with ``incidents`` replaced: ``open_after`` None keeps the default."""
    incidents: dict[str, Any] = {"merge_within": merge_within}
    if open_after is not None:
        incidents["open_after"] = {"isp": open_after, "lan": open_after, "dns": open_after}
    return {**overrides, "incidents": incidents}


def _incident_settings(daemon: LabDaemon) -> dict[str, Any]:
    policy = daemon.settings.incidents
    return {"open_after_s": {str(kind): value.total_seconds()
                             for kind, value in policy.open_after.items()},
            "merge_within_s": policy.merge_within.total_seconds()}


# --- phase 2: kills ---------------------------------------------------------------------------


Action = Literal["cut", "restore", "kill", "kill_in_send"]


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted action, ``at`` seconds after the sequence starts."""

    at: float
    action: Action


@dataclass(frozen=True, slots=True)
class RealOutage:
    """A cut the harness made: when, and for how long."""

    number: int
    cut_at: datetime
    restored_at: datetime

    @property
    def hold(self) -> timedelta:
        return self.restored_at - self.cut_at


@dataclass(frozen=True, slots=True)
class Kill:
    """One SIGKILL: the rows the killed daemon left "sending" ("channel event"), and how many
    of those had reached their receiver during that run (sent, not yet marked sent)."""

    at: datetime
    aimed_at_send: bool
    in_flight: tuple[str, ...]
    in_flight_received: int
    restart_after_s: float
    # False when the daemon had already exited on its own (a crash the harness did not cause).
    was_running: bool = True


def plan_sequence(outages: int, kills: int, rng: random.Random, *,
                  down: tuple[float, float] = DOWN_SECONDS,
                  up: tuple[float, float] = UP_SECONDS) -> list[Step]:
    """Cuts and restores (up, then down, ``outages`` times, then up again) and ``kills``
    kills at random instants at least ``KILL_SPACING`` apart, every ``IN_SEND_EVERY``-th
    aimed at a send; sorted by time."""
    steps: list[Step] = []
    clock = 0.0
    for _ in range(outages):
        clock += rng.uniform(*up)
        steps.append(Step(clock, "cut"))
        clock += rng.uniform(*down)
        steps.append(Step(clock, "restore"))
    end = clock + rng.uniform(*up)
    instants = spaced_instants(kills, 2.0, end, KILL_SPACING, rng)
    steps += [Step(at, "kill_in_send" if index % IN_SEND_EVERY == IN_SEND_EVERY - 1
                   else "kill") for index, at in enumerate(instants)]
    return sorted(steps, key=lambda step: step.at)


def spaced_instants(count: int, start: float, end: float, spacing: float,
                    rng: random.Random) -> list[float]:
    """``count`` random instants in [start, end], sorted, consecutive ones ≥ ``spacing``
    apart (uniform over the allowed configurations). ValueError if they cannot fit."""
    room = (end - start) - spacing * (count - 1)
    if count and room < 0:
        raise ValueError(f"{count} instants {spacing} s apart do not fit in {end - start} s")
    draws = sorted(rng.uniform(0.0, room) for _ in range(count))
    return [start + draw + spacing * index for index, draw in enumerate(draws)]


def outage_of_incident(incident: IncidentRow, outages: Sequence[RealOutage],
                       slack: timedelta = MATCH_SLACK) -> int | None:
    """The number of the real outage ``incident`` started in, or None (a spurious one)."""
    for outage in outages:
        if outage.cut_at - slack <= incident.started_at <= outage.restored_at + slack:
            return outage.number
    return None


@dataclass(frozen=True, slots=True)
class KillReport:
    """What the kills did (see the module doc for each count)."""

    outages: int
    incidents: int
    spurious_incidents: int
    outages_without_incident: int
    outages_missing_a_ticket: int
    duplicate_tickets: int
    lost_messages: int
    unsent: int
    missing_in_transit: int
    expected_missing: list[str]
    unrecognisable_duplicates: int
    same_id_redeliveries: int
    unexpected_arrivals: int
    messages: int
    arrivals: int
    kills: int
    kills_aimed_at_send: int
    kills_with_send_in_flight: int
    kills_after_a_receiver_had_the_message: int
    daemon_exits_not_caused_by_a_kill: int
    details: dict[str, Any] = field(default_factory=dict)


def count_kill_results(
    outages: Sequence[RealOutage],
    incidents: Sequence[IncidentRow],
    rows: Sequence[OutboxRow],
    received: dict[str, list[str]],
    kills: Sequence[Kill],
    *,
    ticket_after: timedelta,
) -> KillReport:
    """Duplicate tickets, lost messages and duplicates at the receivers (pure)."""
    owner = {incident.id: outage_of_incident(incident, outages) for incident in incidents}

    def outage_of(incident_id: int | None) -> object:
        # An incident of no real outage stands for itself.
        number = owner.get(incident_id) if incident_id is not None else None
        return ("incident", incident_id) if number is None else number

    audit: DeliveryAudit = audit_deliveries(rows, received, outage_of=outage_of)
    tickets_per_outage = Counter(owner[incident.id] for incident in incidents
                                 if incident.reference is not None
                                 and owner[incident.id] is not None)
    arrivals = {(channel, item) for channel, ids in received.items() for item in ids}
    reports_per_incident = Counter(
        row.incident_id for row in rows
        if row.channel == ISP_CHANNEL and row.event == "ticket_open"
        and (row.channel, delivery_id(row)) in arrivals)
    duplicate_tickets = (sum(count - 1 for count in tickets_per_outage.values() if count > 1)
                         + sum(count - 1 for count in reports_per_incident.values()
                               if count > 1))
    # What arrived, per real outage: (channel, event). A message folded into a later one
    # (its news was stale when it could leave) arrived with the message that carries it.
    by_id = {row.id: row for row in rows}

    def carrier(row: OutboxRow) -> OutboxRow:
        seen = {row.id}
        while row.status == "folded" and row.folded_into in by_id \
                and row.folded_into not in seen:
            row = by_id[row.folded_into]
            seen.add(row.id)
        return row

    arrived: dict[int, set[tuple[str, str]]] = {}
    for row in rows:
        number = owner.get(row.incident_id) if row.incident_id is not None else None
        if number is not None and (row.channel, delivery_id(carrier(row))) in arrivals:
            arrived.setdefault(number, set()).add((row.channel, row.event))
    expected_missing: list[str] = []
    missing_ticket = 0
    for outage in outages:
        has_ticket = tickets_per_outage.get(outage.number, 0) > 0
        if not has_ticket and outage.hold >= ticket_after:
            missing_ticket += 1
        wanted = ALWAYS_EXPECTED + (TICKET_EXPECTED if has_ticket else ())
        got = arrived.get(outage.number, set())
        expected_missing += [f"outage {outage.number}: {channel} {event}"
                             for channel, event in wanted if (channel, event) not in got]
    with_incident = {number for number in owner.values() if number is not None}
    return KillReport(
        outages=len(outages),
        incidents=len(incidents),
        spurious_incidents=sum(1 for number in owner.values() if number is None),
        outages_without_incident=sum(1 for outage in outages
                                     if outage.number not in with_incident),
        outages_missing_a_ticket=missing_ticket,
        duplicate_tickets=duplicate_tickets,
        lost_messages=audit.lost + len(expected_missing),
        unsent=len(audit.unsent),
        missing_in_transit=len(audit.missing),
        expected_missing=expected_missing,
        unrecognisable_duplicates=audit.unrecognisable_duplicates,
        same_id_redeliveries=audit.redeliveries,
        unexpected_arrivals=len(audit.unexpected),
        messages=len(rows),
        arrivals=sum(len(ids) for ids in received.values()),
        kills=len(kills),
        kills_aimed_at_send=sum(kill.aimed_at_send for kill in kills),
        kills_with_send_in_flight=sum(bool(kill.in_flight) for kill in kills),
        kills_after_a_receiver_had_the_message=sum(kill.in_flight_received > 0
                                                   for kill in kills),
        daemon_exits_not_caused_by_a_kill=sum(not kill.was_running for kill in kills),
        details={
            "incidents": [
                {"id": incident.id, "reference": incident.reference,
                 "started_at": incident.started_at.isoformat(),
                 "ended_at": None if incident.ended_at is None else incident.ended_at.isoformat(),
                 "cuts": incident.cuts, "outage": owner[incident.id]}
                for incident in incidents],
            "unsent": [f"{row.channel} {row.event} {row.status} {row.last_error or ''}"
                       for row in audit.unsent],
            "missing_in_transit": [f"{row.channel} {row.event} {row.key}"
                                   for row in audit.missing],
            "unexpected": [f"{channel} {item}" for channel, item in audit.unexpected],
            "duplicates": {repr(identity): list(ids)
                           for identity, ids in audit.duplicates.items()},
            "redelivered": {f"{channel} {item}": count
                            for (channel, item), count in audit.redelivered.items()},
        },
    )


def format_kill_report(report: KillReport) -> str:
    rows = [
        ["real outages", str(report.outages)],
        ["incidents recorded", str(report.incidents)],
        ["  not matching a real outage", str(report.spurious_incidents)],
        ["real outages without an incident", str(report.outages_without_incident)],
        ["real outages long enough but without a ticket", str(report.outages_missing_a_ticket)],
        ["SIGKILLs", str(report.kills)],
        ["  aimed at a send", str(report.kills_aimed_at_send)],
        ["  with a send in flight", str(report.kills_with_send_in_flight)],
        ["  after a receiver had the message, unacknowledged",
         str(report.kills_after_a_receiver_had_the_message)],
        ["daemon exits the harness did not cause", str(report.daemon_exits_not_caused_by_a_kill)],
        ["messages recorded (outbox rows)", str(report.messages)],
        ["arrivals at the receivers", str(report.arrivals)],
        ["duplicate tickets", str(report.duplicate_tickets)],
        ["lost messages", str(report.lost_messages)],
        ["  never sent", str(report.unsent)],
        ["  sent but never arrived", str(report.missing_in_transit)],
        ["  expected but never recorded", str(len(report.expected_missing))],
        ["duplicates under different ids", str(report.unrecognisable_duplicates)],
        ["same-id redeliveries (recognisable)", str(report.same_id_redeliveries)],
        ["arrivals matching no message", str(report.unexpected_arrivals)],
    ]
    return _table(["", "count"], rows, [])


def arrivals_since(servers: AlertServers, since: datetime) -> set[tuple[str, str]]:
    """(channel, id) of everything the receivers logged from ``since`` on."""
    mail = [(ISP_CHANNEL, m) for m in servers.isp_mail()] + [
        (MANAGEMENT_CHANNEL, m) for m in servers.management_mail()]
    return ({(channel, m.message_id) for channel, m in mail if m.at >= since}
            | {(HOOK_CHANNEL, h.key or "") for h in servers.hooks() if h.at >= since})


class _KillRun:
    """Phase 2 on a running lab: executes the plan, restarting the daemon after each kill."""

    def __init__(self, lab: Lab, daemon: LabDaemon, servers: AlertServers,
                 rng: random.Random) -> None:
        self.lab, self.daemon, self.servers, self.rng = lab, daemon, servers, rng
        self.outages: list[RealOutage] = []
        self.kills: list[Kill] = []
        self._cut_at: datetime | None = None
        self._run_started = datetime.now(UTC)

    def _arrivals(self) -> int:
        return sum(len(ids) for ids in received_ids(self.servers).values())

    def execute(self, plan: Sequence[Step]) -> None:
        """Run ``plan``, each step at least its planned interval after the previous one
        *finished*: a kill that waits for a send, then restarts the daemon, pushes the rest
        of the plan back instead of shortening the next up or down phase."""
        previous_at, previous_end = 0.0, time.monotonic()
        for step in plan:
            time.sleep(max(0.0, previous_end + step.at - previous_at - time.monotonic()))
            if step.action == "cut":
                self._cut_at = self.lab.cut_wan()
            elif step.action == "restore":
                restored = self.lab.restore_wan()
                assert self._cut_at is not None
                self.outages.append(RealOutage(len(self.outages) + 1, self._cut_at, restored))
                self._cut_at = None
            else:
                self._kill(aimed=step.action == "kill_in_send")
            previous_at, previous_end = step.at, time.monotonic()
        if self._cut_at is not None:
            self.outages.append(RealOutage(len(self.outages) + 1, self._cut_at,
                                           self.lab.restore_wan()))

    def _kill(self, *, aimed: bool) -> None:
        if aimed:
            before = self._arrivals()
            deadline = time.monotonic() + IN_SEND_WAIT
            while self._arrivals() == before and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL / 5)
        killed_at = datetime.now(UTC)
        was_running = self.daemon.running
        self.daemon.kill()
        sending = [row for row in read_outbox_rows(self.daemon.database)
                   if row.status == "sending"]
        arrived = arrivals_since(self.servers, self._run_started)
        received = sum((row.channel, delivery_id(row)) in arrived for row in sending)
        pause = self.rng.uniform(*RESTART_AFTER)
        time.sleep(pause)
        self._start()
        self.kills.append(Kill(killed_at, aimed, tuple(f"{row.channel} {row.event}"
                                                       for row in sending),
                               received, round(pause, 3), was_running))
        print(f"kill {len(self.kills)}: {'aimed at a send, ' if aimed else ''}"
              f"{len(sending)} send(s) in flight, {received} of them already received"
              f"{'' if was_running else ' (the daemon had exited on its own!)'}; "
              f"restarted after {pause:.1f} s", flush=True)

    def _start(self) -> None:
        self._run_started = datetime.now(UTC)
        self.daemon.start()

    def quiet(self) -> float:
        """Wait until nothing is left to try and the receivers have been silent ``QUIET`` s
        (at most ``QUIET_LIMIT``); return how long it took."""
        began = time.monotonic()
        last_count, last_change = self._arrivals(), time.monotonic()
        while time.monotonic() - began < QUIET_LIMIT:
            time.sleep(0.5)
            count = self._arrivals()
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            rows = read_outbox_rows(self.daemon.database)
            settled = all(row.status in ("sent", "superseded", "folded", "failed")
                          for row in rows)
            if settled and time.monotonic() - last_change >= QUIET:
                break
        return time.monotonic() - began


def run_kills(work: Path, kills: int, rng: random.Random,
              *, quick: bool) -> tuple[KillReport, dict[str, Any]]:
    outages = 1 if quick else max(1, -(-kills // 3))
    plan = plan_sequence(outages, kills, rng,
                         down=QUICK_DOWN_SECONDS if quick else DOWN_SECONDS,
                         up=QUICK_UP_SECONDS if quick else UP_SECONDS)
    with Lab() as lab, AlertServers(lab, work / "servers", smtp_delay=SMTP_HOLD,
                                    hook_delay=HOOK_HOLD) as servers:
        config = lab.write_config(
            work / "watchdog.toml", schedule=None, detection=None,
            **_with_incidents(alert_overrides(), open_after=KILL_OPEN_AFTER,
                              merge_within="0s"))
        with LabDaemon(lab, config) as daemon:
            check_default_settings(daemon.settings)
            daemon.start()
            daemon.wait_for_state("up", timeout=DEADLINE)
            runner = _KillRun(lab, daemon, servers, rng)
            print(f"sequence: {outages} outage(s), {kills} kill(s), "
                  f"{plan[-1].at if plan else 0:.0f} s", flush=True)
            runner.execute(plan)
            running_at_end = daemon.running
            if not running_at_end:
                daemon.start()
            quiet_s = runner.quiet()
            exit_code = daemon.stop()
            open_after = daemon.settings.incidents.open_after
            ticket_after = max(open_after.values()) + TICKET_MARGIN
            report = count_kill_results(
                runner.outages, read_incidents(daemon.database),
                read_outbox_rows(daemon.database), received_ids(servers), runner.kills,
                ticket_after=ticket_after)
            method = {
                "outages": [{"number": o.number, "cut_at": o.cut_at.isoformat(),
                             "hold_s": round(o.hold.total_seconds(), 3)}
                            for o in runner.outages],
                "kills": [{"at": k.at.isoformat(), "aimed_at_send": k.aimed_at_send,
                           "in_flight": list(k.in_flight),
                           "in_flight_received": k.in_flight_received,
                           "restart_after_s": k.restart_after_s,
                           "was_running": k.was_running} for k in runner.kills],
                "open_after_s": {str(kind): value.total_seconds()
                                 for kind, value in open_after.items()},
                "merge_within_s": daemon.settings.incidents.merge_within.total_seconds(),
                "smtp_hold_s": SMTP_HOLD, "hook_hold_s": HOOK_HOLD,
                "quiet_s": round(quiet_s, 1), "daemon_runs": daemon.runs,
                "daemon_running_at_end_of_sequence": running_at_end,
                "final_exit_code": exit_code,
            }
    return report, method


# --- the whole run ------------------------------------------------------------------------------


def default_output(day: date) -> Path:
    """``bench/results/alerts-YYYY-MM-DD.json`` for the UTC ``day``."""
    return RESULTS_DIR / f"alerts-{day.isoformat()}.json"


def results_document(cuts: Sequence[AlertCut], report: KillReport | None, *,
                     settings: dict[str, Any], kill_method: dict[str, Any] | None,
                     seed: int, quick: bool, started_at: datetime,
                     finished_at: datetime) -> dict[str, Any]:
    return {
        "benchmark": "alerts",
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "host": {"python": platform.python_version(), "kernel": platform.release(),
                 "cpus": os.cpu_count()},
        "settings": settings,
        "method": {"cuts": len(cuts), "quick": quick, "seed": seed,
                   "alert_hold_s": (QUICK_ALERT_HOLD if quick else ALERT_HOLD).total_seconds(),
                   "poll_interval_s": POLL_INTERVAL, "kills": kill_method},
        "cuts": [cut.as_json() for cut in cuts],
        "latency_summary": latency_summary(cuts) if cuts else {},
        "kills": None if report is None else asdict(report),
    }


def run(cuts: int, kills: int, *, quick: bool, seed: int, out: Path,
        workdir: Path | None = None) -> tuple[list[AlertCut], KillReport | None, Path]:
    """Both phases; the configs, databases, daemon outputs and receiver logs go to
    ``workdir`` (kept) or to a temporary directory (deleted)."""
    rng = random.Random(seed)
    started_at = datetime.now(UTC)
    with contextlib.ExitStack() as stack:
        work = workdir or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="wd-bench-alerts-")))
        results, settings = run_latencies(work / "latency", cuts, rng, quick=quick)
        report, method = (None, None) if kills == 0 else run_kills(
            work / "kills", kills, rng, quick=quick)
    document = results_document(results, report, settings=settings, kill_method=method,
                                seed=seed, quick=quick, started_at=started_at,
                                finished_at=datetime.now(UTC))
    return results, report, write_results(document, out)


def main(argv: Sequence[str] | None = None,
         available: Callable[[], str | None] = lab_available) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cuts", type=int, default=None,
                        help=f"WAN cuts for the latencies (default {DEFAULT_CUTS}; quick: 1)")
    parser.add_argument("--kills", type=int, default=None,
                        help=f"SIGKILLs of the daemon (default {DEFAULT_KILLS}; quick: at most "
                             f"{QUICK_KILLS}; 0 skips that part)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the random instants (default: drawn and recorded)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the JSON file (default bench/results/alerts-<UTC date>.json)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the configs, databases, daemon output and receiver logs "
                             "here (default: a temporary directory, deleted)")
    args = parser.parse_args(argv)
    cuts = args.cuts if args.cuts is not None else (1 if args.quick else DEFAULT_CUTS)
    kills = args.kills if args.kills is not None else DEFAULT_KILLS
    if args.quick:
        kills = min(kills, QUICK_KILLS)
    if cuts < 1:
        parser.error("--cuts must be at least 1")
    if kills < 0:
        parser.error("--kills must be 0 or more")

    reason = available()
    if reason:
        print(f"bench.alerts: cannot measure: the lab {reason} (it builds network namespaces "
              "and cuts a link in them); run it as root.", file=sys.stderr)
        return EX_NOPERM
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    out = args.out or default_output(datetime.now(UTC).date())
    results, report, path = run(cuts, kills, quick=args.quick, seed=seed, out=out,
                                workdir=args.workdir)
    print()
    print(format_latencies(results))
    if report is not None:
        print()
        print(format_kill_report(report))
        if report.expected_missing:
            print("expected but missing: " + "; ".join(report.expected_missing))
    print(f"\nseed {seed}; results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
