"""Dead receivers: every channel's receiver down through an outage and 10 min beyond.

In the lab of ``testbed/daemon/alert_servers.py`` (the ISP's and management's mail servers on
its internet, the LAN webhook receiver), before the cut the mail servers' hosts are taken off
the internet (their packets dropped: each attempt waits for its timeout) and the webhook
receiver is stopped (connections refused). The WAN is then cut for ``OUTAGE`` (a ticket, and
at the long size an escalation), restored, and the receivers stay down ``BEYOND`` more
(long: 10 min; short: 12 s). Then they come back, and the suite waits until nothing is left
to send. A second webhook channel answers 401 with the request's headers quoted back in its
error: its messages fail for good (permanent), must be kept as ``failed`` and shown by
``watchdog outbox``, and the token they quote must never reach a log or a command's output.
A heartbeat whose URL is a secret pings the LAN receiver all along (failing while it is down).

Counted: messages lost (never sent, sent but never arrived, or expected and never recorded:
each outage's start, ticket, escalation and recovery on each channel, directly or folded into
a later one), messages duplicated (the same message twice, by id or under two ids), messages
out of event order per channel, duplicate tickets, permanent failures not kept as ``failed``
or not shown by ``watchdog outbox``, tracebacks, secrets in outputs.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.alerts import RealOutage, outage_of_incident
from soak.common import Outputs, count_arrivals, inspect_cli, wait_quiet, with_secrets
from soak.figures import Figure, Size, SuiteResult, at_most, info
from testbed.daemon.alert_servers import (
    ALERT_EVENTS,
    HOOK_CHANNEL,
    ISP_CHANNEL,
    ISP_SMTP_ADDRESS,
    LAN_HOOK_ADDRESS,
    LAN_HOOK_PATH,
    MANAGEMENT_CHANNEL,
    MANAGEMENT_SMTP_ADDRESS,
    RECEIVER_SCRIPT,
    AlertServers,
    alert_overrides,
)
from testbed.daemon.delivery_audit import audit_deliveries, delivery_id, received_ids
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import OutboxRow, read_incidents, read_outbox_rows
from testbed.lab import Lab
from testbed.leaks import SECRETS, write_secret_files

OUTAGE = {"short": timedelta(seconds=12), "long": timedelta(seconds=60)}
BEYOND = {"short": timedelta(seconds=12), "long": timedelta(minutes=10)}
OPEN_AFTER = "5s"
ESCALATION = "20s"
EVENTS = (*ALERT_EVENTS, "escalated")
# Short timeouts so a dead host costs an attempt seconds, not the default 10 s.
SEND_TIMEOUT = "3s"
REJECTING_CHANNEL = "rejecting-hook"
REJECTING_PORT = 8081
STATE_TIMEOUT = 60.0
# After the receivers return: a retry comes within the backoff's cap (60 s), then the rest.
DELIVERY_LIMIT = 240.0
MESSAGE_CHANNELS = (HOOK_CHANNEL, MANAGEMENT_CHANNEL, ISP_CHANNEL)


def expected(outage_hold: timedelta, escalation: timedelta) -> list[tuple[str, str]]:
    """The messages an outage held ``outage_hold`` must have delivered on each channel."""
    wanted = [(channel, event) for channel in (HOOK_CHANNEL, MANAGEMENT_CHANNEL)
              for event in ("outage_started", "ticket_opened", "recovered")]
    wanted += [(ISP_CHANNEL, "ticket_open"), (ISP_CHANNEL, "ticket_close")]
    if outage_hold > escalation + timedelta(seconds=10):
        wanted += [(HOOK_CHANNEL, "escalated"), (MANAGEMENT_CHANNEL, "escalated"),
                   (ISP_CHANNEL, "ticket_reminder")]
    return wanted


def _carrier(row: OutboxRow, by_id: dict[int, OutboxRow]) -> OutboxRow:
    """The row that carried ``row``'s news (itself, or the one it was folded into)."""
    seen = {row.id}
    while row.status in ("folded", "superseded") and row.folded_into in by_id \
            and row.folded_into not in seen:
        row = by_id[row.folded_into]
        seen.add(row.id)
    return row


