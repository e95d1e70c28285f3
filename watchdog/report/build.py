"""Gather a period's figures into one plain structure: the JSON of ``report --format json``.

Every renderer (text, CSV, HTML) reads this structure and nothing else, so the formats cannot
tell different figures; the digest is the SHA-256 of its canonical JSON. It reads the stdlib
readers only (intervals, outages and tickets of the period, the hourly roll-ups), so a month
costs what a month holds, whatever the length of the history.

Times are ISO-8601 in the site's zone, with milliseconds; durations are seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from watchdog.config.schema import Config
from watchdog.config.zone import site_zone
from watchdog.contract import gtr as gtr_rules
from watchdog.contract.availability import ContractAvailability, contract_availability
from watchdog.contract.compensation import Compensation, compensation
from watchdog.contract.terms import ContractTerms
from watchdog.contract.wording import terms_lines
from watchdog.link.availability import StateSpan
from watchdog.report import days as day_rows
from watchdog.report.period import Period, site_days
from watchdog.report.words import bracket_json
from watchdog.store.evidence_reader import read_incident_outages
from watchdog.store.reader import Heartbeat, read_heartbeat
from watchdog.store.report_reader import PeriodReport, read_hours, read_period, read_spans
from watchdog.store.ticket_reader import (
    IncidentMessages,
    MessageRow,
    TicketDetail,
    read_ticket,
)
from watchdog.vocabulary import LINK_STATES, Language

# Bumped when a key changes meaning or goes away (new keys do not bump it).
FORMAT_VERSION = 1


def _iso(moment: datetime | None, zone: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat(
        timespec="milliseconds")


def build(config: Config, period: Period, now: datetime, *,
          link: str | None = None, database: Path | None = None) -> dict[str, Any]:
    """The report of ``link`` (None: the primary link) over ``period`` as known at ``now``,
    with its digest: its provider and contract, and with uplinks, each uplink's
    availability (``uplinks``).

    Raises ``DatabaseError`` when the database cannot be read.
    """
    path = Path(database or config.storage.database)
    zone = site_zone(config)
    language = config.site.language
    entry = next((item for item in config.links if item.name == link), config.primary_link)
    link = link or entry.name
    terms = ContractTerms.from_config(config, link)
    recorded = read_period(path, period.start, period.end, now, link=link)
    hours = read_hours(path, period.start, min(period.end, now), link=link)
    references = sorted({o.reference for o in recorded.outages if o.reference})
    tickets = [read_ticket(path, reference) for reference in references]
    verdicts: dict[str | None, gtr_rules.GtrVerdict | None] = {
        detail.ticket.reference: _verdict(path, terms, detail, now, link) for detail in tickets}
    judged = contract_availability(terms, recorded.spans, recorded.start, recorded.end,
                                   _maintenance(recorded.spans))
    # A provider's incident is owed for in the period of its repair (ongoing: so far).
    owed = [(reference, verdict) for detail in tickets
            if (reference := detail.ticket.reference) is not None
            and detail.ticket.kind != "lan" and _repaired_in(detail, period, now)
            and (verdict := verdicts[reference]) is not None]
    owed_for = compensation(terms, incidents=owed, availability=judged)
    ticket_parts = [_ticket(detail, zone, verdicts) for detail in tickets]
    report: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "language": config.site.language,
        "generated_at": _iso(now, zone),
        "period": {
            "label": period.label,
            "start": _iso(period.start, zone),
            "end": _iso(period.end, zone),
            "observed_until": _iso(recorded.end, zone),
            "zone": str(zone),
        },
        "site": {"name": config.site.name, "address": config.site.address,
                 "contact": config.site.contact},
        "link": link,
        "provider": {"name": entry.isp.name, "line_id": entry.isp.line_id,
                     "customer_ref": entry.isp.customer_ref},
        "uplinks": _uplinks(config, path, period, now, link, recorded),
        "contract": _contract(terms, language),
        "availability": {**_availability(recorded), "contract": _judged(judged)},
        "days": _days(recorded, hours, period, zone),
        "outages": [_outage(outage, now, zone, verdicts) for outage in recorded.outages],
        "blips": recorded.blips,
        "tickets": ticket_parts,
        "compensation": _compensation(owed_for, language),
        "clock": _clock(read_heartbeat(path, now, link=link), period, zone),
    }
    reminders = {part["reference"]: part["reminders"] for part in ticket_parts}
    for outage in report["outages"]:
        outage["reminders"] = reminders.get(outage["ticket"])
    report["digest"] = {"algorithm": "sha256", "value": digest(report)}
    return report


def digest(report: dict[str, Any]) -> str:
    """SHA-256 (hex) of the report's canonical JSON without its ``digest`` key: keys sorted,
    no spaces, UTF-8. Anyone holding the JSON export can recompute it."""
    data = {key: value for key, value in report.items() if key != "digest"}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _contract(terms: ContractTerms, language: Language) -> dict[str, Any]:
    rule = terms.compensation
    return {
        "terms": terms_lines(terms, language),
        "gtr_s": terms.gtr.total_seconds(),
        "gtr_counted": terms.gtr_counted,
        "gtr_starts": terms.gtr_starts,
        "availability_commitment_percent": _percent(terms.availability_commitment),
        "availability_counted": terms.availability_counted,
        "monthly_fee": _money(terms.monthly_fee),
        "currency": terms.currency,
        "compensation_rule": {
            "per_started_hour_beyond_gtr_percent": _percent(rule.per_started_hour_beyond_gtr),
            "per_tenth_below_commitment_percent": _percent(rule.per_tenth_below_commitment),
            "cap_percent": _percent(rule.cap),
        },
    }


def _maintenance(spans: Sequence[StateSpan]) -> list[tuple[datetime, datetime]]:
    """The maintenance the daemon recorded (what it honoured): the contract skips it."""
    return [(span.started_at, span.ended_at) for span in spans if span.state == "maintenance"]


def _verdict(path: Path, terms: ContractTerms, detail: TicketDetail, now: datetime,
             link: str) -> gtr_rules.GtrVerdict | None:
    """The ticket's incident against the GTR (from all its cuts, skipping the maintenance
    recorded since it began); None for a LAN fault (the office's own)."""
    ticket = detail.ticket
    if ticket.kind == "lan" or ticket.reference is None:
        return None
    cuts = [(outage.started_at, outage.ended_at)
            for outage in read_incident_outages(path, ticket.reference)]
    works = _maintenance(read_spans(path, ticket.started_at, now, now, link=link))
    return gtr_rules.assess(terms, started_at=ticket.started_at, outages=cuts, now=now,
                            ticket_opened_at=ticket.ticket_opened_at,
                            provider_ref_at=ticket.provider_ref_at, maintenance=works)


def _repaired_in(detail: TicketDetail, period: Period, now: datetime) -> bool:
    ended = detail.ticket.ended_at
    if ended is None:
        return period.end > now  # still going on: owed for so far, in the current period
    return period.start <= ended < period.end


def _gtr(verdict: gtr_rules.GtrVerdict | None, zone: tzinfo) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "counted": verdict.counted,
        "clock_started_at": _iso(verdict.clock_start, zone),
        "due_at": _iso(verdict.due_at, zone),
        "repair_s": verdict.repair_seconds,
        "beyond_s": verdict.beyond_seconds,
        "started_hours_beyond": verdict.started_hours_beyond,
        "breached": verdict.breached,
    }


