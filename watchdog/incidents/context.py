"""What a message says, gathered when its event happens: the JSON stored with it.

The shape is ``delivery.message_context.MessageContext``. The templates
(``watchdog/templates``) render it at send time, so a late delivery can say how late it is.
Times are ISO-8601 UTC strings; the renderer shows them in the site's zone.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast

from sqlmodel import Session, col, select

from watchdog.config.schema import Config
from watchdog.delivery.message_context import (
    EvidencePart,
    GatewayPart,
    IncidentPart,
    LinkPart,
    MessageContext,
    SamplePart,
    UplinkPart,
)
from watchdog.incidents.schedule import Step
from watchdog.link.site import LinkView, carrier, site_state
from watchdog.store.evidence import latest_samples
from watchdog.store.models import Incident, Link, Outage, StateInterval
from watchdog.store.timeline import open_interval
from watchdog.vocabulary import (
    CAUSE_OTHER_PATH,
    LinkState,
    MessageEvent,
    OutageKind,
    audience_of,
    is_message_event,
)

EVIDENCE_ROWS = 12
# The evidence starts this long before the incident: the cycle that first saw it fail.
EVIDENCE_LEAD = timedelta(seconds=2)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def base(config: Config, event: MessageEvent, channel: str, event_at: datetime,
         link: str | None = None) -> MessageContext:
    """The parts every message has: event, audience, site, the provider's contract (of the
    link called ``link``; None: the primary's)."""
    site = config.site
    isp = next((entry.isp for entry in config.links if entry.name == link),
               config.primary_link.isp)
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
) -> IncidentPart:
    ended = incident.ended_at
    return {
        "reference": incident.reference,
        "kind": cast("OutageKind", incident.kind),  # the column's CHECK holds OUTAGE_KINDS
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


def evidence_part(session: Session, incident: Incident, now: datetime) -> EvidencePart:
    """The opening outage's summary and the latest probe results since it began."""
    outage = session.exec(
        select(Outage).where(col(Outage.incident_id) == incident.id)
        .order_by(col(Outage.started_at).desc())
    ).first()
    summary: dict[str, Any] = json.loads(outage.evidence) if outage else {}
    gateway = summary.get("gateway")
    samples: list[SamplePart] = [
        {"at": sample.at.isoformat(), "target": sample.target, "kind": sample.kind,
         "address": sample.address, "ok": sample.ok,
         "rtt_ms": None if sample.rtt_ms is None else round(sample.rtt_ms, 2),
         "error": sample.error}
        for sample in latest_samples(session, incident.link_id,
                                     incident.started_at - EVIDENCE_LEAD, now,
                                     ("gateway", "ping"), EVIDENCE_ROWS)
    ]
    failing = summary.get("failing", [])
    total = summary.get("targets", 0)
    if incident.kind == "dns" and isinstance(summary.get("dns"), list):
        # A DNS incident: the resolvers are what fails, not the ping targets.
        checks = summary["dns"]
        failing = [check.get("name") for check in checks if not check.get("ok")]
        total = len(checks)
    return {
        # As the classifier summed it up (a text instead when no gateway was probed).
        "gateway": cast("GatewayPart", gateway) if isinstance(gateway, dict) else None,
        "targets_total": total,
        "targets_failing": len(failing),
        "failing": failing,
        "since": _iso(incident.started_at),
        "samples": samples,
        # The cause in structured form (code and figures), so messages in other languages
        # need not repeat the detector's English sentence.
        "cause_detail": summary.get("cause"),
    }


def uplink_part(session: Session, config: Config, link: str) -> UplinkPart | None:
    """The uplink ``link`` and the site's state now, from every link's open interval; None
    for a config without ``[[uplink]]`` (its one link is the site)."""
    entry = next((entry for entry in config.links if entry.name == link), None)
    if not config.uplink or entry is None:
        return None
    opened = {name: (state, code) for name, state, code in session.exec(
        select(Link.name, StateInterval.state, StateInterval.cause_code)
        .join(StateInterval, col(StateInterval.link_id) == col(Link.id))
        .where(col(StateInterval.ended_at).is_(None))).all()}
    views = [LinkView(other.name, cast("LinkState", opened.get(other.name, ("unknown",))[0]),
                      other.primary, opened.get(other.name, ("", None))[1] == CAUSE_OTHER_PATH)
             for other in config.links]
    chosen = carrier(views)
    return {"name": entry.name, "kind": entry.kind, "primary": entry.primary,
            "several": len(config.links) > 1, "site_state": site_state(views),
            "carrier": None if chosen is None else chosen.name}


def link_part(session: Session, link: int) -> LinkPart | None:
    current = open_interval(session, link)
    if current is None:
        return None
    return {
        "state": cast("LinkState", current.state),  # the column's CHECK holds LINK_STATES
        "cause": current.cause,
        "since": current.started_at.isoformat(),
    }


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
) -> MessageContext:
    """The full context of an incident message; ``sent_to`` names the ticket backends that
    the ticket's messages go to (for management's notices). Raises ``ValueError`` for an
    ``event`` that is not a ``MessageEvent`` (no template would render it)."""
    if not is_message_event(event):
        raise ValueError(f"{event!r} is not a message event; see watchdog.vocabulary")
    name = link_name(session, incident.link_id)
    context = base(config, event, channel, event_at, name)
    context["incident"] = incident_part(session, incident, now, step)
    context["sent_to"] = sent_to
    context["evidence"] = evidence_part(session, incident, now)
    context["link"] = link_part(session, incident.link_id)
    context["uplink"] = None if name is None else uplink_part(session, config, name)
    return context


def link_name(session: Session, link: int) -> str | None:
    """The name of the link whose id is ``link`` (None: no such link)."""
    row = session.get(Link, link)
    return None if row is None else row.name