def out_of_order(rows: list[OutboxRow], received: dict[str, list[str]]) -> list[str]:
    """Per channel, arrivals whose message was recorded before one that arrived earlier."""
    order = {(row.channel, delivery_id(row)): row.id for row in rows}
    problems = []
    for channel, ids in received.items():
        seen: set[str] = set()
        highest = 0
        for item in ids:
            if item in seen or (channel, item) not in order:
                continue
            seen.add(item)
            row_id = order[(channel, item)]
            if row_id < highest:
                problems.append(f"{channel}: message {row_id} arrived after {highest}")
            highest = max(highest, row_id)
    return problems


def outbox_shows(output: str, failed: list[OutboxRow]) -> list[str]:
    """The failed rows ``watchdog outbox`` does not show (its channel and event on a line)."""
    lines = output.splitlines()
    return [f"{row.id} {row.channel} {row.event}" for row in failed
            if not any(row.channel in line and row.event in line for line in lines)]


def run(size: Size, work: Path) -> SuiteResult:
    """The dead-receivers suite at ``size`` in a lab of its own."""
    result = SuiteResult("receivers", "Dead receivers: down through an outage and beyond",
                         size)
    outputs = Outputs(work / "outputs")
    overrides = alert_overrides(open_after=OPEN_AFTER, merge_within="0s", events=EVENTS,
                                smtp_timeout=SEND_TIMEOUT, hook_timeout=SEND_TIMEOUT)
    overrides["incidents"]["escalation"] = [ESCALATION]
    overrides = with_secrets(overrides, work)
    token_file = overrides["notify"]["webhook"][0]["token_file"]
    rejecting_url = f"http://{LAN_HOOK_ADDRESS}:{REJECTING_PORT}{LAN_HOOK_PATH}"
    overrides["notify"]["webhook"].append({
        "name": REJECTING_CHANNEL, "url": rejecting_url, "events": list(EVENTS),
        "token_file": token_file, "timeout": SEND_TIMEOUT})
    heartbeat_file = write_secret_files(work / "secrets")["heartbeat_url"]
    overrides["heartbeat"] = [{"name": "lan-beat", "url_file": str(heartbeat_file),
                               "interval": "5s", "timeout": "2s"}]
    with Lab() as lab, AlertServers(lab, work / "servers") as servers:
        lab.start_listener(
            "router", [lab.python, RECEIVER_SCRIPT, "--listen",
                       f"{LAN_HOOK_ADDRESS}:{REJECTING_PORT}", "--log",
                       work / "servers" / "rejecting.jsonl", "--reject",
                       f"{LAN_HOOK_PATH}=401"],
            LAN_HOOK_ADDRESS, REJECTING_PORT, output=work / "servers" / "rejecting.out")
        config = lab.write_config(work / "run" / "watchdog.toml", **overrides)
        with LabDaemon(lab, config) as daemon:
            daemon.start()
            daemon.wait_for_state("up", timeout=STATE_TIMEOUT)
            down_at = datetime.now(UTC)
            servers.stop_hook()
            for address in (ISP_SMTP_ADDRESS, MANAGEMENT_SMTP_ADDRESS):
                lab.remove_target(address)
            cut_at = lab.cut_wan()
            time.sleep(OUTAGE[size].total_seconds())
            restored_at = lab.restore_wan()
            daemon.wait_for_state("up", timeout=STATE_TIMEOUT)
            print(f"outage of {OUTAGE[size].total_seconds():.0f} s over; receivers stay down "
                  f"{BEYOND[size].total_seconds():.0f} s more", flush=True)
            time.sleep(max(0.0, (restored_at + BEYOND[size] - datetime.now(UTC))
                           .total_seconds()))
            before_return = read_outbox_rows(daemon.database)
            back_at = datetime.now(UTC)
            for address in (ISP_SMTP_ADDRESS, MANAGEMENT_SMTP_ADDRESS):
                lab.add_target(address)
            servers.start_hook()
            delivery_s = wait_quiet(daemon, count_arrivals(servers), limit=DELIVERY_LIMIT)
            inspect_cli(outputs, lab, config)
            exit_code = daemon.stop()
            outputs.add(*daemon.logs)
            database = daemon.database
        rows = read_outbox_rows(database)
        incidents = read_incidents(database)
        received = received_ids(servers)
        heartbeats = len(servers.other_requests())
    outage = RealOutage(1, cut_at, restored_at)
    result.figures, details = _figures(rows, incidents, received, outage, outputs, exit_code,
                                       before_return)
    result.details = {
        "receivers_down_s": round((back_at - down_at).total_seconds(), 1),
        "outage_s": round(outage.hold.total_seconds(), 1),
        "delivered_within_s_of_return": round(delivery_s, 1),
        "heartbeat_pings_received": heartbeats,
        "outbox": [f"{row.id} {row.channel} {row.event} {row.status} attempts "
                   f"{row.attempts} {(row.last_error or '')[:120]}" for row in rows],
        "before_return": [f"{row.id} {row.channel} {row.event} {row.status} attempts "
                          f"{row.attempts}" for row in before_return],
        "token_quoted_by_the_rejecting_receiver": SECRETS["webhook_token"][:12] + "…",
    }
    result.details.update(details)
    return result


