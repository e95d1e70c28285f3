"""The story this project exists for, replayed in virtual time: the office's fibre is cut on a
Monday afternoon and repaired ten days later. Its mail relay is on the other side of the cut
(nothing leaves by mail after the first hour); the LAN webhook keeps working. The contract:
a 4 h GTR counted in business hours (Mon–Fri 08:00–18:00, Paris), 99.9 % availability, a
250 EUR monthly fee, 2 % of it per started hour beyond the GTR, 5 % per started tenth of a
point below the commitment, capped at 50 %.

The month's report must show the outage to the millisecond with its brackets, every reminder
with its proof of delivery (or the message that carried it), the repair's due time and its
breach, the calls noted, the provider's reference, and the compensation; every figure below
is computed by hand from the story.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from testbed.servers.http_receiver import HttpReceiver
from testbed.servers.smtp_server import SmtpServer
from tests.delivery.conftest import (
    HOUR,
    ISP_MAILBOX,
    WEBHOOK_EVENTS,
    Rig,
    build_rig,
    close_rig,
    observed,
    probe_cycle,
)
from tests.store.store_helpers import at
from watchdog.cli import main
from watchdog.incidents.ticket_actions import add_note, set_provider_ref
from watchdog.vocabulary import DEFAULT_LINK

CONTRACT = """
[contract]
availability_commitment = 99.9
gtr_counted = "business_hours"
monthly_fee = 250.0
currency = "EUR"

[contract.business_hours]
holidays_country = "FR"