def _judged(judged: ContractAvailability) -> dict[str, Any]:
    return {
        "counted": judged.counted,
        "counted_s": round(judged.counted_seconds, 3),
        "maintenance_s": round(judged.maintenance_seconds, 3),
        "judged_s": round(judged.judged_seconds, 3),
        "availability_percent": judged.availability,
        "commitment_percent": _percent(judged.commitment),
        "shortfall_points": _percent(judged.shortfall),
        "met": judged.met,
    }


def _compensation(owed: Compensation, language: Language) -> dict[str, Any]:
    line = owed.availability_line
    return {
        "amount": _money(owed.amount),
        "currency": owed.currency,
        "uncapped": _money(owed.uncapped),
        "cap": _money(owed.cap_amount),
        "capped": owed.capped,
        "gtr_lines": [
            {"ticket": gtr_line.reference, "repair_s": gtr_line.verdict.repair_seconds,
             "beyond_s": gtr_line.verdict.beyond_seconds,
             "started_hours_beyond": gtr_line.verdict.started_hours_beyond,
             "rate_percent": _percent(gtr_line.rate_percent), "amount": _money(gtr_line.amount)}
            for gtr_line in owed.gtr_lines
        ],
        "availability_line": None if line is None else {
            "availability_percent": line.availability,
            "shortfall_points": _percent(line.shortfall),
            "started_tenths": line.started_tenths, "rate_percent": _percent(line.rate_percent),
            "amount": _money(line.amount)},
        "statement": owed.statement(language),
    }


