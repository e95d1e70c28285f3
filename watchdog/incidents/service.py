"""The incident lifecycle, applied inside the cycle's transaction.

After each cycle's timeline is written, ``after_cycle`` looks at the link's open outage and
ongoing incident and moves the incident along (each link has its own incidents):

- a new outage opens an incident, or rejoins the previous one of its kind when it starts
  within ``incidents.merge_within`` of its end (a flapping line makes one incident, one ticket);
- an incident lasting ``open_after`` (per kind) opens its ticket: a reference ``WD-2026-0007``,
  the report to the ticket backends of its kind, a notice to management;
- due escalation steps send a reminder to the ticket backends and an alert to management;
- the end of its outage recovers it: the ticket is closed with the exact duration, whether the
  guaranteed repair time was breached and how many reminders were sent.

The guaranteed repair time is the contract's (``watchdog.contract``): counted 24/7 or in
business hours, from the outage's start or the ticket's, so the "gtr" reminder and the breach
fall when the contract says.

Every message is enqueued in the outbox in the same transaction (record first, send later).
The messages of a flapping incident are grouped and rate-limited; every cut is still recorded.

During a maintenance window (the link's open interval is ``maintenance``) nothing opens, no
ticket, no reminder: an incident whose outage goes on through the works is followed up again
when they end (steps that fell due meanwhile are taken then, the latest one sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from watchdog.config.schema import Config
from watchdog.contract import gtr
from watchdog.contract.terms import ContractTerms
from watchdog.delivery import outbox
from watchdog.incidents import context as contexts
from watchdog.incidents.routing import notify_channels, ticket_backends
from watchdog.incidents.schedule import Step, due_steps
from watchdog.link.states import Transition
from watchdog.store.models import Incident, IncidentEvent, Outage
from watchdog.store.timeline import maintenance_intervals, open_interval, open_outage

# A "degraded" notice is sent at most this often.
DEGRADED_NOTICE_INTERVAL = timedelta(hours=1)
# A restart gap shorter than this is not worth a "monitor_gap" notice.
MONITOR_GAP_NOTICE_AFTER = timedelta(minutes=1)


def ongoing_incident(session: Session, link: int) -> Incident | None:
    """The link's incident whose outage is going on, if any."""
    return session.exec(
        select(Incident).where(col(Incident.link_id) == link, col(Incident.ended_at).is_(None))
    ).first()


def in_maintenance(session: Session, link: int) -> bool:
    """Whether the link's timeline shows a maintenance window now."""
    interval = open_interval(session, link)
    return interval is not None and interval.state == "maintenance"


def next_reference(session: Session, prefix: str, year: int) -> str:
    """The next ticket reference of ``year``: ``WD-2026-0001``, ``WD-2026-0002``, ..."""
    stem = f"{prefix}-{year}-"
    last = session.exec(
        select(Incident.reference)
        .where(col(Incident.reference).like(f"{stem}%"))
        .order_by(col(Incident.reference).desc())
    ).first()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{number:04d}"