def _figures(rows: list[OutboxRow], incidents: list[Any], received: dict[str, list[str]],
             outage: RealOutage, outputs: Outputs, exit_code: int | None,
             before_return: list[OutboxRow]) -> tuple[list[Figure], dict[str, Any]]:
    mine = [row for row in rows if row.channel in MESSAGE_CHANNELS]
    rejected = [row for row in rows if row.channel == REJECTING_CHANNEL]
    audit = audit_deliveries(mine, received, outage_of=lambda _: 1)
    by_id = {row.id: row for row in rows}
    arrived = {(channel, item) for channel, ids in received.items() for item in ids}
    got = {(row.channel, row.event) for row in mine
           if (row.channel, delivery_id(_carrier(row, by_id))) in arrived}
    escalation = timedelta(seconds=float(ESCALATION.rstrip("s")))
    missing = [f"{channel} {event}" for channel, event in expected(outage.hold, escalation)
               if (channel, event) not in got]
    order = out_of_order(mine, received)
    tickets = [incident for incident in incidents if incident.reference
               and outage_of_incident(incident, [outage]) == 1]
    ticket_reports = sum(1 for row in mine if row.event == "ticket_open"
                         and (row.channel, delivery_id(row)) in arrived)
    outbox_text = (outputs.directory / "outbox.txt").read_text(encoding="utf-8")
    not_kept = [row for row in rejected if row.status != "failed"]
    not_shown = outbox_shows(outbox_text, [row for row in rejected if row.status == "failed"])
    sent_early = [row for row in before_return if row.channel in MESSAGE_CHANNELS
                  and row.status == "sent"]
    leaks = outputs.leaks()
    details = {
        "missing": missing, "out_of_order": order,
        "unsent": [f"{r.id} {r.channel} {r.event} {r.status}" for r in audit.unsent],
        "sent_but_not_arrived": [f"{r.id} {r.channel} {r.event}" for r in audit.missing],
        "redelivered": {f"{c} {i}": n for (c, i), n in audit.redelivered.items()},
        "duplicates": {repr(k): list(v) for k, v in audit.duplicates.items()},
        "failed_not_kept": [f"{r.id} {r.event} {r.status}" for r in not_kept],
        "failed_not_shown": not_shown,
        "leaks": [f"{leak.where}:{leak.line}" for leak in leaks],
        "outbox_display": outbox_text[:3000],
    }
    return [
        info("messages recorded", len(mine)),
        info("  arrivals after the receivers returned", sum(len(v) for v in received.values())),
        at_most("  sent while every receiver was down", len(sent_early)),
        at_most("messages lost", audit.lost + len(missing)),
        at_most("messages duplicated", audit.redeliveries + audit.unrecognisable_duplicates),
        at_most("messages out of event order", len(order)),
        at_most("duplicate tickets", max(0, len(tickets) - 1) + max(0, ticket_reports - 1)),
        info("permanent failures (401 with the token quoted back)", len(rejected)),
        at_most("  not kept as failed", len(not_kept)),
        at_most("  not shown by watchdog outbox", len(not_shown)),
        at_most("clean stops failed", 0 if exit_code == 0 else 1),
        at_most("tracebacks", outputs.tracebacks()),
        at_most("secrets in outputs", len(leaks)),
    ], details


if __name__ == "__main__":
    from soak.__main__ import main

    sys.exit(main(["--only", "receivers", *sys.argv[1:]]))
