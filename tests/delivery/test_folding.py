"""Stale news folded: a long cut with no route out, then the restore; in virtual time, through
real SMTP and HTTP servers on loopback (see ``conftest.py``).

The office's mail relay sits behind a ``CuttableLink``: while it is cut, nothing can leave by
mail, to the provider or to management; the LAN webhook stays reachable. The rule is
``watchdog.delivery.folding``'s; the record is read back with the report's reader
(``watchdog.store.ticket_reader.read_period_messages``).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from tests.delivery.conftest import (
    HOUR,
    ISP_MAILBOX,
    MANAGERS,
    WEBHOOK_EVENTS,
    Rig,
    RigFactory,
    body,
    header,
    timeline,
)
from tests.store.store_helpers import T0, at
from watchdog.delivery import outbox
from watchdog.delivery.senders import Outgoing
from watchdog.store.ticket_reader import (
    IncidentMessages,
    MessageRow,
    read_incident_messages,
    read_period_messages,
)

MANAGER = MANAGERS[0]
START = 60.0
# The relay becomes unreachable an hour into the cut; the reminders fall due at 4 h (the
# guaranteed repair time), 24 h and 72 h; the line and the route come back at 80 h.
ROUTE_LOST = START + HOUR
RESTORED = START + 80 * HOUR
STEP_HOURS = (4, 24, 72)
PASS_EVERY = 1800.0


def pass_until(wired: Rig, start: float, end: float, every: float = PASS_EVERY) -> None:
    """A cycle (the link as it is) and a delivery pass every ``every`` seconds."""
    moment = start
    while moment < end:
        wired.tick(moment)
        wired.deliver()
        moment += every


def long_cut(wired: Rig, *, route_lost: float = ROUTE_LOST) -> None:
    """Up, the line down at ``START``; the ticket opens two minutes in; the relay unreachable
    from ``route_lost`` until the line is back at ``RESTORED``; a pass every half hour."""
    assert wired.link is not None
    wired.up(0)
    wired.deliver()
    if route_lost <= START:
        wired.link.cut()
    wired.down(START)
    wired.deliver()
    pass_until(wired, START + 120, route_lost)
    wired.link.cut()
    pass_until(wired, max(route_lost, START + 120), RESTORED)
    wired.link.restore()
    wired.up(RESTORED)
    wired.deliver()
    for _ in range(5):  # later passes send nothing more
        wired.clock.set(wired.clock() + timedelta(minutes=2))
        wired.deliver()


def record(wired: Rig) -> IncidentMessages:
    """The incident's messages as the report reads them."""
    (incident,) = read_period_messages(wired.database, T0, at(RESTORED + HOUR))
    return incident


def of(incident: IncidentMessages, channel: str, event: str) -> list[MessageRow]:
    return [m for m in incident.messages if (m.channel, m.event) == (channel, event)]


def event_of(wired: Rig, message_id: str | None) -> str:
    (row,) = wired.rows("message_id = ?", message_id)
    return row.event


