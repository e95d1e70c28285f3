"""A message's context: what it says, stored as JSON with its outbox row when its event happens,
and rendered by the templates when it is sent.

One typed shape for both sides. ``incidents.context`` builds a ``MessageContext``;
``delivery.render`` takes a stored one through ``complete`` before the templates read it. A
context stored by an older version may lack keys a newer template reads: ``complete`` adds
them, so they read as null (or an empty list) instead of failing.

What ``complete`` does follows from the types below, so the shape is written once:

* every key declared here is present afterwards; a missing plain value is null;
* a nested part (``SitePart``) is completed in turn, and made (all nulls) when missing;
* a part declared ``X | None`` stays null when missing or null, except the ``link``, whose
  fields the templates read without testing it first;
* a list is ``[]`` when missing, and a list of parts has each of its objects completed;
* keys the shape does not declare are kept as they are.

Times are ISO-8601 text in UTC (the renderer shows them in the site's zone). Standard library
only, so the incident code that builds contexts does not load the renderer's Jinja2.
"""

from __future__ import annotations

import copy
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

from watchdog.vocabulary import Audience, LinkState, MessageEvent, OutageKind, SiteState


class SitePart(TypedDict):
    """The office, from ``[site]``: who the helpdesk calls back and where the line is."""

    name: str
    address: str
    contact: str


class IspPart(TypedDict):
    """The line and its contract, from ``[isp]``; ``gtr_s`` is the guaranteed repair time."""

    name: str
    line_id: str
    customer_ref: str
    gtr_s: float


class StepPart(TypedDict):
    """The escalation step a reminder or an alert is for (``label`` "gtr", "24h"...)."""

    number: int
    label: str
    is_gtr: bool
    due_at: str | None


class IncidentPart(TypedDict):
    """The incident and its ticket; ``duration_s`` is set once the link is back."""

    reference: str | None
    kind: OutageKind
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    cuts: int
    gtr_breached: bool
    reminders_sent: int
    ticket_opened_at: str | None
    cause: str
    step: StepPart | None


class GatewayPart(TypedDict):
    """The gateway's result in the opening cycle, as the classifier summed it up."""

    name: str
    kind: str
    address: str
    ok: bool
    rtt_ms: float | None
    error: str | None


class SamplePart(TypedDict):
    """One recent probe result of the evidence table."""

    at: str
    target: str
    kind: str
    address: str
    ok: bool
    rtt_ms: float | None
    error: str | None


class EvidencePart(TypedDict):
    """What fails, and the recent probe results since the incident began.

    ``cause_detail`` is the cause in structured form (a ``code`` and its figures), so a
    message in another language need not repeat the detector's English sentence.
    """

    gateway: GatewayPart | None
    targets_total: int
    targets_failing: int
    failing: list[str]
    since: str | None
    samples: list[SamplePart]
    cause_detail: dict[str, Any] | None


class LinkPart(TypedDict):
    """The link's state when the event happened (a ``degraded`` notice adds its cause's
    structured form)."""

    state: LinkState
    cause: str
    since: str
    cause_detail: NotRequired[dict[str, Any] | None]


class UplinkPart(TypedDict):
    """Which uplink the message is about, for a site that declares uplinks: its ``name`` and
    ``kind``, whether it is the ``primary``, whether the site has ``several``; and the site
    when the event happened: its state (``up``, ``on_backup``, ``down``...) and the uplink
    the traffic leaves through (``carrier``, None: none)."""

    name: str
    kind: str
    primary: bool
    several: bool
    site_state: SiteState
    carrier: str | None


class GapPart(TypedDict):
    """A time the watchdog was not running (``monitor_gap``)."""

    started_at: str
    ended_at: str
    duration_s: float


class FoldedPart(TypedDict):
    """A message folded into this one: its news was stale when it could finally leave (see
    ``delivery.folding``). Added when the message is claimed, not stored with it.

    ``due_at``: when its news fell due (a reminder's escalation step, else its event);
    ``queued_at``: when it was written to the outbox; ``attempts``: how often it was tried,
    the first and last time; ``last_error``: why the last attempt failed.
    """

    event: MessageEvent
    step: StepPart | None
    due_at: str | None
    queued_at: str | None
    attempts: int
    first_attempt_at: str | None
    last_attempt_at: str | None
    last_error: str | None


class MessageContext(TypedDict):
    """Everything one message says. ``sent_to`` names the ticket backends an incident's
    ticket messages go to (management's notices say where the report went). ``folded``
    lists the older messages whose news this one carries, oldest due first (filled in when
    the message is claimed; empty when none)."""

    event: MessageEvent
    audience: Audience
    channel: str
    event_at: str | None
    site: SitePart
    isp: IspPart
    incident: IncidentPart | None
    evidence: EvidencePart | None
    link: LinkPart | None
    gap: GapPart | None
    sent_to: NotRequired[list[str] | None]
    uplink: NotRequired[UplinkPart | None]
    folded: NotRequired[list[FoldedPart]]


def due_at_of(context: Mapping[str, Any]) -> str | None:
    """When a stored message's news fell due: its escalation step's time (a reminder's, an
    escalation alert's), else its event's time. ISO text, or None."""
    incident = context.get("incident")
    step = incident.get("step") if isinstance(incident, Mapping) else None
    due = step.get("due_at") if isinstance(step, Mapping) else None
    event_at = context.get("event_at")
    return str(due) if due else (str(event_at) if event_at else None)


# Parts declared nullable that ``complete`` still makes when null: see the module's doc.
_MADE_EVEN_WHEN_NULL = frozenset({"link"})

_Way = Literal["value", "part", "nullable part", "list", "list of parts"]


def complete(context: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a stored ``context`` with every key of ``MessageContext`` present.

    The original is not changed. See the module's doc for what is added.
    """
    return _complete(context, MessageContext)


def _complete(value: Mapping[str, Any], shape: type) -> dict[str, Any]:
    result = {key: copy.deepcopy(item) for key, item in value.items()}
    for key, way, part in _fields(shape):
        current = result.get(key)
        if way in ("part", "nullable part"):
            if isinstance(current, Mapping):
                result[key] = _complete(current, part)
            elif way == "nullable part":
                result[key] = None
            else:
                result[key] = _complete({}, part)
        elif way in ("list", "list of parts"):
            items = list(current) if isinstance(current, list | tuple) else []
            if way == "list of parts":
                items = [_complete(item, part) if isinstance(item, Mapping) else item
                         for item in items]
            result[key] = items
        elif key not in result:
            result[key] = None
    return result


@functools.cache
def _fields(shape: type) -> tuple[tuple[str, _Way, type], ...]:
    """Each key of the TypedDict ``shape``, how ``complete`` treats it, and its part's type."""
    fields: list[tuple[str, _Way, type]] = []
    for key, annotation in typing.get_type_hints(shape).items():
        options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
        nullable = type(None) in options
        kinds = [option for option in options if option is not type(None)]
        kind = kinds[0] if len(kinds) == 1 else object
        if typing.is_typeddict(kind):
            made = not nullable or key in _MADE_EVEN_WHEN_NULL
            fields.append((key, "part" if made else "nullable part", kind))
        elif typing.get_origin(kind) is list and not nullable:
            (item,) = typing.get_args(kind)
            if typing.is_typeddict(item):
                fields.append((key, "list of parts", item))
            else:
                fields.append((key, "list", object))
        else:
            fields.append((key, "value", object))
    return tuple(fields)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)
