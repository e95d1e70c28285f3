"""The words the watchdog's parts share, defined once: link states, outage kinds, probe kinds,
the timeline's event kinds, outbox statuses, message events and languages, and the labels a
person reads for a state.

Each set of words is a ``Literal`` type, for mypy, and the tuple of its values, derived from
that type with ``get_args``, for what runs: the database's CHECK lists, the config's choices,
loops and membership tests. The two cannot drift, and adding a word is one edit here (plus a
migration where the database lists it).

Standard library only, and nothing but constants: every command, the light read commands
included, imports this module for free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, TypeGuard, get_args

# --- the link -------------------------------------------------------------------------------

#: The name of the one link of a config that names none; an older database's whole history
#: becomes this link's (id 1) when it is migrated.
DEFAULT_LINK: Final = "default"

LinkState = Literal["up", "degraded", "down", "lan_down", "unknown", "maintenance"]
LINK_STATES: Final[tuple[LinkState, ...]] = get_args(LinkState)

#: The link carries traffic: counted as available.
AVAILABLE_STATES: Final[frozenset[LinkState]] = frozenset({"up", "degraded"})
#: An outage (the provider's, DNS-wide, or a fault inside the office): counted as unavailable.
OUTAGE_STATES: Final[frozenset[LinkState]] = frozenset({"down", "lan_down"})
#: Time somebody watched and that counts for availability: every state but ``unknown`` (not
#: watched) and ``maintenance``. In ``LINK_STATES`` order.
WATCHED_STATES: Final[tuple[LinkState, ...]] = tuple(
    state for state in LINK_STATES if state in AVAILABLE_STATES | OUTAGE_STATES
)
#: ``maintenance`` is a declared window of planned works: the link is still probed and its
#: samples kept, but its time is neither available nor unavailable (left out of availability
#: and shown apart, like ``unknown``), and nothing in it opens an outage, a ticket or a
#: reminder. It is never the tracker's own state: the timeline shows it over the tracker's
#: (``watchdog.link.maintenance``).

#: The site's state, from its links' (``watchdog.link.site``): ``up`` while the primary link
#: carries the traffic, ``on_backup`` while it is down and the traffic leaves another way (a
#: backup uplink, or the backup path of a router that failed over), ``down`` while nothing
#: leaves; ``maintenance`` and ``unknown`` as the primary's when nothing else tells.
SiteState = Literal["up", "on_backup", "down", "maintenance", "unknown"]
SITE_STATES: Final[tuple[SiteState, ...]] = get_args(SiteState)

#: The cause code (``evidence["cause"]["code"]``) of a link that is ``down`` because its
#: traffic leaves through another path (its path check, ``watchdog.probes.path``): its own
#: line is dead, yet the site's traffic still flows.
CAUSE_OTHER_PATH: Final = "other_path"

OutageKind = Literal["isp", "lan", "dns"]
OUTAGE_KINDS: Final[tuple[OutageKind, ...]] = get_args(OutageKind)

#: ``path``: an uplink's path check (``watchdog.probes.path``), which tells which way the
#: traffic really leaves (behind a router that fails over by itself).
ProbeKind = Literal["gateway", "ping", "dns", "http", "path"]
PROBE_KINDS: Final[tuple[ProbeKind, ...]] = get_args(ProbeKind)

# --- incidents and their messages -----------------------------------------------------------

#: A line of an incident's timeline (``incident_event.kind``).
IncidentEventKind = Literal[
    "started", "ticket_opened", "reminder", "reopened", "recovered", "closed", "acked", "note",
    "sent", "failed", "skipped", "provider_ref",
]
INCIDENT_EVENT_KINDS: Final[tuple[IncidentEventKind, ...]] = get_args(IncidentEventKind)

#: A message's way through the outbox: ``pending`` until a sender claims it (``sending``),
#: then ``sent``, ``failed`` for good, ``superseded`` by a newer one of its group, or
#: ``folded`` into a newer message of its incident that lists it (its news was stale when it
#: could finally leave; see ``watchdog.delivery.folding``).
OutboxStatus = Literal["pending", "sending", "sent", "failed", "superseded", "folded"]
OUTBOX_STATUSES: Final[tuple[OutboxStatus, ...]] = get_args(OutboxStatus)
#: Still to be sent: the "messages waiting" of a ticket.
QUEUED_STATUSES: Final[tuple[OutboxStatus, ...]] = ("pending", "sending")
#: Not delivered: still to be sent, or given up. What ``outbox`` and ``ticket show`` list.
UNDELIVERED_STATUSES: Final[tuple[OutboxStatus, ...]] = (*QUEUED_STATUSES, "failed")

#: How one delivery attempt ended (``delivery_attempt.outcome``; NULL while it is in flight):
#: ``sent`` (the server took it), ``transient`` (retried later), ``permanent`` (given up), or
#: ``interrupted`` (the process died during it: whether it arrived is not known).
AttemptOutcome = Literal["sent", "transient", "permanent", "interrupted"]
ATTEMPT_OUTCOMES: Final[tuple[AttemptOutcome, ...]] = get_args(AttemptOutcome)

#: Messages to a ticket backend (the provider's helpdesk, the office's IT).
TicketEvent = Literal["ticket_open", "ticket_reminder", "ticket_reopened", "ticket_close"]
TICKET_EVENTS: Final[tuple[TicketEvent, ...]] = get_args(TicketEvent)
#: Notices to people (management, a chat); a notification channel subscribes to some of them.
NotifyEvent = Literal[
    "outage_started", "ticket_opened", "escalated", "recovered", "lan_fault", "degraded",
    "monitor_gap", "test",
]
NOTIFY_EVENTS: Final[tuple[NotifyEvent, ...]] = get_args(NotifyEvent)
#: Every message's event: one template each.
MessageEvent = Literal[TicketEvent, NotifyEvent]
MESSAGE_EVENTS: Final[tuple[MessageEvent, ...]] = get_args(MessageEvent)


def is_message_event(name: str) -> TypeGuard[MessageEvent]:
    """Whether ``name`` is the event of a message (one template each)."""
    return name in MESSAGE_EVENTS


#: Events that happen while the link is down: a late message says it waited for the link.
DOWN_EVENTS: Final[frozenset[MessageEvent]] = frozenset({
    "outage_started", "lan_fault", "ticket_open", "ticket_opened", "ticket_reminder",
    "escalated", "ticket_reopened",
})

#: Who a message is for: a ticket backend, or people being notified.
Audience = Literal["ticket", "notify"]


def audience_of(event: str) -> Audience:
    """``ticket`` for a ticket event, else ``notify``."""
    return "ticket" if event in TICKET_EVENTS else "notify"


#: The languages messages are written in.
Language = Literal["en", "fr"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)

# --- the dead-man's switch -------------------------------------------------------------------

#: What one heartbeat says, in healthchecks.io's words (``URL/start``, ``URL``, ``URL/fail``,
#: ``URL/log``): the watchdog started, the link is well, it is not (down or degraded), or a
#: note that changes nothing (the watchdog stops). ``heartbeat_ping.signal`` lists them.
HeartbeatSignal = Literal["start", "up", "fail", "log"]
HEARTBEAT_SIGNALS: Final[tuple[HeartbeatSignal, ...]] = get_args(HeartbeatSignal)

# --- words for people -----------------------------------------------------------------------

#: A state in a headline (``status``, ``check``), by ``LinkState``; see ``state_label``.
STATE_LABELS: Final[Mapping[str, str]] = {
    "up": "UP",
    "degraded": "DEGRADED",
    "down": "DOWN",
    "lan_down": "DOWN (local network fault)",
    "unknown": "UNKNOWN",
    "maintenance": "MAINTENANCE",
}

#: The site's state in a headline (``status``), by ``SiteState``.
SITE_STATE_LABELS: Final[Mapping[str, str]] = {
    "up": "UP",
    "on_backup": "ON BACKUP",
    "down": "DOWN",
    "maintenance": "MAINTENANCE",
    "unknown": "UNKNOWN",
}

#: An outage kind in a sentence or a table (``report``), by ``OutageKind``.
OUTAGE_KIND_LABELS: Final[Mapping[str, str]] = {
    "isp": "provider", "lan": "LAN fault", "dns": "DNS",
}


def state_label(state: str, outage_kind: str | None = None) -> str:
    """The headline for ``state``: ``DOWN (internet provider)``, ``DOWN (DNS)``, ``UP``...

    ``outage_kind`` tells a DNS-wide failure from the provider's outage; a word this version
    does not know is shown in upper case rather than refused.
    """
    if state == "down" and outage_kind == "dns":
        return "DOWN (DNS)"
    if state == "down":
        return "DOWN (internet provider)"
    return STATE_LABELS.get(state, state.upper())