def test_after_a_long_cut_the_provider_gets_one_reminder_listing_every_due_time(
    rig: RigFactory,
) -> None:
    wired = rig(through_link=True, rest_helpdesk=False,
                webhook_events=(*WEBHOOK_EVENTS, "escalated"))
    long_cut(wired)

    # The provider: the report before the route was lost; after the restore one reminder,
    # the third, carrying the first two, and the close, all in the ticket's thread.
    isp = wired.mailbox(ISP_MAILBOX)
    assert [event_of(wired, header(m, "Message-ID")) for m in isp] == [
        "ticket_open", "ticket_reminder", "ticket_close"]
    report, reminder, closing = isp
    for message in (reminder, closing):
        assert header(message, "In-Reply-To") == header(report, "Message-ID")
    assert (header(reminder, "Subject") or "").startswith(
        "[WD-2025-0001] Reminder 3: line FTTH-42 still down")
    text = body(reminder)
    assert "Sent 8 h after this reminder was due, while the link was down." in text
    listed = text[text.index("Reminders due while line FTTH-42 was down"):]
    assert re.search(r"Sat 1 Mar 17:01 +reminder 1 \(repair-time guarantee exceeded\) +"
                     r"tried 40 times, 17:01:00 to Sun 2 Mar 12:31:00\n", listed)
    assert re.search(r"Sun 2 Mar 13:01 +reminder 2 +tried 96 times, 13:01:00 to "
                     r"Tue 4 Mar 12:31:00\n", listed)
    assert "Reminders sent:    3" in body(closing)

    # Management: the first two notices as they happened, each step at once on the LAN
    # webhook, and one mail after the restore listing the three escalations.
    management = wired.received(MANAGER)
    assert [event_of(wired, header(m.message, "Message-ID")) for m in management] == [
        "outage_started", "ticket_opened", "recovered"]
    back = body(management[-1].message)
    assert re.findall(r"^  (.+?) +reminder (\d) due to Example Telecom +tried \d+ times", back,
                      re.M) == [("Sat 1 Mar 17:01", "1"), ("Sun 2 Mar 13:01", "2"),
                                ("13:01", "3")]  # the day of the recovery: the time alone
    hooks = wired.rows("channel = 'lan-hook' AND event = 'escalated'")
    assert len(hooks) == 3 and all(row.status == "sent" for row in hooks)
    for row, hours in zip(hooks, STEP_HOURS, strict=True):
        assert row.sent_at is not None
        assert row.sent_at - at(START + hours * HOUR) < timedelta(minutes=30)  # during the cut
    assert [r.json()["event"] for r in wired.requests("/hook")] == [
        "outage_started", "ticket_opened", "escalated", "escalated", "escalated", "recovered"]

    # The record: every due time, every attempt, which message carried which.
    incident = record(wired)
    reminders = of(incident, "isp", "ticket_reminder")
    assert [m.fell_due_at for m in reminders] == [at(START + h * HOUR) for h in STEP_HOURS]
    assert [m.status for m in reminders] == ["folded", "folded", "sent"]
    assert [m.folded_into for m in reminders] == [reminders[1].id, reminders[2].id, None]
    assert all(incident.carrier(m) == reminders[2] and incident.reached(m)
               for m in reminders[:2])
    assert [m.attempts for m in reminders] == [40, 96, 17]
    assert [len(m.attempt_log) for m in reminders] == [40, 96, 17]
    assert wired.link is not None
    relay = f"127.0.0.1:{wired.link.port}"
    for message in reminders:
        failed = [a for a in message.attempt_log if a.outcome != "sent"]
        assert {a.outcome for a in failed} == {"transient"}
        assert {a.server for a in failed} == {relay}
        assert all("closed the connection" in (a.error or "") for a in failed)
    proof = reminders[2].proof
    assert proof is not None and proof.server == relay
    assert reminders[2].reply is not None and reminders[2].reply.startswith("250 OK queued as")
    assert reminders[2].message_id == header(reminder, "Message-ID")
    assert reminders[2].sent_at == at(RESTORED + 4)
    assert incident.undelivered == ()
    assert {(m.channel, m.event) for m in incident.folded} == {
        ("isp", "ticket_reminder"), ("management", "escalated")}
    assert len(incident.delivered) + len(incident.folded) == len(incident.messages)
    carried = [text for kind, text, channel in timeline(wired.database)
               if kind == "sent" and channel == "isp" and "ticket_reminder" in text]
    assert carried == [f"ticket_reminder sent ({reminders[2].response}); it carries 2 earlier "
                       "message(s) folded into it"]


def test_a_ticket_report_that_could_not_leave_is_sent_late_and_never_folded(
    rig: RigFactory,
) -> None:
    wired = rig(through_link=True, rest_helpdesk=False)
    long_cut(wired, route_lost=START)  # no route out from the start of the cut

    isp = wired.mailbox(ISP_MAILBOX)
    assert [event_of(wired, header(m, "Message-ID")) for m in isp] == [
        "ticket_open", "ticket_reminder", "ticket_close"]
    assert "Sent 3 d 7 h after the ticket was opened, while the link was down." in body(isp[0])
    # The reminders waited behind the report, so only the last one ever left its queue.
    listed = body(isp[1])
    assert len(re.findall(r"reminder \d.*not tried \(queued behind an earlier message\)",
                          listed)) == 2
    # Management: one mail for the whole cut.
    management = wired.mailbox(MANAGER)
    assert [event_of(wired, header(m, "Message-ID")) for m in management] == ["recovered"]
    back = body(management[0])
    for what in ("Internet down", "ticket WD-2025-0001 opened", "reminder 1 due",
                 "reminder 2 due", "reminder 3 due"):
        assert what in back, what
    incident = record(wired)
    assert [m.status for m in of(incident, "isp", "ticket_open")] == ["sent"]
    assert all(incident.reached(m) for m in incident.messages)


