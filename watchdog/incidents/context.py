"""What a message says, gathered when its event happens: the JSON stored with it.

The templates (``watchdog/templates``) render it at send time, so a late delivery can say how
late it is. Times are ISO-8601 UTC strings; the renderer shows them in the site's zone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from watchdog.clock import to_ms
from watchdog.config.schema import Config
from watchdog.incidents.schedule import Step
from watchdog.store.models import Incident, Outage, StateInterval
from watchdog.vocabulary import audience_of

EVIDENCE_ROWS = 12


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def base(config: Config, event: str, channel: str, event_at: datetime) -> dict[str, Any]:
    """The parts every message has: event, audience, site, ISP contract."""
    site, isp = config.site, config.isp
    return {
        "event": event,
        "audience": audience_of(event),
        "channel": channel,
        "event_at": _iso(event_at),
        "site": {"name": site.name, "address": site.address, "contact": site.contact},
        "isp": {"name": isp.name, "line_id": isp.line_id, "customer_ref": isp.customer_ref,
                "gtr_s": isp.gtr.total_seconds()},
        "incident": None,
        "evidence": None,
        "link": None,
        "gap": None,
    }


def downtime_seconds(session: Session, incident: Incident, now: datetime) -> float:
    """Total time the incident's outages lasted (still going on: until ``now``)."""
    outages = session.exec(select(Outage).where(col(Outage.incident_id) == incident.id)).all()
    return sum(((outage.ended_at or now) - outage.started_at).total_seconds()
               for outage in outages)


def incident_part(
    session: Session, incident: Incident, now: datetime, step: Step | None = None
) -> dict[str, Any]:
    ended = incident.ended_at
    return {
        "reference": incident.reference,
        "kind": incident.kind,
        "started_at": _iso(incident.started_at),
        "ended_at": _iso(ended),
        "duration_s": None if ended is None else downtime_seconds(session, incident, now),
        "cuts": incident.cuts,
        "gtr_breached": incident.gtr_breached,
        "reminders_sent": incident.reminders_sent,
        "ticket_opened_at": _iso(incident.ticket_opened_at),
        "cause": incident.cause,
        "step": None if step is None else {
            "number": step.number, "label": step.label, "is_gtr": step.is_gtr,
            "due_at": _iso(step.due_at),
        },
    }


def evidence_part(session: Session, incident: Incident, now: datetime) -> dict[str, Any]:
    """The opening outage's summary and the latest probe results since it began."""
    outage = session.exec(
        select(Outage).where(col(Outage.incident_id) == incident.id)
        .order_by(col(Outage.started_at).desc())
    ).first()
    summary: dict[str, Any] = json.loads(outage.evidence) if outage else {}
    gateway = summary.get("gateway")
    rows = session.connection().execute(
        text(
            "SELECT s.at_ms, t.name, t.kind, t.address, s.ok, s.rtt_us, e.text "
            "FROM sample s JOIN target t ON t.id = s.target_id "
            "LEFT JOIN probe_error e ON e.id = s.error_id "
            "WHERE s.at_ms BETWEEN :start AND :end AND t.kind IN ('gateway', 'ping') "
            "ORDER BY s.at_ms DESC, t.kind, t.name LIMIT :limit"
        ),
        {"start": to_ms(incident.started_at) - 2000, "end": to_ms(now), "limit": EVIDENCE_ROWS},
    ).all()
    from watchdog.clock import from_ms

    samples = [
        {"at": from_ms(at_ms).isoformat(), "target": name, "kind": kind, "address": address,
         "ok": bool(ok), "rtt_ms": None if rtt_us is None else round(rtt_us / 1000, 2),
         "error": error}
        for at_ms, name, kind, address, ok, rtt_us, error in reversed(rows)
    ]
    failing = summary.get("failing", [])
    total = summary.get("targets", 0)
    if incident.kind == "dns" and isinstance(summary.get("dns"), list):
        # A DNS incident: the resolvers are what fails, not the ping targets.
        checks = summary["dns"]
        failing = [check.get("name") for check in checks if not check.get("ok")]
        total = len(checks)
    return {
        "gateway": gateway if isinstance(gateway, dict) else None,
        "targets_total": total,
        "targets_failing": len(failing),
        "failing": failing,
        "since": _iso(incident.started_at),
        "samples": samples,
        # The cause in structured form (code and figures), so messages in other languages
        # need not repeat the detector's English sentence.
        "cause_detail": summary.get("cause"),
    }


def link_part(session: Session) -> dict[str, Any] | None:
    current = session.exec(
        select(StateInterval).where(col(StateInterval.ended_at).is_(None))
    ).first()
    if current is None:
        return None
    return {"state": current.state, "cause": current.cause, "since": _iso(current.started_at)}


def for_incident(
    session: Session,
    config: Config,
    event: str,
    channel: str,
    incident: Incident,
    event_at: datetime,
    now: datetime,
    step: Step | None = None,
    sent_to: list[str] | None = None,
) -> dict[str, Any]:
    """The full context of an incident message; ``sent_to`` names the ticket backends that
    the ticket's messages go to (for management's notices)."""
    context = base(config, event, channel, event_at)
    context["incident"] = incident_part(session, incident, now, step)
    context["sent_to"] = sent_to
    context["evidence"] = evidence_part(session, incident, now)
    context["link"] = link_part(session)
    return context
