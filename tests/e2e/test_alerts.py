"""Alerts through a WAN cut, end to end: the LAN channel delivers during the outage, the mail
waits in the outbox and leaves once when the link is back: the ISP's report marked late, and
management's stale notices folded into one mail, the recovery's, that lists them.

The lab (testbed/lab) gets the ISP's helpdesk and management's mail servers on its
"internet" (203.0.113.25 and .26, port 25, unreachable once the WAN is cut) and a webhook
receiver on the router's LAN address (192.0.2.1:8080, reachable during the cut); the real daemon
runs in the office with the lab's quick schedule and ``incidents.open_after = 5 s``. Every
server appends one JSON line per message it accepts, so the assertions count what arrived, by
Message-ID and Idempotency-Key, against the daemon's outbox.

A message says it is late only when it leaves more than a minute after its event
(``watchdog.delivery.render.LATE_AFTER``), so the cut is held a minute past the ticket's
opening: this test takes about 70 s.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from testbed.daemon.alert_servers import (
    ALERT_EVENTS,
    HOOK_CHANNEL,
    ISP_CHANNEL,
    ISP_MAILBOX,
    MANAGEMENT_CHANNEL,
    MANAGEMENT_MAILBOX,
    AlertServers,
    HookRecord,
    MailRecord,
    alert_overrides,
    message_id_of,
)
from testbed.daemon.delivery_audit import FINAL_STATUSES
from testbed.daemon.driver import LabDaemon, run_cli
from testbed.daemon.records import describe_outbox, read_incidents, read_outbox_rows
from testbed.lab import Lab
from watchdog.delivery.render import LATE_AFTER
from watchdog.store.ticket_reader import read_period_messages

# The cut → outage_started budget at the lab's schedule: ~2 s to confirm, ≤ 1 s to deliver.
LAN_ALERT_WITHIN = timedelta(seconds=10)
# What the issue promises for the recovery notices, counted from the restore.
RECOVERY_WITHIN = timedelta(seconds=10)
OPEN_AFTER = "5s"
DEADLINE = 30.0
# The first attempt at an unreachable relay fails after the relay's timeout (10 s default).
FIRST_ERROR_DEADLINE = 45.0


@pytest.fixture
def servers(lab: Lab, tmp_path: Path) -> Iterator[AlertServers]:
    with AlertServers(lab, tmp_path / "servers") as running:
        yield running


@pytest.fixture
def daemon(lab: Lab, tmp_path: Path, servers: AlertServers) -> Iterator[LabDaemon]:
    config = lab.write_config(tmp_path / "run" / "watchdog.toml",
                              **alert_overrides(open_after=OPEN_AFTER))
    with LabDaemon(lab, config) as running:
        running.start()
        running.wait_for_state("up", timeout=DEADLINE)
        yield running


def hook_of(event: str, servers: AlertServers) -> Callable[[], HookRecord | None]:
    def check() -> HookRecord | None:
        return next((hook for hook in servers.hooks() if hook.event == event), None)

    return check


def no_mail(servers: AlertServers) -> Callable[[], str | None]:
    def check() -> str | None:
        mail = servers.isp_mail() + servers.management_mail()
        return f"mail arrived while the WAN was cut: {mail}" if mail else None

    return check


def outbox_json(lab: Lab, daemon: LabDaemon) -> list[dict[str, Any]]:
    done = run_cli(lab, "outbox", "--json", "--config", daemon.config)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def test_a_wan_cut_alerts_the_lan_at_once_and_mails_once_marked_late_after_the_restore(
    lab: Lab, servers: AlertServers, daemon: LabDaemon
) -> None:
    def wait(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
        return daemon.poll(check, timeout=timeout, what=what,
                           also=lambda: f"{servers.describe()}\n"
                                        f"{describe_outbox(daemon.database)}")

    cut = lab.cut_wan()

    # During the outage the LAN webhook hears of it, and of the ticket, at once.
    started = wait(hook_of("outage_started", servers), "outage_started at the LAN webhook")
    assert started.value.at - cut <= LAN_ALERT_WITHIN
    opened = wait(hook_of("ticket_opened", servers), "ticket_opened at the LAN webhook")
    [incident] = read_incidents(daemon.database)
    assert incident.reference is not None and incident.ticket_opened_at is not None
    assert opened.value.payload["reference"] == incident.reference

    # The mail cannot leave: `watchdog outbox` shows it waiting, with why. (Management's
    # first notice, tried once, is folded into the ticket's as soon as that one is due.)
    waiting = {(ISP_CHANNEL, "ticket_open"), (MANAGEMENT_CHANNEL, "ticket_opened")}

    def mail_waiting_with_errors() -> list[dict[str, Any]] | None:
        rows = outbox_json(lab, daemon)
        failed = {(row["channel"], row["event"]) for row in rows
                  if row["status"] in ("pending", "sending") and row["last_error"]}
        return rows if waiting <= failed else None

    listed = wait(mail_waiting_with_errors, "the mail to show in `watchdog outbox` with an error",
                  timeout=FIRST_ERROR_DEADLINE).value
    assert {(row["channel"], row["event"]) for row in listed} >= waiting
    assert all(row["reference"] == incident.reference for row in listed)
    assert not any(row["channel"] == HOOK_CHANNEL for row in listed)
    assert not servers.isp_mail() and not servers.management_mail()

    # Hold the cut until the ticket is over a minute old, so that the mail leaves late.
    daemon.hold(incident.ticket_opened_at + LATE_AFTER + timedelta(seconds=1),
                unwanted=no_mail(servers))
    restored = lab.restore_wan()

    closing = wait(lambda: next((m for m in servers.isp_mail()
                                 if m.in_reply_to is not None), None),
                   "the ISP's closing email")
    recovered = wait(hook_of("recovered", servers), "recovered at the LAN webhook")
    management_recovered = wait(
        lambda: next((m for m in servers.management_mail() if "back" in m.subject), None),
        "management's recovery email")

    def all_sent() -> bool:
        rows = read_outbox_rows(daemon.database)
        return bool(rows) and all(row.status in FINAL_STATUSES for row in rows)

    wait(all_sent, "every outbox message to be sent")
    assert daemon.stop() == 0
    assert outbox_json(lab, daemon) == []

    # The recovery notices leave within seconds of the restore.
    for what, arrival in (("webhook recovered", recovered.value.at),
                          ("ISP closing email", closing.value.at),
                          ("management recovery email", management_recovered.value.at)):
        assert arrival - restored <= RECOVERY_WITHIN, f"{what} came {arrival - restored} late"

    # Exactly once each, under the ids the outbox gave them.
    rows = read_outbox_rows(daemon.database)
    isp, management, hooks = servers.isp_mail(), servers.management_mail(), servers.hooks()
    for received in (Counter(m.message_id for m in isp),
                     Counter(m.message_id for m in management),
                     Counter(h.key for h in hooks)):
        assert set(received.values()) == {1}, f"duplicates: {received}"
    by_channel = {channel: {row.event: row for row in rows if row.channel == channel}
                  for channel in (ISP_CHANNEL, MANAGEMENT_CHANNEL, HOOK_CHANNEL)}
    assert set(by_channel[ISP_CHANNEL]) == {"ticket_open", "ticket_close"}
    assert set(by_channel[MANAGEMENT_CHANNEL]) == {"outage_started", "ticket_opened",
                                                   "recovered"}
    assert set(by_channel[HOOK_CHANNEL]) == {"outage_started", "ticket_opened", "recovered"}
    assert [m.message_id for m in isp] == [
        message_id_of(by_channel[ISP_CHANNEL][event].key) for event in ("ticket_open",
                                                                        "ticket_close")]
    # Management's first two notices were stale by the time they could leave: folded into
    # the recovery's, the one mail management gets.
    assert [m.message_id for m in management] == [
        message_id_of(by_channel[MANAGEMENT_CHANNEL]["recovered"].key)]
    started, opened, recovered_row = (by_channel[MANAGEMENT_CHANNEL][event] for event in (
        "outage_started", "ticket_opened", "recovered"))
    assert (started.status, started.folded_into) == ("folded", opened.id)
    assert (opened.status, opened.folded_into) == ("folded", recovered_row.id)
    assert [h.key for h in hooks] == [
        by_channel[HOOK_CHANNEL][event].key
        for event in ("outage_started", "ticket_opened", "recovered")]
    assert all(row.message_id == message_id_of(row.key) for row in rows
               if row.channel != HOOK_CHANNEL and row.status == "sent")

    # The LAN alerts came during the outage; every mail after the restore, within seconds.
    assert [h.at < restored for h in hooks] == [True, True, False]
    for mail in (*isp, *management):
        assert restored <= mail.at <= restored + RECOVERY_WITHIN, (
            f"{mail.subject!r} arrived {mail.at - restored} after the restore")

    # The ISP's ticket: its report says it is late; the closing email answers it.
    report, close = isp
    assert report.recipients == (ISP_MAILBOX,)
    assert incident.reference in report.subject and "FTTH-0042" in report.subject
    assert_late(report, "after the ticket was opened, while the link was down")
    assert close.in_reply_to == report.message_id
    assert incident.reference in close.subject
    assert "while the link was down" not in close.body

    # Management's: one mail, the recovery (not late), saying what happened and when.
    [back] = management
    assert back.recipients == (MANAGEMENT_MAILBOX,)
    assert "while the link was down" not in back.body
    assert "Earlier messages that could not be delivered when they were due" in back.body
    assert "Internet down" in back.body
    assert f"ticket {incident.reference} opened" in back.body

    [incident] = read_incidents(daemon.database)
    assert incident.ended_at is not None and incident.cuts == 1


def assert_late(mail: MailRecord, phrase: str) -> None:
    """The body has the lateness line: "Sent 1 min 4 s after ..., while the link was down."."""
    lines = [line for line in mail.body.splitlines() if line.startswith("Sent ")]
    assert lines and phrase in lines[0], f"{mail.subject!r} does not say it is late:\n{mail.body}"



# Three escalation steps in seconds, so a cut can outlast them in a test.
QUICK_STEPS = ("15s", "25s", "35s")


def test_a_cut_through_three_escalation_steps_gives_the_provider_one_reminder_after_it(
    lab: Lab, servers: AlertServers, tmp_path: Path
) -> None:
    overrides = alert_overrides(open_after=OPEN_AFTER, events=(*ALERT_EVENTS, "escalated"))
    overrides["incidents"] |= {"escalation": list(QUICK_STEPS)}
    config = lab.write_config(tmp_path / "steps" / "watchdog.toml", **overrides)
    with LabDaemon(lab, config) as daemon:
        daemon.start()
        daemon.wait_for_state("up", timeout=DEADLINE)

        def wait(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
            return daemon.poll(check, timeout=timeout, what=what,
                               also=lambda: f"{servers.describe()}\n"
                                            f"{describe_outbox(daemon.database)}").value

        lab.cut_wan()
        # Management's LAN channel hears of each step during the cut; no mail can leave.
        wait(lambda: len([h for h in servers.hooks() if h.event == "escalated"]) == 3 or None,
             "the three escalation steps at the LAN webhook", timeout=90)
        assert not servers.isp_mail() and not servers.management_mail()
        restored = lab.restore_wan()

        def all_final() -> bool:
            rows = read_outbox_rows(daemon.database)
            return any(row.event == "ticket_close" and row.status == "sent" for row in rows) \
                and all(row.status in FINAL_STATUSES for row in rows)

        wait(all_final, "every message sent or folded after the restore", timeout=60)
        assert daemon.stop() == 0

    # The provider: its report, one reminder carrying the two before it, the close.
    report, reminder, close = servers.isp_mail()
    assert reminder.subject.startswith(f"[{read_incidents(daemon.database)[0].reference}] "
                                       "Reminder 3:")
    assert reminder.in_reply_to == close.in_reply_to == report.message_id
    assert re.findall(r"^  .+?  reminder (\d)\b", reminder.body, re.M) == ["1", "2"]
    assert all(mail.at >= restored for mail in (report, reminder, close))
    # Management: one mail, the recovery, listing the outage, the ticket and every step.
    [back] = servers.management_mail()
    for words in ("Internet down", "ticket WD-", "reminder 1 due", "reminder 2 due",
                  "reminder 3 due"):
        assert words in back.body, words
    # The record lists every step's due time and what carried it.
    [incident] = read_incidents(daemon.database)
    (messages,) = read_period_messages(daemon.database, incident.started_at,
                                       restored + timedelta(minutes=5))
    reminders = [m for m in messages.messages
                 if (m.channel, m.event) == (ISP_CHANNEL, "ticket_reminder")]
    assert [m.fell_due_at - incident.started_at for m in reminders] == [
        timedelta(seconds=seconds) for seconds in (15, 25, 35)]
    assert [m.status for m in reminders] == ["folded", "folded", "sent"]
    assert all(messages.reached(m) for m in messages.messages)
    assert reminders[-1].message_id == reminder.message_id