def test_a_crash_after_folding_loses_no_news_and_sends_nothing_twice(rig: RigFactory) -> None:
    wired = rig(through_link=True, rest_helpdesk=False)
    assert wired.link is not None
    wired.up(0)
    wired.deliver()
    wired.link.cut()
    wired.down(START)
    wired.deliver()
    pass_until(wired, START + 120, START + 600, every=60)
    wired.link.restore()
    wired.up(START + 600)

    # The sender claims management's head: the two older notices fold into the recovery in
    # the claim's transaction; it sends, and dies before recording the outcome.
    with wired.store.write() as session:
        claimed = outbox.claim_next(session, "management", wired.clock())
        assert claimed is not None and claimed.id is not None
        carried = outbox.folded_summary(session, claimed.id)
        outgoing = Outgoing(key=claimed.key, channel=claimed.channel, event=claimed.event,
                            incident_id=claimed.incident_id,
                            context={**json.loads(claimed.context), "folded": carried})
    assert claimed.event == "recovered"
    assert [item["event"] for item in carried] == ["outage_started", "ticket_opened"]
    wired.deliverer.senders["management"].send(outgoing, wired.clock())

    wired.reopen(wired.clock() + timedelta(seconds=10))
    wired.deliver()
    for _ in range(5):
        wired.clock.set(wired.clock() + timedelta(minutes=2))
        wired.deliver()

    first, again = wired.mailbox(MANAGER)  # the same message again, recognisable by its id
    assert header(first, "Message-ID") == header(again, "Message-ID")
    assert body(first).split("-- \n")[0] == body(again).split("-- \n")[0]
    rows = wired.rows("channel = 'management'")
    assert [(row.event, row.status) for row in rows] == [
        ("outage_started", "folded"), ("ticket_opened", "folded"), ("recovered", "sent")]
    (recovered,) = of(record(wired), "management", "recovered")
    assert [a.outcome for a in recovered.attempt_log] == ["interrupted", "sent"]


def test_the_record_reads_the_messages_of_the_incidents_of_a_period(rig: RigFactory) -> None:
    wired = rig()
    wired.up(0)
    for start in (60.0, 10_000.0):  # two outages with a ticket each
        wired.down(start)
        wired.deliver()
        wired.tick(start + 200)
        wired.deliver()
        wired.up(start + 400)
        wired.deliver()

    first, second = read_period_messages(wired.database, T0, at(20_000))
    assert (first.reference, second.reference) == ("WD-2025-0001", "WD-2025-0002")
    (only,) = read_period_messages(wired.database, at(5_000), at(20_000))
    assert only == second
    assert read_period_messages(wired.database, T0, at(20_000), link="4g") == ()
    by_id = read_incident_messages(wired.database, [first.incident_id, 99])
    assert list(by_id) == [first.incident_id] and by_id[first.incident_id] == first
    assert {(m.channel, m.event) for m in second.messages} == {
        (channel, event) for channel, event in (
            ("management", "outage_started"), ("lan-hook", "outage_started"),
            ("isp", "ticket_open"), ("helpdesk", "ticket_open"),
            ("management", "ticket_opened"), ("lan-hook", "ticket_opened"),
            ("isp", "ticket_close"), ("helpdesk", "ticket_close"),
            ("management", "recovered"), ("lan-hook", "recovered"))}
    assert second.delivered == second.messages and second.undelivered == second.folded == ()
    for message in second.messages:
        # None is an escalation step: its news fell due with its event (the outage's start
        # is back-dated to the first failing probe, before the outage is confirmed).
        assert message.fell_due_at == message.event_at <= message.queued_at
        assert message.proof is not None and message.proof.server is not None
        assert message.reply is not None and message.sent_at is not None
