"""``watchdog tickets``, ``ticket show|ack|note|close``, ``outbox`` and ``notify-test``.

The database is built as the daemon builds it (synthetic cycles through the store with the
incident service attached, delivery through real SMTP and HTTP servers on loopback); the
commands run in-process (``watchdog.cli.main``) or, where the exit code and the absence of a
traceback are the point, as a child process.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
import time_machine
import trustme

from testbed.servers.http_receiver import HttpReceiver
from testbed.servers.smtp_server import HOST, SmtpServer
from tests.delivery.conftest import (
    HOUR,
    ISP_MAILBOX,
    MANAGERS,
    Rig,
    build_rig,
    close_rig,
    header,
    helpdesk_and_hook,
    outbox_rows,
    timeline,
    verify_signature,
    write_config,
)
from tests.store.store_helpers import at
from watchdog.cli import main
from watchdog.config.zone import site_zone
from watchdog.delivery.senders import build_senders
from watchdog.delivery.worker import Deliverer
from watchdog.errors import EX_USAGE
from watchdog.store.writer import Store

REFERENCE = "WD-2025-0001"
TICKET_KEYS = {"reference", "kind", "started_at", "ended_at", "ticket_opened_at", "closed_at",
               "closed_by", "acked_at", "reminders_sent", "gtr_breached", "cuts", "cause",
               "pending_messages", "provider_ref", "provider_ref_at"}
TIMELINE_KEYS = {"at", "kind", "text", "channel", "author", "recorded_at"}
MESSAGE_KEYS = {"id", "channel", "event", "status", "reference", "event_at", "due_at",
                "sent_at", "attempts", "last_error", "queued_at", "fell_due_at", "server",
                "reply", "message_id", "external_id", "folded_into", "attempt_log"}
ATTEMPT_KEYS = {"number", "started_at", "finished_at", "outcome", "server", "reply", "error"}


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp(tls_ca: trustme.CA) -> Iterator[SmtpServer]:
    with SmtpServer(tls="starttls", auth=True, ca=tls_ca) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with helpdesk_and_hook() as server:
        yield server


@pytest.fixture
def site(tmp_path: Path, smtp: SmtpServer, receiver: HttpReceiver) -> Iterator[Rig]:
    """The office, its config and database, with the daemon's store open."""
    wired = build_rig(tmp_path, smtp, receiver)
    yield wired
    close_rig(wired)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def default_logging() -> Iterator[None]:
    """A command may configure logging for its process; in-process, undo it afterwards."""
    yield
    structlog.reset_defaults()


def run(capsys: pytest.CaptureFixture[str], wired: Rig, *argv: str) -> tuple[int, str, str]:
    """``watchdog ARGV --config <the site's config>`` in-process: (exit code, out, err)."""
    capsys.readouterr()  # what the test itself printed (the delivery's log) is not the command's
    code = main([*argv, "--config", str(wired.config.source)])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(wired: Rig, *argv: str) -> subprocess.CompletedProcess[str]:
    """The same as a child process, for the exit code and what reaches the terminal."""
    return subprocess.run([sys.executable, "-m", "watchdog", *argv, "--config",
                           str(wired.config.source)],
                          capture_output=True, text=True, timeout=60, check=False)


def open_ticket(wired: Rig) -> None:
    """Up, then an ISP outage from T0 + 60 s; its ticket opens two minutes in; delivered."""
    wired.up(0)
    wired.down(60)
    wired.tick(180)
    wired.deliver()


def hours_later(wired: Rig, until: float, every: float = HOUR / 2) -> None:
    """Cycles (still down) and delivery passes from the clock's time to ``until``."""
    moment = (wired.clock() - at(0)).total_seconds() + every
    while moment <= until:
        wired.tick(moment)
        wired.deliver()
        moment += every


def messages(wired: Rig) -> list[tuple[str, str]]:
    return [(row.channel, row.event) for row in outbox_rows(wired.database)]


# --- listing -----------------------------------------------------------------------------------