[contract.compensation]
per_started_hour_beyond_gtr = 2.0
per_tenth_below_commitment = 5.0
cap = 50.0
"""

# T0 is Saturday 2025-03-01 12:00 UTC (13:00 in Paris, UTC+1 in March before the 30th).
# The fibre goes at Monday 3 March 14:02:03.412 Paris; the last probe that saw it working was
# sent 1.843 s before, the first that saw it dead 3.2 ms after.
CUT = 2 * 24 * HOUR + 1 * HOUR + 2 * 60 + 3.412
# Back on Thursday 13 March 09:15:27.918 Paris.
RESTORED = CUT + 9 * 24 * HOUR + 19 * HOUR + 13 * 60 + 24.506
BEFORE, AFTER = timedelta(milliseconds=1843), timedelta(microseconds=3200)


def change(rig: Rig, seconds: float, *, ok: bool) -> None:
    """The change at ``seconds``, confirmed 4 s later, with its bracket."""
    result = probe_cycle(seconds, ok=ok)
    transition = dataclasses.replace(observed(result), after=at(seconds) - BEFORE,
                                     by=at(seconds) + AFTER)
    rig.failing = None if ok else "isp"
    rig.clock.set(at(seconds + 4))
    rig.store.record_cycle(result, [transition], [], at(seconds + 4), link=DEFAULT_LINK)


def hours_until(rig: Rig, start: float, end: float) -> None:
    """A cycle and a delivery pass every hour."""
    moment = start
    while moment < end:
        rig.tick(moment)
        rig.deliver()
        moment += HOUR


@pytest.fixture
def story(tmp_path: Path, smtp: SmtpServer, receiver: HttpReceiver) -> Rig:
    rig = build_rig(tmp_path, smtp, receiver, through_link=True, rest_helpdesk=False,
                    webhook_events=(*WEBHOOK_EVENTS, "escalated"), extra=CONTRACT)
    assert rig.link is not None
    try:
        change(rig, 0, ok=True)
        rig.deliver()
        change(rig, CUT, ok=False)
        rig.deliver()
        hours_until(rig, CUT + 120, CUT + HOUR)  # the ticket report leaves
        rig.link.cut()  # the relay is on the other side of the cut
        hours_until(rig, CUT + HOUR, CUT + 26 * HOUR)
        with rig.store.write() as session:  # Tuesday 14:30: the office calls the hotline
            add_note(session, "WD-2025-0001", "called the hotline; no technician before Friday",
                     rig.clock(), at=at(CUT + 24 * HOUR + 28 * 60), author="Jane Doe")
            set_provider_ref(session, "WD-2025-0001", "INC-4411-XYZ", rig.clock(),
                             at=at(CUT + 24 * HOUR + 30 * 60), author="Jane Doe")
        hours_until(rig, CUT + 26 * HOUR, RESTORED)
        rig.link.restore()
        change(rig, RESTORED, ok=True)
        for _ in range(4):
            rig.clock.set(rig.clock() + timedelta(minutes=1))
            rig.deliver()
        rig.tick(RESTORED + 24 * HOUR)
    except BaseException:
        close_rig(rig)
        raise
    rig.store.close()
    if rig.link is not None:
        rig.link.stop()
    return rig


def test_the_ten_day_outage_report_carries_everything_a_claim_needs(
    story: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(story.config.source)
    with time_machine.travel(at(RESTORED + 24 * HOUR), tick=False):
        assert main(["report", "--month", "2025-03", "--json", "--config", config]) == 0
        report = json.loads(capsys.readouterr().out)
        assert main(["report", "--month", "2025-03", "--config", config]) == 0
        text = capsys.readouterr().out
        assert main(["report", "--month", "2025-03", "--format", "html",
                     "-o", str(tmp_path / "claim.html"), "--config", config]) == 0

    (outage,) = report["outages"]
    assert outage["started_at"] == "2025-03-03T14:02:03.412+01:00"
    assert outage["start_bracket"] == {"after": "2025-03-03T14:02:01.569+01:00",
                                       "by": "2025-03-03T14:02:03.416+01:00"}
    assert outage["ended_at"] == "2025-03-13T09:15:27.918+01:00"
    # 9 d 19 h 13 min 24.506 s, to the millisecond.
    assert outage["duration_s"] == 9 * 86400 + 19 * 3600 + 13 * 60 + 24.506
    assert (outage["ticket"], outage["provider_ref"]) == ("WD-2025-0001", "INC-4411-XYZ")
    # The GTR counts business hours: Monday 14:02:03.412 → 18:00 is 3 h 57 min 56.588 s; the
    # remaining 2 min 3.412 s run from Tuesday 08:00.
    assert outage["gtr_due_at"] == "2025-03-04T08:02:03.412+01:00"
    assert outage["gtr_breached"] is True

    (ticket,) = report["tickets"]
    # Counted repair time: 3:57:56.588 on Monday, 4 × 10 h Tue–Fri, 3 × 10 h Mon–Wed of the
    # second week, 1:15:27.918 on Thursday = 75 h 13 min 24.506 s; 71:13:24.506 beyond the GTR.
    assert ticket["gtr"]["repair_s"] == 75 * 3600 + 13 * 60 + 24.506
    assert ticket["gtr"]["started_hours_beyond"] == 72
    # Every reminder due during the cut reached the provider: the last one was delivered after
    # the repair, carrying the news of every earlier one, folded into it.
    reminders = [m for m in ticket["messages"] if m["event"] == "ticket_reminder"]
    due = [m["fell_due_at"] for m in reminders]
    assert due[:3] == ["2025-03-04T08:02:03.412+01:00",  # gtr (business hours)
                       "2025-03-04T14:02:03.412+01:00",  # 24 h
                       "2025-03-06T14:02:03.412+01:00"]  # 72 h
    assert ticket["reminders"] == {"delivered": len(reminders), "undelivered": 0, "due_at": due}
    *folded, last = reminders
    assert all(m["status"] == "folded" and m["folded_into"] == last["id"] and m["reached"]
               for m in folded)
    assert last["status"] == "sent" and last["accepted_at"] is not None
    assert last["reply"].startswith("250 OK queued as")
    assert last["server"] == f"127.0.0.1:{story.link.port}" if story.link else True
    assert last["message_id"].startswith("<") and last["attempts"] > 1
    opened = next(m for m in ticket["messages"] if m["event"] == "ticket_open")
    assert opened["status"] == "sent" and opened["accepted_at"].startswith("2025-03-03T14:04")
    call = next(e for e in ticket["timeline"] if e["kind"] == "note")
    assert call["at"] == "2025-03-04T14:30:03.412+01:00"
    assert "called the hotline" in call["text"]

    owed = report["compensation"]
    # 72 started hours × 2 % × 250 EUR = 360 EUR, plus the availability's shortfall, capped at
    # 50 % of the fee: 125 EUR.
    assert owed["gtr_lines"][0]["amount"] == "360.00"
    assert (owed["amount"], owed["currency"], owed["capped"]) == ("125.00", "EUR", True)
    assert report["availability"]["contract"]["met"] is False

    # The same, in words.
    assert "#1 provider: 2025-03-03 14:02:03.412 CET → 2025-03-13 09:15:27.918 CET" in text
    assert "started between 2025-03-03 14:02:01.569 CET and 14:02:03.416 CET" in text
    assert "Duration 9 d 19 h 13 min 25 s" in text  # the words round to the second
    assert "Repair due 2025-03-04 08:02:03 CET; Repair time exceeded" in text
    assert ("WD-2025-0001: repaired in 75 h 13 min 25 s (in business hours), 71 h 13 min 25 s "
            "beyond the GTR of 4 h: 72 started hour(s) × 2 % × 250.00 EUR = 360.00 EUR.") in text
    assert "Reminders 9 delivered, 0 not delivered" in text
    assert "called the hotline; no technician before Friday" in text
    assert "Compensation owed: 125.00 EUR" in text
    assert story.mailbox(ISP_MAILBOX)  # the provider got the ticket, the reminder, the close
    html = (tmp_path / "claim.html").read_text()
    assert "INC-4411-XYZ" in html and "125.00 EUR" in html and report["digest"]["value"] in html
