"""The vocabulary shared by classification, tracking, storage and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

LinkState = Literal["up", "degraded", "down", "lan_down", "unknown"]
OutageKind = Literal["isp", "lan", "dns"]

# How bad each state is; a transition to a worse state needs confirm_down observations,
# to a better one confirm_up.
SEVERITY: dict[LinkState, int] = {"unknown": -1, "up": 0, "degraded": 1, "down": 2, "lan_down": 3}


@dataclass(frozen=True, slots=True)
class Observation:
    """What one cycle says about the link, before any hysteresis.

    ``outage_kind`` is set for ``down`` (``isp`` or ``dns``) and ``lan_down`` (``lan``).
    ``evidence`` is a small JSON-ready summary (failing targets, gateway result) kept with outages.
    """

    state: LinkState
    cause: str
    at: datetime
    outage_kind: OutageKind | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    """The link entered ``state`` at ``at``: back-dated to the first probe that showed it."""

    state: LinkState
    at: datetime
    cause: str
    outage_kind: OutageKind | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Blip:
    """A failure shorter than the confirmation: recorded, but not an outage."""

    state: LinkState
    started_at: datetime
    ended_at: datetime
    cycles: int
    cause: str


def outage_kind_of(state: LinkState, kind: OutageKind | None) -> OutageKind | None:
    """The outage a state stands for: ``lan_down`` is always ``lan``; ``down`` is ``isp`` or ``dns``."""
    if state == "lan_down":
        return "lan"
    if state == "down":
        return kind or "isp"
    return None