def test_tickets_lists_the_open_ones_and_all_lists_every_one(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    open_ticket(site)
    site.up(1000)  # the first ticket is over
    site.deliver()
    site.down(2000)
    site.tick(2200)  # the second one opens
    with time_machine.travel(at(3 * HOUR), tick=False):
        code, out, err = run(capsys, site, "tickets")
        assert (code, err) == (0, "")
        assert out == ("WD-2025-0002  isp  since 2025-03-01 13:33  DOWN for 2 h 26 min  "
                       "(0 reminder(s), 6 message(s) waiting)\n")
        code, out, _ = run(capsys, site, "tickets", "--all")
    assert code == 0
    first, second = out.splitlines()
    assert first == (f"{REFERENCE}  isp  since 2025-03-01 13:01  recovered 13:16:40  "
                     "(0 reminder(s))")
    assert second.startswith("WD-2025-0002  isp  since 2025-03-01 13:33  DOWN for 2 h 26 min")


def test_tickets_says_so_when_there_is_none(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    site.up(0)
    assert run(capsys, site, "tickets") == (
        0, "No open ticket ('--all' lists every ticket).\n", "")
    assert run(capsys, site, "tickets", "--all", "--json") == (0, "[]\n", "")


def test_tickets_json_keeps_its_shape(site: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    open_ticket(site)
    hours_later(site, 5 * HOUR)
    site.up(5 * HOUR)
    site.deliver()
    code, out, _ = run(capsys, site, "tickets", "--all", "--json")
    assert code == 0
    (ticket,) = json.loads(out)
    assert set(ticket) == TICKET_KEYS
    assert ticket == ticket | {
        "reference": REFERENCE, "kind": "isp", "started_at": "2025-03-01T13:01:00+01:00",
        "ended_at": "2025-03-01T18:00:00+01:00", "ticket_opened_at": "2025-03-01T13:03:00+01:00",
        "closed_at": None, "acked_at": None, "reminders_sent": 1, "gtr_breached": True,
        "cuts": 1, "pending_messages": 0, "provider_ref": None, "provider_ref_at": None,
    }
    assert json.loads(run(capsys, site, "tickets", "--json")[1]) == []  # none open now

    code, out, _ = run(capsys, site, "ticket", "show", REFERENCE, "--json")
    assert code == 0
    detail = json.loads(out)
    assert set(detail) == TICKET_KEYS | {"timeline", "messages"}
    assert [event["kind"] for event in detail["timeline"]][:2] == ["started", "ticket_opened"]
    assert all(set(event) == TIMELINE_KEYS for event in detail["timeline"])
    assert all(set(message) == MESSAGE_KEYS for message in detail["messages"])
    # Delivered, or (the outage's first notices, first tried when the ticket's were due too)
    # folded into a delivered message.
    status = {message["id"]: message["status"] for message in detail["messages"]}
    assert set(status.values()) == {"sent", "folded"}
    assert all(status[message["folded_into"]] == "sent" for message in detail["messages"]
               if message["status"] == "folded")
    # Each with its proof: the accepting server, its reply, and every attempt.
    report = next(m for m in detail["messages"]
                  if (m["channel"], m["event"]) == ("isp", "ticket_open"))
    assert report["server"] == f"127.0.0.1:{site.smtp.port}"
    assert report["reply"].startswith("250 OK queued as Q")
    assert report["message_id"].startswith("<incident-1-ticket-open-isp.")
    assert report["queued_at"] == report["fell_due_at"] == "2025-03-01T13:03:00+01:00"
    (attempt,) = report["attempt_log"]
    assert set(attempt) == ATTEMPT_KEYS
    assert attempt | {"finished_at": None} == {
        "number": 1, "started_at": report["sent_at"], "finished_at": None, "outcome": "sent",
        "server": report["server"], "reply": report["reply"], "error": None}
    reminder = next(m for m in detail["messages"] if m["event"] == "ticket_reminder"
                    and m["channel"] == "helpdesk")
    assert reminder["fell_due_at"] == "2025-03-01T17:01:00+01:00"  # the GTR step's time
    assert reminder["server"] == (f"http://{site.receiver.host}:{site.receiver.port}"
                                  f"/tickets/HD-1/comments")
    assert reminder["reply"].startswith("HTTP 200 OK {")


# --- one ticket ----------------------------------------------------------------------------------


def fail_some(wired: Rig) -> None:
    """Up, then an outage from 60 s: management's mail is greylisted at once; the ticket opens
    two minutes in and the ISP's mailbox refuses its report for good. (Management's first
    notice is not tried again: it would be folded into the ticket's notice, see
    ``test_outbox_shows_a_folded_message_and_what_carries_it``.)"""
    wired.up(0)
    wired.down(60)
    wired.smtp.fail_next("451 4.7.1 Greylisted, try again later")
    wired.deliver("management")
    wired.deliver("lan-hook")
    wired.tick(180)
    wired.smtp.fail_next("550 5.1.1 Mailbox unavailable")
    wired.deliver("isp")
    for channel in ("helpdesk", "lan-hook"):
        wired.deliver(channel)


def test_ticket_show_prints_the_timeline_and_what_waits_with_its_last_error(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_some(site)
    with time_machine.travel(at(300), tick=False):
        code, out, err = run(capsys, site, "ticket", "show", REFERENCE.lower())
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{REFERENCE}  isp  since 2025-03-01 13:01  DOWN for 4 min")
    assert lines[1] == ("  the gateway 192.168.1.1 answers but 3 of 3 internet targets do "
                        "not answer")
    assert "  2025-03-01 13:03  ticket_opened ticket WD-2025-0001 opened with isp, helpdesk" \
        in lines
    failed = next(line for line in lines if " failed " in line)
    assert failed.startswith("  2025-03-01 13:03  failed        ticket_open could not be "
                             "delivered: ")
    assert "550 5.1.1 Mailbox unavailable" in failed and failed.endswith("[isp]")
    assert "  2025-03-01 13:03  sent          ticket_open sent (HTTP 201, ticket HD-1) " \
           "[helpdesk]" in lines
    # Delivered, with the proof: when, by which server, its reply.
    delivered = lines[lines.index("Delivered:") + 1:lines.index("Not delivered yet:")]
    helpdesk = f"http://{site.receiver.host}:{site.receiver.port}/tickets"
    assert (f"  #4 helpdesk: ticket_open (sent, 1 attempt(s)) — accepted 2025-03-01 13:03:00 "
            f'by {helpdesk}: HTTP 201 Created {{"id": "HD-1"}}') in delivered
    assert (f'    attempt 1 2025-03-01 13:03:00 {helpdesk}: sent — HTTP 201 Created '
            f'{{"id": "HD-1"}}') in delivered
    waiting = lines[lines.index("Not delivered yet:") + 1:]
    messages = [line for line in waiting if line.startswith("  #")]
    assert [line.split(":")[0].split()[-1] for line in messages] == [
        "management", "isp", "management"]
    assert "outage_started (pending, 1 attempt(s), next try 2025-03-01 13:01)" in messages[0]
    assert messages[0].endswith("451 4.7.1 Greylisted, try again later")
    assert "ticket_open (failed, 1 attempt(s)) — SMTP server" in messages[1]
    assert "ticket_opened (pending, 0 attempt(s)" in messages[2]
    relay = f"127.0.0.1:{site.smtp.port}"
    assert waiting[1] == (f"    attempt 1 2025-03-01 13:01:04 {relay}: transient — SMTP server "
                          f"{relay} did not take the message: 451 4.7.1 Greylisted, try again "
                          "later")


def test_outbox_lists_what_waits_and_what_failed_with_the_last_error(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_some(site)
    code, out, _ = run(capsys, site, "outbox")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("#1 management: outage_started (pending, 1 attempt(s), next try ")
    assert lines[0].endswith("did not take the message: 451 4.7.1 Greylisted, try again later")
    assert lines[1].startswith("#3 isp: ticket_open (failed, 1 attempt(s)) — ")
    assert lines[1].endswith("550 5.1.1 Mailbox unavailable")
    code, out, _ = run(capsys, site, "outbox", "--json")
    listed = json.loads(out)
    assert all(set(message) == MESSAGE_KEYS for message in listed)
    assert [(m["channel"], m["status"], m["reference"]) for m in listed] == [
        ("management", "pending", REFERENCE), ("isp", "failed", REFERENCE),
        ("management", "pending", REFERENCE)]

    site.clock.set(at(300))  # management's retry comes; the refusal stays refused
    site.deliver()
    assert run(capsys, site, "outbox")[1].splitlines() == [lines[1]]


def test_outbox_shows_a_folded_message_and_what_carries_it(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_some(site)
    site.clock.set(at(300))  # management can send again: its first notice is stale by now
    site.deliver()
    with time_machine.travel(at(400), tick=False):
        code, out, _ = run(capsys, site, "outbox", "--all")
    assert code == 0
    lines = out.splitlines()
    relay = f"127.0.0.1:{site.smtp.port}"
    opened = next(line for line in lines if "ticket_opened" in line and "management" in line)
    assert opened.startswith("#5 management: ticket_opened (sent, 1 attempt(s)) — accepted "
                             f"2025-03-01 13:05:00 by {relay}: 250 OK queued as Q")
    assert ", Message-ID <incident-1-ticket-opened-management." in opened
    # Folded messages are not waiting: `outbox` does not list them; `ticket show` does.
    assert not any("outage_started" in line and "management" in line for line in lines)
    show = run(capsys, site, "ticket", "show", REFERENCE)[1].splitlines()
    folded = show[show.index("Folded into a later message:") + 1]
    assert folded == ("  #1 management: outage_started (folded, 1 attempt(s)) — folded into #5")


def test_ticket_ack_stops_management_alerts_but_the_isp_is_still_reminded(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    open_ticket(site)
    with time_machine.travel(at(600), tick=False):
        code, out, err = run(capsys, site, "ticket", "ack", REFERENCE)
    assert (code, err) == (0, "")
    assert out == (f"{REFERENCE}: acknowledged: management stops getting escalation alerts; "
                   "reminders to the provider go on\n")
    hours_later(site, 25 * HOUR)

    sent = messages(site)
    assert sent.count(("isp", "ticket_reminder")) == 2  # gtr (4 h) and 24 h
    assert sent.count(("helpdesk", "ticket_reminder")) == 2
    assert ("management", "escalated") not in sent
    assert len(site.mailbox(ISP_MAILBOX)) == 3  # the report and two reminders
    acked = [(kind, text) for kind, text, _ in timeline(site.database) if kind == "acked"]
    assert len(acked) == 1
    (ticket,) = json.loads(run(capsys, site, "tickets", "--json")[1])
    assert ticket["acked_at"] == "2025-03-01T13:10:00+01:00"


def test_ticket_note_adds_the_text_to_the_timeline(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    open_ticket(site)
    with time_machine.travel(at(900), tick=False):
        code, out, _ = run(capsys, site, "ticket", "note", REFERENCE, "the", "technician",
                           "comes", "on", "Monday")
    assert (code, out) == (0, f"{REFERENCE}: the technician comes on Monday\n")
    assert ("note", "the technician comes on Monday", None) in timeline(site.database)
    show = run(capsys, site, "ticket", "show", REFERENCE)[1]
    assert "  2025-03-01 13:15  note          the technician comes on Monday" in show


def test_a_call_made_earlier_is_noted_at_its_time_with_who_made_it(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    open_ticket(site)
    with time_machine.travel(at(3600), tick=False):
        code, out, err = run(capsys, site, "ticket", "note", REFERENCE, "called the hotline",
                             "--at", "2025-03-01 13:40", "--by", "Jane Doe")
    assert (code, err) == (0, "")
    assert out == f"{REFERENCE}: called the hotline (at 2025-03-01 13:40, by Jane Doe)\n"
    show = run(capsys, site, "ticket", "show", REFERENCE)[1]
    assert ("  2025-03-01 13:40  note          called the hotline (by Jane Doe, written "
            "2025-03-01 14:00)") in show
    detail = json.loads(run(capsys, site, "ticket", "show", REFERENCE, "--json")[1])
    (note,) = [event for event in detail["timeline"] if event["kind"] == "note"]
    assert note == {"at": "2025-03-01T13:40:00+01:00", "kind": "note",
                    "text": "called the hotline", "channel": None, "author": "Jane Doe",
                    "recorded_at": "2025-03-01T14:00:00+01:00"}


def test_the_providers_reference_shows_on_the_ticket_and_its_timeline(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    open_ticket(site)
    with time_machine.travel(at(3600), tick=False):
        code, out, _ = run(capsys, site, "ticket", "provider-ref", REFERENCE, "4411-XYZ",
                           "--at", "2025-03-01T12:50:00+00:00")
        assert (code, out) == (0, f"{REFERENCE}: the provider's reference: 4411-XYZ "
                                  "(at 2025-03-01 13:50)\n")
        listed = run(capsys, site, "tickets")[1]
    assert "(provider ref 4411-XYZ, 0 reminder(s))" in listed
    (ticket,) = json.loads(run(capsys, site, "tickets", "--json")[1])
    assert (ticket["provider_ref"], ticket["provider_ref_at"]) == (
        "4411-XYZ", "2025-03-01T13:50:00+01:00")
    show = run(capsys, site, "ticket", "show", REFERENCE)[1]
    assert ("  2025-03-01 13:50  provider_ref  the provider's reference: 4411-XYZ (written "
            "2025-03-01 14:00)") in show


@pytest.mark.parametrize(("at_text", "words"), [
    ("yesterday", "--at 'yesterday' is not a time; write it as \"YYYY-MM-DD HH:MM\" in the "
                  "site's time zone"),
    ("2025-03-01 15:00", "2025-03-01 15:00:00 CET is in the future"),
    ("2025-03-01 12:00", "2025-03-01 12:00:00 CET is before WD-2025-0001 began "
                         "(2025-03-01 13:01:00 CET)"),
    ("2024-10-27 02:30", "--at '2024-10-27 02:30' falls in the hour the clocks change in "
                         "Europe/Paris; add the offset"),
], ids=["not a time", "future", "before the outage", "DST fold"])
def test_a_bad_at_is_one_sentence_and_exit_64(
    site: Rig, capsys: pytest.CaptureFixture[str], at_text: str, words: str
) -> None:
    open_ticket(site)
    before = timeline(site.database)
    with time_machine.travel(at(3600), tick=False):
        code, out, err = run(capsys, site, "ticket", "note", REFERENCE, "text", "--at", at_text)
    assert (code, out) == (EX_USAGE, "")
    assert err.startswith(f"watchdog: {words}") and err.count("\n") == 1, err
    assert timeline(site.database) == before


def test_ticket_close_stops_the_reminders_and_closing_twice_is_one_sentence(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    open_ticket(site)
    with time_machine.travel(at(600), tick=False):
        assert run(capsys, site, "ticket", "close", REFERENCE) == (
            0, f"{REFERENCE}: closed by hand: no more reminders\n", "")
    hours_later(site, 30 * HOUR)
    sent = messages(site)
    assert [event for _, event in sent if event in ("ticket_reminder", "escalated")] == []
    assert len(site.mailbox(ISP_MAILBOX)) == 1  # the report only
    assert run(capsys, site, "tickets")[1] == "No open ticket ('--all' lists every ticket).\n"
    (ticket,) = json.loads(run(capsys, site, "tickets", "--all", "--json")[1])
    assert (ticket["closed_at"], ticket["closed_by"]) == ("2025-03-01T13:10:00+01:00", "manual")

    again = run_process(site, "ticket", "close", REFERENCE)
    assert again.returncode == EX_USAGE
    assert again.stderr == f"watchdog: {REFERENCE} is already closed\n"
    assert again.stdout == ""


@pytest.mark.parametrize("action", [["show"], ["ack"], ["close"], ["note", "some", "text"]])
def test_an_unknown_reference_is_one_sentence_and_exit_64(
    site: Rig, capsys: pytest.CaptureFixture[str], action: list[str]
) -> None:
    open_ticket(site)
    code, out, err = run(capsys, site, "ticket", action[0], "WD-2025-0999", *action[1:])
    assert (code, out) == (EX_USAGE, "")
    assert err.startswith("watchdog: no ticket WD-2025-0999")
    assert "'watchdog tickets --all' lists them" in err and err.count("\n") == 1


def test_an_unknown_reference_ends_the_process_without_a_traceback(site: Rig) -> None:
    open_ticket(site)
    result = run_process(site, "ticket", "show", "WD-2025-0999")
    assert result.returncode == EX_USAGE, result.stderr
    assert result.stderr == (f"watchdog: no ticket WD-2025-0999 in {site.database}; "
                             "'watchdog tickets --all' lists them.\n")
    assert result.stdout == ""


# --- notify-test -------------------------------------------------------------------------------


def test_notify_test_sends_a_test_through_each_channel_and_exits_0(
    tmp_path: Path, smtp: SmtpServer, receiver: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wired = build_rig(tmp_path, smtp, receiver, rest_helpdesk=False)
    try:
        code, out, err = run(capsys, wired, "notify-test")
    finally:
        close_rig(wired)
    assert (code, err) == (0, "")
    # The notification channels only: a test to a ticket backend would open a real ticket.
    assert out.splitlines() == [
        "Not tested: the ticket backends isp, it (a test would open a ticket at the helpdesk);"
        " name one with --channel to test it.",
        "management: ok — 250 OK queued as Q0001",
        "lan-hook: ok — HTTP 200",
    ]
    tests = [item.message for item in smtp.messages]
    assert [header(message, "Subject") for message in tests] == [
        '[Example Office] Test message from the internet watchdog (channel "management")']
    (hook,) = receiver.requests
    assert hook.json()["event"] == "test"
    assert verify_signature(hook, now=datetime.now(UTC))
    assert {row.status for row in outbox_rows(wired.database)} == {"sent"}


def test_notify_test_with_a_dead_channel_says_why_and_exits_1(
    tmp_path: Path, smtp: SmtpServer, receiver: HttpReceiver, closed_port: int
) -> None:
    wired = build_rig(tmp_path, smtp, receiver, rest_helpdesk=False, management_port=closed_port)
    close_rig(wired)
    result = run_process(wired, "notify-test")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"management: FAILED — SMTP server 127.0.0.1:{closed_port} refused the connection",
        "lan-hook: ok — HTTP 200",
    ]
    assert "Traceback" not in result.stderr

    # The relay is fixed; the failed test is not sent hours later by the outbox.
    config = write_config(tmp_path, smtp, receiver, rest_helpdesk=False)
    (failed,) = outbox_rows(wired.database, "status != 'sent'")
    assert (failed.channel, failed.event, failed.status) == ("management", "test", "failed")
    now = failed.due_at
    deliverer = Deliverer(Store.open(wired.database), build_senders(config, site_zone(config)),
                          now=lambda: now)
    try:
        for _ in range(5):
            now += timedelta(minutes=10)
            assert deliverer.deliver_all() == 0
    finally:
        deliverer.store.close()
    assert not [item for item in smtp.messages if MANAGERS[0] in item.rcpt_tos]
    assert outbox_rows(wired.database, "status != 'sent'") == [failed]


def test_notify_test_works_before_the_daemon_made_the_database_and_creates_none(
    tmp_path: Path, smtp: SmtpServer, receiver: HttpReceiver
) -> None:
    config = write_config(tmp_path, smtp, receiver, rest_helpdesk=False)
    database = config.storage.database
    assert not database.exists()
    result = subprocess.run([sys.executable, "-m", "watchdog", "notify-test", "--config",
                             str(config.source)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[1:] == [
        f"{database} does not exist yet (the daemon creates it on its first run): these tests "
        "are not recorded.",
        "management: ok — 250 OK queued as Q0001",
        "lan-hook: ok — HTTP 200",
    ]
    assert not database.exists() and not database.parent.joinpath(
        database.name + "-wal").exists()
    assert len(receiver.requests) == 1 and len(smtp.messages) == 1


def test_notify_test_for_an_unknown_channel_is_one_sentence_and_exit_64(site: Rig) -> None:
    result = run_process(site, "notify-test", "--channel", "nope")
    assert result.returncode == EX_USAGE
    assert result.stderr == ("watchdog: no channel 'nope' (known: isp, it, helpdesk, "
                             "management, lan-hook)\n")
    assert result.stdout == ""


def test_notify_test_tests_the_notification_channels_and_leaves_the_isp_alone(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, site, "notify-test")
    assert code == 0, out
    assert site.mailbox(ISP_MAILBOX) == []
    assert site.requests("/tickets") == []


def test_notify_test_tests_a_ticket_backend_named_with_channel_and_its_help_says_so(
    site: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, site, "notify-test", "--channel", "isp")
    assert code == 0, out
    assert out.splitlines()[-1].startswith("isp: ok — ")
    assert len(site.mailbox(ISP_MAILBOX)) == 1
    result = subprocess.run([sys.executable, "-m", "watchdog", "notify-test", "--help"],
                            capture_output=True, text=True, timeout=30, check=True)
    text = " ".join(result.stdout.split())
    assert "The ticket backends are left alone" in text
    assert "name one with --channel to test its address" in text
