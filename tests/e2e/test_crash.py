"""SIGKILL the real daemon around its outbox and restart it: nothing lost, nothing doubled.

The outbox's contract (watchdog/delivery/outbox.py): a message is recorded with the event that
causes it, claimed, sent, then marked sent. A crash before the send leaves it to the next run;
a crash after the send but before the mark makes the next run send it again, with the same
Message-ID or Idempotency-Key, so the receiver can recognise it; a message marked sent is never
sent again; and the incident keeps one ticket whatever the restarts.

The lab as in test_alerts.py: the ISP's and management's mail servers on the lab's internet
(unreachable while the WAN is cut), the webhook receiver on the LAN, ``open_after = 5 s``.
To kill the daemon *between sending and marking sent*, a server holds its answer a few seconds
after it has recorded the message; the test kills the daemon as soon as the message shows in
the server's log. Each test takes 25-35 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.daemon.alert_servers import HOOK_CHANNEL, ISP_CHANNEL, AlertServers, alert_overrides
from testbed.daemon.delivery_audit import (
    FINAL_STATUSES,
    audit_deliveries,
    delivery_id,
    received_ids,
)
from testbed.daemon.driver import LabDaemon
from testbed.daemon.records import OutboxRow, describe_outbox, read_incidents, read_outbox_rows
from testbed.lab import Lab

OPEN_AFTER = "5s"
DEADLINE = 30.0
# How long a slow server holds its answer after recording the message.
HOLD_ANSWER = 4.0


def start_daemon(lab: Lab, tmp_path: Path) -> LabDaemon:
    config = lab.write_config(tmp_path / "run" / "watchdog.toml",
                              **alert_overrides(open_after=OPEN_AFTER))
    daemon = LabDaemon(lab, config).start()
    daemon.wait_for_state("up", timeout=DEADLINE)
    return daemon


@pytest.fixture
def make_servers(lab: Lab, tmp_path: Path) -> Iterator[Callable[..., AlertServers]]:
    started: list[AlertServers] = []

    def make(*, hook: bool = True, **delays: float) -> AlertServers:
        servers = AlertServers(lab, tmp_path / "servers", **delays).start(hook=hook)
        started.append(servers)
        return servers

    yield make
    for servers in started:
        servers.stop()


class Run:
    """The daemon and the servers of one test, with waits that explain themselves."""

    def __init__(self, daemon: LabDaemon, servers: AlertServers) -> None:
        self.daemon = daemon
        self.servers = servers

    def wait(self, check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
        return self.daemon.poll(
            check, timeout=timeout, what=what,
            also=lambda: f"{self.servers.describe()}\n{describe_outbox(self.daemon.database)}"
        ).value

    def rows(self) -> list[OutboxRow]:
        return read_outbox_rows(self.daemon.database)

    def row(self, channel: str, event: str) -> OutboxRow | None:
        return next((row for row in self.rows()
                     if row.channel == channel and row.event == event), None)

    def kill(self) -> list[OutboxRow]:
        """SIGKILL; return the outbox as the killed daemon left it."""
        assert self.daemon.kill() == -9
        return self.rows()

    def restart(self) -> None:
        self.daemon.start()

    def wait_all_sent(self) -> list[OutboxRow]:
        def done() -> list[OutboxRow] | None:
            rows = self.rows()
            final = all(row.status in FINAL_STATUSES for row in rows)
            recovered = any(row.event == "recovered" for row in rows)
            return rows if rows and final and recovered else None

        rows: list[OutboxRow] = self.wait(done, "every message, the recovery's too, to be sent")
        return rows

    def assert_one_ticket(self) -> None:
        incidents = read_incidents(self.daemon.database)
        assert len(incidents) == 1, incidents
        assert incidents[0].reference is not None
        assert incidents[0].cuts == 1, "the restart was counted as a new cut"
        ticket_mails = {mail.message_id for mail in self.servers.isp_mail()
                        if mail.in_reply_to is None}
        assert len(ticket_mails) == 1, f"{len(ticket_mails)} ticket reports reached the ISP"

    def assert_delivered(self, before_kill: list[OutboxRow]) -> dict[str, int]:
        """Every message arrived; none under two ids; one recorded as sent before the kill
        arrived once; only one in flight at the kill may have arrived twice. Returns the
        redelivered ids (id → arrivals)."""
        rows = self.rows()
        audit = audit_deliveries(rows, received_ids(self.servers), outage_of=lambda _: 0)
        context = f"{self.servers.describe()}\n{describe_outbox(self.daemon.database)}"
        assert audit.lost == 0, f"lost: {audit.unsent} {audit.missing}\n{context}"
        assert audit.unexpected == (), context
        assert audit.duplicates == {}, context
        sent_before = {(row.channel, delivery_id(row)) for row in before_kill
                       if row.status == "sent"}
        in_flight = {(row.channel, delivery_id(row)) for row in before_kill
                     if row.status == "sending"}
        for pair, count in audit.redelivered.items():
            assert pair not in sent_before, f"{pair} was recorded as sent, then sent again"
            assert pair in in_flight and count == 2, f"{pair} arrived {count} times\n{context}"
        return {pair[1]: count for pair, count in audit.redelivered.items()}


def test_messages_recorded_before_a_kill_are_delivered_once_after_the_restart(
    lab: Lab, tmp_path: Path, make_servers: Callable[..., AlertServers]
) -> None:
    # The LAN receiver is down and the mail servers are cut off: nothing can be sent yet.
    servers = make_servers(hook=False)
    run = Run(start_daemon(lab, tmp_path), servers)
    with run.daemon:
        lab.cut_wan()
        run.wait(lambda: run.row(ISP_CHANNEL, "ticket_open")
                 and run.row(HOOK_CHANNEL, "ticket_opened"), "the ticket's messages recorded")
        before = run.kill()
        assert {row.event for row in before} >= {"outage_started", "ticket_open",
                                                  "ticket_opened"}
        assert not any(row.status == "sent" for row in before)
        assert received_ids(servers) == {channel: [] for channel in received_ids(servers)}

        servers.start_hook()
        run.restart()
        # Still during the outage, the new run delivers what the killed one had recorded: the
        # ticket's notice, carrying the outage's first one, stale by then (folded into it).
        [hook] = run.wait(lambda: [hook for hook in servers.hooks()
                                   if hook.event == "ticket_opened"] or None,
                          "the LAN alert after the restart")
        assert [item["event"] for item in hook.payload["folded"]] == ["outage_started"]
        started = run.row(HOOK_CHANNEL, "outage_started")
        assert started is not None and started.status == "folded"
        assert not servers.isp_mail() and not servers.management_mail()
        lab.restore_wan()
        run.wait_all_sent()
        assert run.daemon.stop() == 0

    redelivered = run.assert_delivered(before)
    assert redelivered == {}
    run.assert_one_ticket()


def test_an_email_in_flight_at_a_kill_is_sent_again_with_the_same_message_id(
    lab: Lab, tmp_path: Path, make_servers: Callable[..., AlertServers]
) -> None:
    servers = make_servers(smtp_delay=HOLD_ANSWER)
    run = Run(start_daemon(lab, tmp_path), servers)
    with run.daemon:
        lab.cut_wan()
        run.wait(lambda: run.row(ISP_CHANNEL, "ticket_open"), "the ticket recorded")
        lab.restore_wan()
        # The ISP's server has the report but holds its "250 OK": kill now.
        [report] = run.wait(lambda: servers.isp_mail() or None,
                            "the ticket report at the ISP's server")
        before = run.kill()
        in_flight = run.row(ISP_CHANNEL, "ticket_open")
        assert in_flight is not None and in_flight.status == "sending"
        assert delivery_id(in_flight) == report.message_id

        run.restart()
        run.wait_all_sent()
        assert run.daemon.stop() == 0

    redelivered = run.assert_delivered(before)
    assert redelivered.get(report.message_id) == 2
    assert [mail.message_id for mail in servers.isp_mail()].count(report.message_id) == 2
    run.assert_one_ticket()


def test_a_webhook_in_flight_at_a_kill_is_posted_again_with_the_same_idempotency_key(
    lab: Lab, tmp_path: Path, make_servers: Callable[..., AlertServers]
) -> None:
    servers = make_servers(hook_delay=HOLD_ANSWER)
    run = Run(start_daemon(lab, tmp_path), servers)
    with run.daemon:
        lab.cut_wan()
        # The LAN receiver has outage_started but holds its answer: kill now.
        [alert] = run.wait(lambda: servers.hooks() or None, "outage_started at the LAN webhook")
        before = run.kill()
        in_flight = run.row(HOOK_CHANNEL, "outage_started")
        assert in_flight is not None and in_flight.status == "sending"
        assert alert.key == in_flight.key

        run.restart()
        run.wait(lambda: [hook.event for hook in servers.hooks()].count("outage_started") == 2
                 and run.row(HOOK_CHANNEL, "ticket_opened"),
                 "outage_started again, then the ticket")
        lab.restore_wan()
        run.wait_all_sent()
        assert run.daemon.stop() == 0

    redelivered = run.assert_delivered(before)
    assert redelivered == {alert.key: 2}
    run.assert_one_ticket()
