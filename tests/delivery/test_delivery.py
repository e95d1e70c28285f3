"""From an outage to the inboxes, in virtual time, through real SMTP and HTTP servers.

Each test records synthetic probe cycles (the incident service runs inside each cycle's
transaction, as in the daemon) and runs delivery passes at the fake clock's time; the mail
relay (aiosmtpd, STARTTLS and login) and the HTTP receiver (LAN webhook and REST helpdesk)
are real servers on loopback. See ``conftest.py`` for the configuration.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme

from testbed.servers.smtp_server import SmtpServer
from tests.delivery.conftest import (
    DAY,
    HELPDESK_ID,
    HELPDESK_TOKEN,
    ISP_MAILBOX,
    IT_MAILBOX,
    MANAGERS,
    REFERENCE_PATTERN,
    Rig,
    RigFactory,
    body,
    build_rig,
    close_rig,
    header,
    helpdesk_and_hook,
    query,
    timeline,
    verify_signature,
)
from tests.store.store_helpers import T0, at
from watchdog.delivery import outbox
from watchdog.delivery.senders import Outgoing
from watchdog.store.timetext import to_text

REFERENCE = "WD-2025-0001"
MANAGER = MANAGERS[0]
LATE_WORDS = "while the link was down"
# The ten-day outage: from T0 + 60 s for 10 d 1 h 2 min 3 s.
TEN_DAYS_START = 60.0
TEN_DAYS_END = TEN_DAYS_START + 10 * DAY + 3723


def seconds(moment: datetime) -> float:
    """``moment`` as seconds after ``T0`` (the rig's cycles are placed that way)."""
    return (moment - T0).total_seconds()


def live_through(rig: Rig, start: float, end: float, step: float = 1800) -> None:
    """Up, an ISP outage from ``start`` to ``end`` with a cycle and a delivery pass every
    ``step`` seconds (the first two minutes after the start, when the ticket opens), back up."""
    rig.up(0)
    rig.deliver()
    rig.down(start)
    rig.deliver()
    moment = start + 120
    while moment < end:
        rig.tick(moment)
        rig.deliver()
        moment += step
    rig.up(end)
    rig.deliver()


def keep_delivering(rig: Rig, passes: int = 20, every: float = 90) -> None:
    """More passes as time goes on (past any backoff): nothing new must leave."""
    for _ in range(passes):
        rig.clock.set(rig.clock() + timedelta(seconds=every))
        rig.deliver()


def event_of(rig: Rig, message: EmailMessage) -> str:
    """The outbox event an email was sent for (matched by its Message-ID)."""
    rows = rig.rows("message_id = ?", header(message, "Message-ID"))
    assert len(rows) == 1, header(message, "Message-ID")
    return rows[0].event


@pytest.fixture(scope="module")
def ten_days(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The ten-day outage, lived once for the tests that look at what it delivered."""
    with SmtpServer(tls="starttls", auth=True, ca=tls_ca) as smtp, \
            helpdesk_and_hook() as receiver:
        wired = build_rig(tmp_path_factory.mktemp("ten-days"), smtp, receiver)
        try:
            live_through(wired, TEN_DAYS_START, TEN_DAYS_END)
            keep_delivering(wired)
            yield wired
        finally:
            close_rig(wired)


# --- the whole path --------------------------------------------------------------------------


def test_a_ten_day_outage_reaches_the_isp_as_one_thread_with_every_reminder(
    ten_days: Rig,
) -> None:
    wired = ten_days
    isp = wired.mailbox(ISP_MAILBOX)
    # The report, gtr (4 h), 24 h, 72 h, then daily up to 240 h (ten reminders), the close.
    assert [event_of(wired, message) for message in isp] == (
        ["ticket_open"] + ["ticket_reminder"] * 10 + ["ticket_close"])
    subjects = [header(message, "Subject") or "" for message in isp]
    assert subjects[0].startswith(f"[{REFERENCE}] Line FTTH-42 down since Sat 1 Mar 13:01")
    assert [re.findall(r"Reminder (\d+):", subject) for subject in subjects[1:11]] == [
        [str(number)] for number in range(1, 11)]
    assert "repair-time guarantee (4 h) exceeded" in subjects[1]
    assert subjects[11].startswith(f"[{REFERENCE}] Line FTTH-42 back up after 10 d 1 h")
    for subject in subjects:
        assert re.search(REFERENCE_PATTERN, subject) and "FTTH-42" in subject, subject
    # Each reminder at the first delivery pass (every 30 min) after its step was due.
    reminded = [row.sent_at for row in wired.rows("channel = 'isp' AND event = "
                                                  "'ticket_reminder'")]
    for sent_at, hours in zip(reminded, [4, 24, 72, 96, 120, 144, 168, 192, 216, 240],
                              strict=True):
        assert sent_at is not None
        late = sent_at - at(TEN_DAYS_START + hours * 3600)
        assert timedelta(0) <= late < timedelta(minutes=30), hours

    report_id = header(isp[0], "Message-ID")
    assert header(isp[0], "In-Reply-To") is None and header(isp[0], "References") is None
    assert len({header(message, "Message-ID") for message in isp}) == len(isp)
    for message in isp[1:]:
        assert header(message, "In-Reply-To") == report_id, message["Subject"]
        assert header(message, "References") == report_id, message["Subject"]

    for received in wired.received(ISP_MAILBOX):
        assert (received.tls, received.login) == (True, "watchdog")  # STARTTLS, then AUTH
    closing = body(isp[-1])
    assert "after 10 d 1 h 2 min 3 s down" in closing
    assert re.search(r"Duration:\s+10 d 1 h 2 min 3 s\n", closing)
    assert re.search(r"Repair guarantee:\s+exceeded by 9 d 21 h \(guarantee 4 h\)\n", closing)
    assert re.search(r"Reminders sent:\s+10\n", closing)
    assert not any(LATE_WORDS in body(message) for message in isp)  # all on time


def test_the_isp_report_is_a_complete_incident_report(ten_days: Rig) -> None:
    report = body(ten_days.mailbox(ISP_MAILBOX)[0])
    for line in (
        "Line FTTH-42 at Example Office has been down since Sat 1 Mar 2025 13:01.",
        "quote our reference WD-2025-0001",
        "Address:           12 rue de la Gare, Lyon",
        "Customer ref.:     C-778899",
        "Repair guarantee:  4 h (contract GTR), due by Sat 1 Mar 2025 17:01",
        "Down since:        Sat 1 Mar 2025 13:01:00 (Europe/Paris)",
        "The gateway 192.168.1.1 answers, but 3 of 3 internet targets are unreachable "
        "since 13:01:00.",
        "Recent probe results (Europe/Paris time):",
        "13:01:00  cloudflare  ping     203.0.113.1  failed  —           timeout",
        "Contact:             Jane Doe, +33 4 00 00 00 00",
        "Event time: Sat 1 Mar 2025 13:03:00 (Europe/Paris)",
    ):
        assert line in report, line


def test_management_hears_of_every_step_once(ten_days: Rig) -> None:
    wired = ten_days
    received = wired.received(MANAGER)
    assert [event_of(wired, item.message) for item in received] == (
        ["outage_started", "ticket_opened"] + ["escalated"] * 10 + ["recovered"])
    for item in received:
        assert item.rcpt_tos == MANAGERS  # one message to both managers
    assert "repair-time guarantee exceeded" in (header(received[2].message, "Subject") or "")
    # Every message sent is on the incident's timeline, once.
    sent = wired.rows("status = 'sent'")
    assert len([kind for kind, _, _ in timeline(wired.database) if kind == "sent"]) == len(sent)
    assert len([kind for kind, _, _ in timeline(wired.database) if kind == "reminder"]) == 10


def test_the_lan_webhook_gets_its_events_signed_with_the_outbox_key(ten_days: Rig) -> None:
    wired = ten_days
    hooks = wired.requests("/hook")
    rows = wired.rows("channel = 'lan-hook'")
    # Subscribed to outage_started, lan_fault, ticket_opened, recovered: not escalated.
    assert [request.json()["event"] for request in hooks] == [
        "outage_started", "ticket_opened", "recovered"]
    assert [row.event for row in rows] == ["outage_started", "ticket_opened", "recovered"]
    for request, row in zip(hooks, rows, strict=True):
        assert row.sent_at is not None
        assert request.header("Idempotency-Key") == row.key
        assert request.header("X-Watchdog-Timestamp") == str(int(row.sent_at.timestamp()))
        assert verify_signature(request, now=row.sent_at)
        tampered = dataclasses.replace(request, body=request.body.replace(b'"', b"'", 1))
        assert not verify_signature(tampered, now=row.sent_at)
        assert not verify_signature(request, now=row.sent_at + timedelta(hours=1))  # replayed
        assert request.json()["reference"] in (None, REFERENCE)


def test_the_rest_helpdesk_gets_one_ticket_and_its_follow_ups(ten_days: Rig) -> None:
    wired = ten_days
    calls = wired.requests("/tickets")
    assert [(call.method, call.path) for call in calls] == (
        [("POST", "/tickets")]
        + [("POST", f"/tickets/{HELPDESK_ID}/comments")] * 10
        + [("POST", f"/tickets/{HELPDESK_ID}/close")])
    rows = wired.rows("channel = 'helpdesk'")
    assert [call.header("Idempotency-Key") for call in calls] == [row.key for row in rows]
    for call in calls:
        assert call.header("Authorization") == f"Bearer {HELPDESK_TOKEN}"  # from token_file
        assert call.header("X-Office") == "example-office"
        assert call.json()["reference"] == REFERENCE
    assert calls[-1].json()["duration_s"] == 10 * DAY + 3723
    stored = query(wired.database, "SELECT external_id FROM outbox WHERE channel = 'helpdesk' "
                                   "AND event = 'ticket_open'")
    assert stored == [(HELPDESK_ID,)]


# --- while the link is down ----------------------------------------------------------------


def test_mail_waits_with_capped_backoff_and_leaves_late_when_the_link_returns(
    rig: RigFactory,
) -> None:
    wired = rig(through_link=True)
    assert wired.link is not None
    wired.up(0)
    wired.deliver()
    wired.link.cut()
    wired.down(60)
    wired.deliver()
    wired.tick(180)  # the ticket opens
    wired.deliver()

    # Follow the ISP's ticket report attempt by attempt, each pass when it is due.
    waits: list[float] = []
    dues: list[datetime] = []
    for _ in range(9):
        (head,) = wired.rows("channel = 'isp' AND event = 'ticket_open'")
        assert head.status == "pending" and head.last_attempt_at is not None
        assert f"127.0.0.1:{wired.link.port} closed the connection" in (head.last_error or "")
        waits.append((head.due_at - head.last_attempt_at).total_seconds())
        dues.append(head.due_at)
        wired.tick(seconds(head.due_at))
        wired.deliver()
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60, 60]  # exponential, capped at 60 s
    spacing = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(dues)]
    assert spacing == [4, 8, 16, 32, 60, 60, 60, 60]

    # Two hours on, still down: everything for the internet waits; the LAN webhook did not.
    for moment in range(600, 8090, 300):
        wired.tick(moment)
        wired.deliver()
    wired.tick(8090)
    wired.deliver()
    # Management's first notice was stale once the ticket's could leave: folded into it.
    waiting = wired.rows("status = 'pending'")
    assert {(row.channel, row.event) for row in waiting} == {
        ("management", "ticket_opened"), ("isp", "ticket_open")}
    (started,) = wired.rows("channel = 'management' AND event = 'outage_started'")
    (opened,) = wired.rows("channel = 'management' AND event = 'ticket_opened'")
    assert (started.status, started.folded_into) == ("folded", opened.id)
    assert all(row.last_error for row in waiting)
    assert [request.json()["event"] for request in wired.requests("/hook")] == [
        "outage_started", "ticket_opened"]
    assert [request.json()["late_s"] for request in wired.requests("/hook")] == [0, 0]
    assert wired.link.resets > 0 and wired.mailbox(MANAGER) == []

    # The link comes back: the recovery makes every waiting message due at once.
    wired.link.restore()
    head = wired.rows("channel = 'management' AND status = 'pending'")[0]
    assert head.due_at > at(8100)  # its next retry would have been later
    wired.up(8096)  # confirmed at 8100
    assert all(row.due_at <= at(8100) for row in wired.rows("status = 'pending'"))
    # All in this one pass: management's stale notices fold into its recovery notice.
    assert wired.deliver() == 5
    assert wired.rows("status = 'pending'") == []

    (recovered,) = (item.message for item in wired.received(MANAGER))
    assert event_of(wired, recovered) == "recovered"
    summary = body(recovered)
    assert LATE_WORDS not in summary  # the recovery itself is news: sent at once, not late
    assert re.search(r"^  13:01 +Internet down +tried once, at 13:01:04$", summary, re.M)
    assert re.search(r"^  13:03 +ticket WD-2025-0001 opened +tried 36 times, 13:03:00 to "
                     r"15:14:50$", summary, re.M)
    report, closing = wired.mailbox(ISP_MAILBOX)
    assert "Sent 2 h 12 min after the ticket was opened, while the link was down." \
        in body(report)
    assert "Event time: Sat 1 Mar 2025 13:03:00 (Europe/Paris)" in body(report)
    assert LATE_WORDS not in body(closing)
    assert header(closing, "In-Reply-To") == header(report, "Message-ID")


def test_a_temporary_refusal_is_retried_and_delivered_once(rig: RigFactory) -> None:
    wired = rig()
    wired.up(0)
    wired.down(60)
    wired.smtp.fail_next("451 4.3.0 Mailbox busy, try again later")
    assert wired.deliver("management") == 0
    (row,) = wired.rows("channel = 'management'")
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451 4.3.0 Mailbox busy" in (row.last_error or "")
    assert row.due_at == at(66)  # 2 s after the attempt

    wired.clock.set(at(66))
    assert wired.deliver("management") == 1
    keep_delivering(wired)
    assert len(wired.mailbox(MANAGER)) == 1
    (row,) = wired.rows("channel = 'management'")
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_a_permanent_refusal_fails_the_message_on_the_timeline_and_the_next_one_goes(
    rig: RigFactory,
) -> None:
    wired = rig()
    wired.up(0)
    wired.down(60)
    wired.smtp.fail_next("550 5.7.1 Message refused by policy")
    assert wired.deliver("management") == 0
    (row,) = wired.rows("channel = 'management'")
    assert row.status == "failed"
    assert "did not take the message: 550 5.7.1 Message refused by policy" in (
        row.last_error or "")
    failures = [(text, channel) for kind, text, channel in timeline(wired.database)
                if kind == "failed"]
    assert len(failures) == 1
    assert failures[0][1] == "management"
    assert failures[0][0].startswith("outage_started could not be delivered: ")
    assert "550 5.7.1" in failures[0][0]

    wired.tick(180)  # the ticket opens: management's next message
    assert wired.deliver("management") == 1
    keep_delivering(wired)
    assert [event_of(wired, message) for message in wired.mailbox(MANAGER)] == [
        "ticket_opened"]
    assert wired.rows("event = 'outage_started' AND channel = 'management'")[0].attempts == 1


def test_a_template_that_does_not_render_fails_its_messages_and_the_next_ones_go(
    rig: RigFactory, tmp_path: Path
) -> None:
    # The site's own template for one event, misspelt: rendering it again cannot succeed.
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "outage_started.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}{{ sitee.name }}{% endblock %}\n')
    wired = rig()
    wired.up(0)
    wired.down(60)
    assert wired.deliver() == 0
    failed = wired.rows("event = 'outage_started'")
    assert [(row.channel, row.status, row.attempts) for row in failed] == [
        ("management", "failed", 1), ("lan-hook", "failed", 1)]
    assert {row.last_error for row in failed} == {
        "template 'outage_started.txt.j2' failed: 'sitee' is undefined"}
    assert sorted(channel for kind, _, channel in timeline(wired.database)
                  if kind == "failed") == ["lan-hook", "management"]

    wired.tick(180)  # the ticket opens: its messages use templates that work
    keep_delivering(wired)  # half an hour of passes: the failed ones are never retried
    assert [event_of(wired, message) for message in wired.mailbox(MANAGER)] == [
        "ticket_opened"]
    assert wired.requests("/hook") != []
    assert [row.attempts for row in wired.rows("event = 'outage_started'")] == [1, 1]


def test_a_hanging_mail_server_does_not_hold_back_the_webhook(
    rig: RigFactory, silent_port: int
) -> None:
    wired = rig(management_port=silent_port, management_timeout="3s")
    wired.up(0)
    wired.down(60)
    stuck = threading.Thread(target=wired.deliverer.deliver, args=("management",))
    stuck.start()
    try:
        # Wait (in real time: a thread) until management's message is claimed and in flight.
        deadline = time.monotonic() + 5
        while wired.rows("channel = 'management'")[0].status != "sending":
            assert time.monotonic() < deadline, "management's message was never claimed"
            time.sleep(0.01)
        began = time.monotonic()
        assert wired.deliverer.deliver("lan-hook") == 1
        # Well under the mail's 3 s timeout, with room for a busy machine...
        assert time.monotonic() - began < 2.0
        assert stuck.is_alive()  # ...and the mail is still waiting for a greeting meanwhile
        assert [request.json()["event"] for request in wired.requests("/hook")] == [
            "outage_started"]
    finally:
        stuck.join(timeout=10)
    (row,) = wired.rows("channel = 'management'")
    assert row.status == "pending"
    assert f"127.0.0.1:{silent_port} did not answer within 3 s" in (row.last_error or "")


# --- crashes ---------------------------------------------------------------------------------


def send_without_recording(wired: Rig, channel: str) -> str:
    """What a sender does before a crash: claim the channel's next message and send it,
    never recording the outcome. Returns the message's key."""
    with wired.store.write() as session:
        row = outbox.claim_next(session, channel, wired.clock())
        assert row is not None
        outgoing = Outgoing(key=row.key, channel=row.channel, event=row.event,
                            incident_id=row.incident_id, context=json.loads(row.context))
    wired.deliverer.senders[channel].send(outgoing, wired.clock())
    return outgoing.key


def test_a_crash_between_sending_and_recording_resends_with_the_same_ids(
    rig: RigFactory,
) -> None:
    wired = rig()
    wired.up(0)
    wired.down(60)
    mail_key = send_without_recording(wired, "management")
    hook_key = send_without_recording(wired, "lan-hook")
    assert {row.status for row in wired.rows("key IN (?, ?)", mail_key, hook_key)} == {
        "sending"}

    wired.reopen(at(100))  # the process died; the daemon starts again
    assert {row.status for row in wired.rows("key IN (?, ?)", mail_key, hook_key)} == {
        "pending"}
    wired.deliver()
    keep_delivering(wired)

    first, again = wired.mailbox(MANAGER)
    assert header(first, "Message-ID") == header(again, "Message-ID")  # a recognisable copy
    (mail,) = wired.rows("key = ?", mail_key)
    assert (mail.status, mail.attempts) == ("sent", 2)
    assert mail.message_id == header(first, "Message-ID")
    hooks = wired.requests("/hook")
    assert [request.header("Idempotency-Key") for request in hooks] == [hook_key, hook_key]
    assert hooks[0].json()["event_at"] == hooks[1].json()["event_at"]


def test_a_message_recorded_as_sent_is_never_sent_again(rig: RigFactory) -> None:
    wired = rig()
    live_through(wired, 60, 4000, step=300)
    assert wired.rows("status != 'sent'") == []
    delivered = {header(message, "Message-ID") for message in wired.mailbox(MANAGER)}
    delivered |= {header(message, "Message-ID") for message in wired.mailbox(ISP_MAILBOX)}
    keys = [request.header("Idempotency-Key") for request in wired.receiver.requests]
    assert len(delivered) == 5 and len(keys) == 5

    keep_delivering(wired, passes=50, every=61)
    wired.reopen(wired.clock() + timedelta(seconds=10))  # a restart releases claims: none
    wired.up(seconds(wired.clock()) + 2)  # a recovery rushes what waits: nothing does
    keep_delivering(wired, passes=20)

    ids = [header(item.message, "Message-ID") for item in wired.smtp.messages]
    assert all(ids.count(message_id) == 1 for message_id in delivered)
    assert [request.header("Idempotency-Key") for request in wired.receiver.requests] == keys
    # Only the restart's own notice is new (the watchdog was not watching for a while).
    assert [row.event for row in wired.rows("status = 'sent' AND sent_at > ?",
                                            to_text(at(4004)))] == ["monitor_gap"]


# --- who gets what -----------------------------------------------------------------------------


def test_a_lan_fault_goes_to_it_and_never_to_the_isp(rig: RigFactory) -> None:
    wired = rig()
    wired.up(0)
    wired.down(60, "lan")
    wired.deliver()
    for moment in range(180, 1000, 60):
        wired.tick(moment)
        wired.deliver()
    wired.up(1000)
    wired.deliver()
    keep_delivering(wired)

    assert wired.mailbox(ISP_MAILBOX) == []
    assert wired.requests("/tickets") == []  # the ISP's helpdesk takes isp and dns only
    report, closing = wired.mailbox(IT_MAILBOX)
    subject = header(report, "Subject") or ""
    assert subject.startswith(f"[{REFERENCE}] Local network fault since")
    assert "(line FTTH-42 not at fault)" in subject
    assert "the provider has not been contacted" in body(report)
    assert "The gateway 192.168.1.1 does not answer" in body(report)
    assert header(closing, "In-Reply-To") == header(report, "Message-ID")
    assert [event_of(wired, message) for message in wired.mailbox(MANAGER)] == [
        "lan_fault", "ticket_opened", "recovered"]
    assert [request.json()["event"] for request in wired.requests("/hook")] == [
        "lan_fault", "ticket_opened", "recovered"]


def test_a_flapping_line_makes_one_thread_and_grouped_rate_limited_notices(
    rig: RigFactory,
) -> None:
    wired = rig()
    wired.up(0)
    wired.deliver()
    for cut in range(10):  # ten 20-second cuts in five minutes
        wired.down(60 + 30 * cut)
        wired.deliver()
        wired.up(80 + 30 * cut)
        wired.deliver()
    for moment in range(400, 2 * 3600, 60):
        wired.tick(moment)
        wired.deliver()

    assert query(wired.database, "SELECT reference, cuts FROM incident") == [(REFERENCE, 10)]
    assert query(wired.database, "SELECT count(*) FROM outage") == [(10,)]  # every cut kept
    reopened = [kind for kind, _, _ in timeline(wired.database) if kind == "reopened"]
    assert len(reopened) == 9

    # The ISP: one report and the rest in its thread, not a message per cut.
    isp = wired.mailbox(ISP_MAILBOX)
    assert [event_of(wired, message) for message in isp] == [
        "ticket_open", "ticket_close", "ticket_close"]
    assert [header(message, "In-Reply-To") for message in isp[1:]] == [
        header(isp[0], "Message-ID")] * 2
    # Management: the first cut as it happened, then one grouped notice per interval, the
    # last one saying the line is back; 21 messages without grouping.
    assert [event_of(wired, message) for message in wired.mailbox(MANAGER)] == [
        "outage_started", "recovered", "outage_started", "ticket_opened", "recovered"]
    assert [request.json()["event"] for request in wired.requests("/hook")] == [
        "outage_started", "recovered", "outage_started", "ticket_opened", "recovered"]
    interval = wired.config.incidents.flap_notify_interval
    for channel in ("isp", "management", "lan-hook"):
        grouped = [row.sent_at for row in wired.rows(
            "channel = ? AND status = 'sent' AND group_key IS NOT NULL", channel)]
        assert len(grouped) == 2, channel
        assert grouped[1] is not None and grouped[0] is not None
        assert interval <= grouped[1] - grouped[0] <= interval + timedelta(minutes=1), channel


# --- language ----------------------------------------------------------------------------------


def test_a_french_site_gets_its_report_in_french_with_french_dates(rig: RigFactory) -> None:
    wired = rig(language="fr")
    live_through(wired, 60, 1000, step=60)
    report, closing = wired.mailbox(ISP_MAILBOX)
    assert header(report, "Subject") == (
        f"[{REFERENCE}] Ligne FTTH-42 coupée depuis le sam. 1er mars à 13:01 — Example Office")
    text = body(report)
    for words in (
        "La ligne FTTH-42 du site Example Office est coupée depuis le sam. 1er mars 2025 "
        "à 13:01.",
        "Merci de rétablir la ligne et de rappeler notre référence WD-2025-0001",
        "Ce qui ne fonctionne pas :",
        "La passerelle 192.168.1.1 répond, mais 3 cibles Internet sur 3 sont injoignables",
        "GTR (contrat) :    4 h, soit un rétablissement avant le sam. 1er mars 2025 à 17:01",
        "1,0 ms",
        "Heure de l'événement : sam. 1er mars 2025 13:03:00 (Europe/Paris)",
    ):
        assert words in text, words
    for english in ("Please", "Sat ", " Mar ", "Event time"):
        assert english not in text, english
    assert re.search(r"Durée :\s+15 min 40 s\n", body(closing))
    assert (header(wired.mailbox(MANAGER)[0], "Subject") or "").startswith(
        "[Example Office] Internet coupé depuis 13:01")


def test_every_email_says_when_its_event_happened_and_asks_for_no_auto_reply(
    ten_days: Rig,
) -> None:
    for item in ten_days.smtp.messages:
        message = item.message
        assert "\n" not in str(message["Subject"]).strip()
        assert re.search(r"^Event time: .+ \(Europe/Paris\); sent ", body(message), re.M)
        assert message["Auto-Submitted"] == "auto-generated"