def _uplinks(config: Config, path: Path, period: Period, now: datetime, link: str,
             recorded: PeriodReport) -> list[dict[str, Any]] | None:
    """Each uplink (the primary first) with its availability over the period, the reported
    one's from ``recorded``; None for a config without uplinks (its one link is the report's).
    """
    if not config.uplink:
        return None
    uplinks = []
    for entry in config.links:
        time = (recorded if entry.name == link
                else read_period(path, period.start, period.end, now, link=entry.name)).time
        uplinks.append({"name": entry.name, "kind": entry.kind, "primary": entry.primary,
                        "reported": entry.name == link,
                        "availability_percent": time.availability,
                        "provider_availability_percent": time.provider_availability})
    return uplinks


def _availability(recorded: PeriodReport) -> dict[str, Any]:
    time = recorded.time
    return {
        "seconds": {state: round(time.seconds.get(state, 0.0), 3) for state in LINK_STATES},
        "unrecorded_s": round(time.unrecorded_seconds, 3),
        "observed_s": round(time.watched_seconds, 3),
        "period_s": round(time.window_seconds, 3),
        "availability_percent": time.availability,
        "provider_availability_percent": time.provider_availability,
    }


def _days(recorded: PeriodReport, hours: list[Any], period: Period,
          zone: tzinfo) -> list[dict[str, Any]]:
    # Days not begun yet (the rest of the current month) are not part of the record.
    begun = [day for day in site_days(period, zone) if day[1] < recorded.end]
    rows = day_rows.split(recorded.spans, hours, begun)
    return [
        {
            "date": row.day.isoformat(),
            "mark": row.mark,
            "seconds": {state: round(value, 3) for state, value in row.time.seconds.items()
                        if value},
            "loss_percent": None if row.loss_percent is None else round(row.loss_percent, 3),
            "median_rtt_ms": None if row.median_rtt_ms is None else round(row.median_rtt_ms, 2),
        }
        for row in rows
    ]


def _clock(heartbeat: Heartbeat | None, period: Period, zone: tzinfo) -> dict[str, Any]:
    """Whether the server's clock was synchronised: the daemon's last check and since when
    the checks said so; ``whole_period`` when they said so from before the period began."""
    if heartbeat is None or heartbeat.clock_checked_at is None:
        return {"synchronised": None, "checked_at": None, "since": None, "whole_period": False}
    since = heartbeat.clock_status_since or heartbeat.clock_checked_at
    return {
        "synchronised": heartbeat.clock_synced,
        "checked_at": _iso(heartbeat.clock_checked_at, zone),
        "since": _iso(since, zone),
        "whole_period": heartbeat.clock_synced is True and since <= period.start,
    }


