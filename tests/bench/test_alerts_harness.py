"""bench/alerts.py's arithmetic without namespaces, and one quick real run when root.

The counting is what the issue's figures rest on (duplicate tickets, lost messages, duplicates
a receiver cannot recognise), so it is pinned here on hand-made outboxes and receiver logs.
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from bench import alerts
from bench.alerts import (
    AlertCut,
    Kill,
    RealOutage,
    count_kill_results,
    format_kill_report,
    format_latencies,
    latency_summary,
    outage_of_incident,
    plan_sequence,
    spaced_instants,
)
from testbed.daemon.alert_servers import (
    HOOK_CHANNEL,
    ISP_CHANNEL,
    MANAGEMENT_CHANNEL,
    hook_records,
    mail_records,
    message_id_of,
    read_json_lines,
)
from testbed.daemon.delivery_audit import audit_deliveries, cut_of, delivery_id
from testbed.daemon.records import IncidentRow, OutboxRow
from testbed.lab import lab_available
from testbed.servers import SERVERS_DIR
from tests.environment import require
from watchdog.channels.smtp import SmtpSettings, build_email, send_email
from watchdog.errors import EX_NOPERM

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def row(number: int, channel: str, event: str, *, incident: int | None = 1,
        status: str = "sent", suffix: str | None = None) -> OutboxRow:
    key = (f"incident:{incident}:{suffix or event}:{channel}" if incident is not None
           else f"{event}:{number}:{channel}")
    return OutboxRow(id=number, key=key, channel=channel, event=event, status=status,
                     attempts=1, last_error=None if status == "sent" else "timed out",
                     incident_id=incident, message_id=None, created_at=at(number),
                     sent_at=at(number + 1) if status == "sent" else None)


def incident_rows(incident: int) -> list[OutboxRow]:
    """The eight messages of one outage with a ticket, as the daemon keys them."""
    base = incident * 100
    return [
        row(base + 1, HOOK_CHANNEL, "outage_started", incident=incident, suffix="started"),
        row(base + 2, MANAGEMENT_CHANNEL, "outage_started", incident=incident, suffix="started"),
        row(base + 3, ISP_CHANNEL, "ticket_open", incident=incident),
        row(base + 4, HOOK_CHANNEL, "ticket_opened", incident=incident),
        row(base + 5, MANAGEMENT_CHANNEL, "ticket_opened", incident=incident),
        row(base + 6, ISP_CHANNEL, "ticket_close", incident=incident, suffix="close:1"),
        row(base + 7, HOOK_CHANNEL, "recovered", incident=incident, suffix="recovered:1"),
        row(base + 8, MANAGEMENT_CHANNEL, "recovered", incident=incident,
            suffix="recovered:1"),
    ]


def arrivals_of(rows: list[OutboxRow]) -> dict[str, list[str]]:
    received: dict[str, list[str]] = {ISP_CHANNEL: [], MANAGEMENT_CHANNEL: [], HOOK_CHANNEL: []}
    for item in rows:
        if item.status == "sent":
            received[item.channel].append(delivery_id(item))
    return received


def incident(number: int, start: float, end: float | None, reference: str | None
             ) -> IncidentRow:
    return IncidentRow(id=number, kind="isp", reference=reference, started_at=at(start),
                       ended_at=None if end is None else at(end),
                       ticket_opened_at=None if reference is None else at(start + 10), cuts=1)


# --- receiver logs -----------------------------------------------------------------------------


def test_receiver_logs_parse_and_a_torn_last_line_waits_for_the_next_read(
    tmp_path: Path,
) -> None:
    log = tmp_path / "smtp.jsonl"
    mail = {"at": T0.isoformat(), "message_id": "<a@office.example>", "subject": "[WD-1] x",
            "from": "w@office.example", "to": ["isp@isp.example"], "in_reply_to": None,
            "references": None, "date": None, "body": "Sent 2 min after ..."}
    log.write_text(json.dumps(mail) + "\n" + '{"at": "2026-', encoding="utf-8")

    [record] = mail_records(read_json_lines(log))

    assert record.message_id == "<a@office.example>"
    assert record.recipients == ("isp@isp.example",)
    assert read_json_lines(tmp_path / "absent.jsonl") == []


def test_the_smtp_server_runs_as_a_script_logs_each_message_and_can_answer_late(
    tmp_path: Path,
) -> None:
    # As the lab runs it in a namespace: by path, a JSON line per message, the answer held.
    log = tmp_path / "smtp.jsonl"
    script = SERVERS_DIR / "smtp_server.py"
    with subprocess.Popen(
        [sys.executable, str(script), "--listen", "127.0.0.1:0", "--log", str(log),
         "--data-delay", "0.5"], stdout=subprocess.PIPE, text=True, cwd="/",
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline().strip()
            assert banner.startswith("listening on 127.0.0.1:")
            port = int(banner.rpartition(":")[2])
            message_id = message_id_of("incident:1:ticket_open:isp-helpdesk")
            email = build_email(sender="watchdog@office.example", to=["isp@isp.example"],
                                subject="[WD-2026-0001] down", text_body="Sent late.",
                                message_id=message_id, date=T0)
            began = time.monotonic()
            send_email(SmtpSettings(host="127.0.0.1", port=port, security="none",
                                    sender="watchdog@office.example", timeout=5), email)
            waited = time.monotonic() - began
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0

    [record] = mail_records(read_json_lines(log))
    assert record.message_id == message_id  # unfolded, though the header was folded
    assert record.subject == "[WD-2026-0001] down"
    assert record.recipients == ("isp@isp.example",)
    assert record.body.strip() == "Sent late."
    assert waited >= 0.5


def test_webhook_records_carry_the_idempotency_key_whatever_its_case() -> None:
    line = {"at": T0.isoformat(), "method": "POST", "path": "/hook",
            "headers": {"idempotency-key": "incident:1:started:lan-hook"},
            "body": json.dumps({"event": "outage_started", "reference": None})}

    record, garbled = hook_records([line, {**line, "body": "not json"}])

    assert record.key == "incident:1:started:lan-hook"
    assert record.event == "outage_started"
    assert (garbled.event, garbled.payload) == (None, {})


def test_a_webhook_is_known_by_its_key_an_email_by_the_message_id_of_its_key() -> None:
    hook = row(1, HOOK_CHANNEL, "outage_started")
    mail = row(2, ISP_CHANNEL, "ticket_open")

    assert delivery_id(hook) == hook.key
    assert delivery_id(mail) == message_id_of(mail.key)
    assert delivery_id(mail).endswith("@office.example>")


def test_the_cut_of_a_message_comes_from_its_key() -> None:
    assert cut_of("incident:3:started:lan-hook") == 1
    assert cut_of("incident:3:cut:4:lan-hook") == 4
    assert cut_of("incident:3:recovered:2:management-mail") == 2
    assert cut_of("incident:3:ticket_open:isp-helpdesk") == 1


# --- the audit of deliveries -------------------------------------------------------------------


def test_a_clean_run_has_nothing_lost_and_nothing_doubled() -> None:
    rows = incident_rows(1)

    audit = audit_deliveries(rows, arrivals_of(rows))

    assert (audit.lost, audit.redeliveries, audit.unrecognisable_duplicates) == (0, 0, 0)
    assert audit.delivered == len(rows) and audit.unexpected == ()


def test_an_unsent_row_and_a_sent_row_that_never_arrived_are_both_lost() -> None:
    rows = incident_rows(1)
    received = arrivals_of(rows)
    rows[0] = row(101, HOOK_CHANNEL, "outage_started", suffix="started", status="pending")
    received[ISP_CHANNEL].remove(delivery_id(rows[2]))

    audit = audit_deliveries(rows, received)

    assert [item.id for item in audit.unsent] == [101]
    assert [item.id for item in audit.missing] == [103]
    assert audit.lost == 2


def test_the_same_id_twice_is_a_recognisable_redelivery_not_a_duplicate() -> None:
    rows = incident_rows(1)
    received = arrivals_of(rows)
    received[ISP_CHANNEL].insert(1, delivery_id(rows[2]))

    audit = audit_deliveries(rows, received)

    assert audit.redelivered == {(ISP_CHANNEL, delivery_id(rows[2])): 2}
    assert audit.redeliveries == 1
    assert audit.unrecognisable_duplicates == 0


def test_two_incidents_for_one_outage_are_duplicates_under_different_ids() -> None:
    rows = incident_rows(1) + incident_rows(2)

    separate = audit_deliveries(rows, arrivals_of(rows))
    same_outage = audit_deliveries(rows, arrivals_of(rows), outage_of=lambda _: 1)

    assert separate.unrecognisable_duplicates == 0
    assert same_outage.unrecognisable_duplicates == 8
    assert (ISP_CHANNEL, 1, "ticket_open", 1) in same_outage.duplicates


def test_an_arrival_matching_no_row_is_reported() -> None:
    rows = incident_rows(1)
    received = arrivals_of(rows)
    received[HOOK_CHANNEL].append("incident:9:started:lan-hook")

    assert audit_deliveries(rows, received).unexpected == (
        (HOOK_CHANNEL, "incident:9:started:lan-hook"),)


# --- the kill report ---------------------------------------------------------------------------

OUTAGES = [RealOutage(1, at(10), at(45)), RealOutage(2, at(60), at(95))]
TICKET_AFTER = timedelta(seconds=25)


def test_an_incident_belongs_to_the_outage_it_started_in() -> None:
    assert outage_of_incident(incident(1, 12, 45, "WD-2026-0001"), OUTAGES) == 1
    assert outage_of_incident(incident(2, 61, None, None), OUTAGES) == 2
    assert outage_of_incident(incident(3, 50, 52, None), OUTAGES) is None


def test_kills_that_changed_nothing_count_zero_duplicates_and_zero_losses() -> None:
    rows = incident_rows(1) + incident_rows(2)
    received = arrivals_of(rows)
    received[HOOK_CHANNEL].append(delivery_id(rows[0]))  # in flight at a kill
    kills = [Kill(at(20), True, (f"{HOOK_CHANNEL} outage_started",), 1, 0.5)]

    report = count_kill_results(
        OUTAGES, [incident(1, 12, 46, "WD-2026-0001"), incident(2, 62, 96, "WD-2026-0002")],
        rows, received, kills, ticket_after=TICKET_AFTER)

    assert (report.duplicate_tickets, report.lost_messages) == (0, 0)
    assert report.unrecognisable_duplicates == 0
    assert report.same_id_redeliveries == 1
    assert report.kills_with_send_in_flight == report.kills_after_a_receiver_had_the_message == 1
    assert "duplicate tickets" in format_kill_report(report)


def test_a_second_ticket_for_one_outage_is_a_duplicate_ticket() -> None:
    rows = incident_rows(1) + incident_rows(2)

    report = count_kill_results(
        OUTAGES[:1], [incident(1, 12, 30, "WD-2026-0001"), incident(2, 31, 46, "WD-2026-0002")],
        rows, arrivals_of(rows), [], ticket_after=TICKET_AFTER)

    assert report.duplicate_tickets == 1
    assert report.unrecognisable_duplicates == 8


def test_an_outage_nobody_heard_of_loses_its_expected_messages() -> None:
    rows = incident_rows(1)

    report = count_kill_results(OUTAGES, [incident(1, 12, 46, "WD-2026-0001")], rows,
                                arrivals_of(rows), [], ticket_after=TICKET_AFTER)

    assert report.outages_without_incident == 1
    assert report.outages_missing_a_ticket == 1
    assert report.lost_messages == 4  # outage_started and recovered, at two channels
    assert all(item.startswith("outage 2:") for item in report.expected_missing)


def test_a_notice_folded_into_one_that_arrived_is_not_lost() -> None:
    rows = incident_rows(1)
    # Management's first two notices waited out the cut; the recovery's carried them.
    for number in (102, 105):
        index = next(i for i, item in enumerate(rows) if item.id == number)
        rows[index] = dataclasses.replace(rows[index], status="folded", folded_into=108)

    report = count_kill_results(OUTAGES[:1], [incident(1, 12, 46, "WD-2026-0001")], rows,
                                arrivals_of(rows), [], ticket_after=TICKET_AFTER)

    assert report.lost_messages == 0 and report.expected_missing == []
    rows[-1] = dataclasses.replace(rows[-1], status="pending")  # the carrier never left
    report = count_kill_results(OUTAGES[:1], [incident(1, 12, 46, "WD-2026-0001")], rows,
                                arrivals_of(rows), [], ticket_after=TICKET_AFTER)
    assert sorted(report.expected_missing) == [
        f"outage 1: {MANAGEMENT_CHANNEL} {event}"
        for event in ("outage_started", "recovered", "ticket_opened")]


def test_an_outage_without_a_ticket_expects_no_ticket_messages() -> None:
    rows = [item for item in incident_rows(1)
            if item.event in ("outage_started", "recovered")]

    report = count_kill_results(OUTAGES[:1], [incident(1, 12, 46, None)], rows,
                                arrivals_of(rows), [], ticket_after=timedelta(minutes=5))

    assert report.lost_messages == 0 and report.outages_missing_a_ticket == 0


# --- the plan and the statistics ---------------------------------------------------------------


def test_kill_instants_are_random_sorted_inside_and_spaced() -> None:
    for seed in range(50):
        instants = spaced_instants(20, 2.0, 300.0, 3.0, random.Random(seed))
        assert len(instants) == 20
        assert instants[0] >= 2.0 and instants[-1] <= 300.0
        assert all(later - earlier >= 3.0 - 1e-9
                   for earlier, later in pairwise(instants))
    with pytest.raises(ValueError, match="do not fit"):
        spaced_instants(5, 0.0, 10.0, 3.0, random.Random(1))


def test_the_plan_alternates_cuts_and_restores_and_aims_every_third_kill_at_a_send() -> None:
    plan = plan_sequence(7, 20, random.Random(4))

    faults = [step.action for step in plan if step.action in ("cut", "restore")]
    kills = [step for step in plan if step.action.startswith("kill")]
    assert faults == ["cut", "restore"] * 7
    assert len(kills) == 20
    assert sum(step.action == "kill_in_send" for step in kills) == 20 // 3
    assert [step.at for step in plan] == sorted(step.at for step in plan)


def cut(number: int, alert: float, recovered: float) -> AlertCut:
    return AlertCut(number=number, delay_s=0.5, cut_at=at(0), restored_at=at(20),
                    outage_seen_at=at(alert - 1), alert_at=at(alert),
                    recovered_at=at(20 + recovered), queued_mail_at=at(20 + recovered + 0.1))


def test_latencies_summarise_as_median_and_max() -> None:
    cuts = [cut(n, alert, recovered)
            for n, (alert, recovered) in enumerate([(5, 4), (6, 3), (4, 5), (9, 4), (5.5, 3.5)],
                                                   start=1)]

    summary = latency_summary(cuts)

    assert summary["alert_s"] == {"median": 5.5, "max": 9.0, "min": 4.0}
    assert summary["recovery_notice_s"]["median"] == 4.0
    assert summary["detection_s"]["max"] == 8.0
    table = format_latencies(cuts)
    assert "median" in table and "9.00 s" in table


# --- running it --------------------------------------------------------------------------------


def test_without_root_it_says_why_and_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code = alerts.main(["--quick"], available=lambda: "needs root for network namespaces")

    assert code == EX_NOPERM
    assert "run it as root" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_a_quick_real_run_counts_no_duplicate_ticket_and_no_lost_message(
    tmp_path: Path,
) -> None:
    require(lab_available())
    out = tmp_path / "alerts.json"

    done = subprocess.run(
        [sys.executable, "-m", "bench.alerts", "--quick", "--kills", "2", "--seed", "7",
         "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=280, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["method"]["quick"] is True
    assert document["latency_summary"]["alert_s"]["max"] < 20
    kills = document["kills"]
    assert kills["kills"] == 2
    assert (kills["duplicate_tickets"], kills["lost_messages"],
            kills["unrecognisable_duplicates"]) == (0, 0, 0), kills["details"]