class IncidentService:
    """Moves incidents along; every method runs inside the caller's write transaction."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._terms: tuple[Config, dict[str | None, ContractTerms]] | None = None

    @property
    def terms(self) -> ContractTerms:
        """The primary link's contract terms (see ``terms_of``)."""
        return self.terms_of(None)

    def terms_of(self, link: str | None) -> ContractTerms:
        """The contract's terms of the link called ``link`` (None: the primary's), from the
        config in force (the daemon swaps it on SIGHUP); built once per config and link (the
        site's zone may be read from /etc/localtime)."""
        if self._terms is None or self._terms[0] is not self.config:
            self._terms = (self.config, {})
        built = self._terms[1]
        if link not in built:
            built[link] = ContractTerms.from_config(self.config, link)
        return built[link]

    def _backends(self, session: Session, incident: Incident) -> list[str]:
        """The ticket backends of ``incident``: those of its kind, and of its link's
        provider."""
        return ticket_backends(self.config, incident.kind,
                               contexts.link_name(session, incident.link_id))

    # --- the cycle hook ----------------------------------------------------------------

    def after_cycle(
        self, session: Session, link: int, transitions: Sequence[Transition], now: datetime
    ) -> None:
        """``Store.on_cycle``: move the incident of the link whose id is ``link`` along."""
        ongoing = ongoing_incident(session, link)
        outage = open_outage(session, link)
        if ongoing is not None and (outage is None or outage.incident_id != ongoing.id):
            self._recover(session, ongoing, now)
            ongoing = None
        # Planned works: nothing opens, reminds or escalates until they end.
        works = outage is not None and in_maintenance(session, link)
        if outage is not None and not works:
            if outage.incident_id is None:
                ongoing = self._attach(session, outage, now)
            elif ongoing is None:
                ongoing = session.get(Incident, outage.incident_id)
        if ongoing is not None and ongoing.ended_at is None and not works:
            self._follow_up(session, ongoing, now)
        if transitions and len(self.config.links) > 1:
            # Another way out may work now (or the one used may have died): what waits for a
            # retry is tried again at once, through the uplink the delivery loop picks then.
            outbox.rush(session, now)
        for transition in transitions:
            if transition.state == "up":
                outbox.rush(session, now)  # the way out is back: send what waited, now
            if transition.state == "degraded":
                self._degraded(session, link, transition, now)

    def after_resume(
        self, session: Session, link: int, gap_start: datetime | None, now: datetime
    ) -> None:
        """``Store.on_resume``: the link was not watched from ``gap_start`` to ``now``; say
        so once."""
        outbox.release_claims(session)
        if gap_start is None or now - gap_start < MONITOR_GAP_NOTICE_AFTER:
            return
        for channel in notify_channels(self.config, "monitor_gap"):
            context = contexts.base(self.config, "monitor_gap", channel, now,
                                    contexts.link_name(session, link))
            context["gap"] = {"started_at": gap_start.isoformat(), "ended_at": now.isoformat(),
                              "duration_s": (now - gap_start).total_seconds()}
            outbox.enqueue(session, key=f"gap:{link}:{gap_start.isoformat()}:{channel}",
                           channel=channel, event="monitor_gap", event_at=now, now=now,
                           context=context)

    # --- steps of the lifecycle --------------------------------------------------------

    def _attach(self, session: Session, outage: Outage, now: datetime) -> Incident:
        """Give a new outage its incident: the previous one of its kind if close, else new."""
        merge = self.config.incidents.merge_within
        previous = session.exec(
            select(Incident)
            .where(col(Incident.link_id) == outage.link_id, col(Incident.kind) == outage.kind,
                   col(Incident.ended_at).is_not(None), col(Incident.closed_at).is_(None))
            .order_by(col(Incident.ended_at).desc())
        ).first()
        if (previous is not None and previous.ended_at is not None
                and outage.started_at - previous.ended_at <= merge):
            previous.ended_at = None
            previous.cuts += 1
            outage.incident_id = previous.id
            session.add_all([previous, outage])
            session.flush()
            self._event(session, previous, outage.started_at, "reopened",
                        f"down again (cut {previous.cuts}): {outage.cause}")
            self._announce_cut(session, previous, outage, now)
            return previous
        incident = Incident(link_id=outage.link_id, kind=outage.kind,
                            started_at=outage.started_at, cause=outage.cause)
        session.add(incident)
        session.flush()
        outage.incident_id = incident.id
        session.add(outage)
        self._event(session, incident, outage.started_at, "started", outage.cause)
        event = "lan_fault" if outage.kind == "lan" else "outage_started"
        for channel in notify_channels(self.config, event):
            self._enqueue(session, incident, event, channel, f"started:{channel}",
                          outage.started_at, now)
        return incident

    def _announce_cut(self, session: Session, incident: Incident, outage: Outage,
                      now: datetime) -> None:
        """A flapping incident's new cut: grouped, rate-limited notices."""
        cut = incident.cuts
        if incident.ticket_opened_at is not None:
            for backend in self._backends(session, incident):
                self._enqueue_grouped(session, incident, "ticket_reopened", backend,
                                      f"cut:{cut}:{backend}", outage.started_at, now)
        event = "lan_fault" if incident.kind == "lan" else "outage_started"
        for channel in notify_channels(self.config, event):
            self._enqueue_grouped(session, incident, event, channel, f"cut:{cut}:{channel}",
                                  outage.started_at, now)

    def _follow_up(self, session: Session, incident: Incident, now: datetime) -> None:
        """Open the ticket when due, then take due escalation steps."""
        if incident.closed_at is not None:
            return
        policy = self.config.incidents
        if incident.ticket_opened_at is None:
            delay = {str(kind): value for kind, value in policy.open_after.items()}
            if now - incident.started_at < delay.get(incident.kind, timedelta(minutes=2)):
                return
            self._open_ticket(session, incident, now)
        steps = due_steps(incident.started_at, now, policy.escalation,
                          self._gtr_due(session, incident, now), policy.repeat_every,
                          incident.steps_done)
        if steps:
            self._escalate(session, incident, steps, now)

    def _open_ticket(self, session: Session, incident: Incident, now: datetime) -> None:
        incident.reference = next_reference(session, self.config.incidents.reference_prefix,
                                             incident.started_at.year)
        incident.ticket_opened_at = now
        session.add(incident)
        session.flush()
        backends = self._backends(session, incident)
        self._event(session, incident, now, "ticket_opened",
                    f"ticket {incident.reference} opened"
                    + (f" with {', '.join(backends)}" if backends else " (local ledger only)"))
        for backend in backends:
            self._enqueue(session, incident, "ticket_open", backend, f"ticket_open:{backend}",
                          now, now)
        for channel in notify_channels(self.config, "ticket_opened"):
            self._enqueue(session, incident, "ticket_opened", channel,
                          f"ticket_opened:{channel}", now, now)

    def _escalate(self, session: Session, incident: Incident, steps: list[Step],
                  now: datetime) -> None:
        """Take the latest due step; steps missed while the watchdog was off (or during a
        maintenance window) are noted."""
        for missed in steps[:-1]:
            self._event(session, incident, missed.due_at, "skipped",
                        f"reminder {missed.number} ({missed.label}) was due while the "
                        "watchdog was not running or a maintenance window held the "
                        "reminders; the next one replaces it")
        step = steps[-1]
        incident.steps_done = step.number
        incident.reminders_sent += 1
        if any(s.is_gtr for s in steps):
            incident.gtr_breached = True
        session.add(incident)
        session.flush()
        backends = self._backends(session, incident)
        breach = " (guaranteed repair time exceeded)" if step.is_gtr else ""
        self._event(session, incident, now, "reminder",
                    f"reminder {step.number} ({step.label}){breach}"
                    + (f" to {', '.join(backends)}" if backends else ""))
        for backend in backends:
            self._enqueue(session, incident, "ticket_reminder", backend,
                          f"step:{step.number}:{backend}", now, now, step)
        if incident.acked_at is None:
            for channel in notify_channels(self.config, "escalated"):
                self._enqueue(session, incident, "escalated", channel,
                              f"step:{step.number}:{channel}", now, now, step)

    def _recover(self, session: Session, incident: Incident, now: datetime) -> None:
        """The incident's outage is over: close the ticket, tell management."""
        last = session.exec(
            select(Outage).where(col(Outage.incident_id) == incident.id)
            .order_by(col(Outage.started_at).desc())
        ).first()
        ended_at = last.ended_at if last is not None and last.ended_at is not None else now
        incident.ended_at = max(ended_at, incident.started_at)
        if incident.kind != "lan" and self._gtr_verdict(session, incident, now).breached:
            incident.gtr_breached = True
        session.add(incident)
        session.flush()
        seen = "" if last is None or last.end_observed is not False else (
            " (the end was not observed: the watchdog was not running)")
        self._event(session, incident, incident.ended_at, "recovered", f"link back{seen}")
        cut = incident.cuts
        group = cut > 1
        if incident.ticket_opened_at is not None and incident.closed_at is None:
            for backend in self._backends(session, incident):
                key = f"close:{cut}:{backend}"
                if group:
                    self._enqueue_grouped(session, incident, "ticket_close", backend, key,
                                          incident.ended_at, now)
                else:
                    self._enqueue(session, incident, "ticket_close", backend, key,
                                  incident.ended_at, now)
        for channel in notify_channels(self.config, "recovered"):
            key = f"recovered:{cut}:{channel}"
            if group:
                self._enqueue_grouped(session, incident, "recovered", channel, key,
                                      incident.ended_at, now)
            else:
                self._enqueue(session, incident, "recovered", channel, key, incident.ended_at,
                              now)

    def _degraded(self, session: Session, link: int, transition: Transition,
                  now: datetime) -> None:
        for channel in notify_channels(self.config, "degraded"):
            group = f"degraded:{link}:{channel}"
            last = outbox.last_sent_in_group(session, group)
            if last is not None and now - last < DEGRADED_NOTICE_INTERVAL:
                continue
            context = contexts.base(self.config, "degraded", channel, transition.at,
                                    contexts.link_name(session, link))
            context["link"] = {"state": "degraded", "cause": transition.cause,
                               "since": transition.at.isoformat(),
                               "cause_detail": transition.evidence.get("cause")}
            outbox.enqueue(session, key=f"degraded:{link}:{transition.at.isoformat()}:{channel}",
                           channel=channel, event="degraded", event_at=transition.at, now=now,
                           context=context, group_key=group)

    # --- helpers -----------------------------------------------------------------------

    def _gtr_due(self, session: Session, incident: Incident, now: datetime) -> datetime | None:
        """When the contract's repair time runs out (maintenance recorded so far skipped);
        None while its clock has not started."""
        terms = self.terms_of(contexts.link_name(session, incident.link_id))
        start = gtr.clock_start(terms, started_at=incident.started_at,
                                ticket_opened_at=incident.ticket_opened_at,
                                provider_ref_at=incident.provider_ref_at)
        if start is None:
            return None
        return gtr.gtr_due(terms, start,
                           maintenance_intervals(session, incident.link_id, start, now))

    def _gtr_verdict(self, session: Session, incident: Incident, now: datetime) -> gtr.GtrVerdict:
        """The incident against the contract's GTR: its cuts' counted repair time."""
        cuts = session.exec(select(Outage).where(col(Outage.incident_id) == incident.id)).all()
        return gtr.assess(self.terms_of(contexts.link_name(session, incident.link_id)),
                          started_at=incident.started_at,
                          outages=[(cut.started_at, cut.ended_at) for cut in cuts], now=now,
                          ticket_opened_at=incident.ticket_opened_at,
                          provider_ref_at=incident.provider_ref_at,
                          maintenance=maintenance_intervals(session, incident.link_id,
                                                            incident.started_at, now))

    def _enqueue(self, session: Session, incident: Incident, event: str, channel: str,
                 suffix: str, event_at: datetime, now: datetime, step: Step | None = None,
                 group_key: str | None = None, not_before: datetime | None = None) -> None:
        context = contexts.for_incident(session, self.config, event, channel, incident,
                                        event_at, now, step,
                                        self._backends(session, incident))
        outbox.enqueue(session, key=f"incident:{incident.id}:{suffix}", channel=channel,
                       event=event, event_at=event_at, now=now, context=context,
                       incident_id=incident.id, group_key=group_key, not_before=not_before)

    def _enqueue_grouped(self, session: Session, incident: Incident, event: str, channel: str,
                         suffix: str, event_at: datetime, now: datetime) -> None:
        """A flapping incident's notice: supersedes the pending one, waits its turn."""
        group = f"incident:{incident.id}:flap:{channel}"
        last = outbox.last_sent_in_group(session, group)
        interval = self.config.incidents.flap_notify_interval
        not_before = None if last is None else last + interval
        self._enqueue(session, incident, event, channel, suffix, event_at, now,
                      group_key=group, not_before=not_before)

    @staticmethod
    def _event(session: Session, incident: Incident, at: datetime, kind: str,
               text: str) -> None:
        assert incident.id is not None
        session.add(IncidentEvent(incident_id=incident.id, at=at, kind=kind, text=text))