def _outage(outage: Any, now: datetime, zone: tzinfo,
            verdicts: dict[str | None, gtr_rules.GtrVerdict | None]) -> dict[str, Any]:
    until = outage.ended_at or now
    verdict = verdicts.get(outage.reference)
    return {
        "id": outage.id,
        "kind": outage.kind,
        "cause": outage.cause,
        "started_at": _iso(outage.started_at, zone),
        "start_bracket": bracket_json(outage.start_after, outage.start_by, zone),
        "ended_at": _iso(outage.ended_at, zone),
        "end_bracket": None if outage.ended_at is None else bracket_json(
            outage.end_after, outage.end_by, zone),
        "duration_s": round(max(0.0, (until - outage.started_at).total_seconds()), 3),
        "seconds_in_period": round(outage.seconds_in_period, 3),
        "unobserved_s": round(outage.unobserved_seconds, 3),
        "ticket": outage.reference,
        "provider_ref": outage.provider_ref,
        "gtr_due_at": None if verdict is None else _iso(verdict.due_at, zone),
        "gtr_breached": outage.gtr_breached if verdict is None else verdict.breached,
        "reminders_sent": outage.reminders_sent,
    }


def _ticket(detail: TicketDetail, zone: tzinfo,
            verdicts: dict[str | None, gtr_rules.GtrVerdict | None]) -> dict[str, Any]:
    ticket = detail.ticket
    sent = IncidentMessages(ticket.id, ticket.reference, detail.messages)
    return {
        "gtr": _gtr(verdicts.get(ticket.reference), zone),
        "reference": ticket.reference,
        "provider_ref": ticket.provider_ref,
        "provider_ref_at": _iso(ticket.provider_ref_at, zone),
        "kind": ticket.kind,
        "opened_at": _iso(ticket.ticket_opened_at, zone),
        "closed_at": _iso(ticket.closed_at, zone),
        "closed_by": ticket.closed_by,
        "acknowledged_at": _iso(ticket.acked_at, zone),
        "timeline": [
            {"at": _iso(event.at, zone), "kind": event.kind, "text": event.text,
             "channel": event.channel}
            for event in detail.timeline
        ],
        "reminders": _reminders(sent, zone),
        "messages": [_message(message, sent, zone) for message in detail.messages],
    }


def _reminders(sent: IncidentMessages, zone: tzinfo) -> dict[str, Any]:
    """The reminders to the ticket's backends: when each fell due, and how many reached the
    provider (delivered, or folded into a message that was) or did not."""
    reminders = [m for m in sent.messages if m.event == "ticket_reminder"]
    reached = [m for m in reminders if sent.reached(m)]
    return {
        "delivered": len(reached),
        "undelivered": len(reminders) - len(reached),
        "due_at": [_iso(m.fell_due_at, zone) for m in reminders],
    }


def _message(message: MessageRow, sent: IncidentMessages, zone: tzinfo) -> dict[str, Any]:
    """One message and its proof: when its news fell due and was queued, every attempt
    counted (the first and the last shown), and who accepted it, when, with which id and
    reply; a folded message names the one that carried it."""
    log = message.attempt_log
    carrier = sent.carrier(message)
    return {
        "id": message.id,
        "channel": message.channel,
        "audience": message.audience,
        "event": message.event,
        "step": message.step_label,
        "status": message.status,
        "fell_due_at": _iso(message.fell_due_at, zone),
        "queued_at": _iso(message.created_at, zone),
        "attempts": message.attempts,
        "first_attempt_at": _iso(log[0].started_at, zone) if log else None,
        "last_attempt_at": _iso(log[-1].started_at, zone) if log else None,
        "accepted_at": _iso(message.sent_at, zone),
        "server": message.server,
        "message_id": message.message_id,
        "external_id": message.external_id,
        "reply": message.reply,
        "last_error": message.last_error,
        "folded_into": None if carrier is None else carrier.id,
        "reached": sent.reached(message),
    }
