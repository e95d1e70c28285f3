"""What a probe reports. Probes never raise: every failure is a result with ``ok=False``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from watchdog.vocabulary import ProbeKind


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe of one target in one cycle.

    ``at`` is when the probe was sent (aware UTC). ``rtt_ms`` is the best round trip (None
    when nothing answered). For pings, ``sent`` echo requests were attempted and ``received``
    came back; other probes count as one request. ``error`` is a short reason for people ("timeout",
    "HTTP 503", "SERVFAIL", "connection refused"), None on success.
    """

    kind: ProbeKind
    target: str
    address: str
    ok: bool
    at: datetime
    rtt_ms: float | None = None
    sent: int = 1
    received: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CycleResult:
    """Everything one probe cycle measured.

    ``results`` holds every probe, the gateway's included (kind "gateway"). ``kinds`` names
    the probe kinds this cycle ran (a cycle always pings; DNS and HTTP only when due), so a
    check that did not run is not mistaken for one that failed.
    """

    started_at: datetime
    finished_at: datetime
    kinds: frozenset[ProbeKind]
    results: tuple[ProbeResult, ...]
    # Why there is no gateway result, for the cause text: "no default route",
    # "gateway probing disabled".
    gateway_note: str | None = None

    @property
    def gateway(self) -> ProbeResult | None:
        """The gateway's result; None when no gateway is known or probing it is off."""
        return next((result for result in self.results if result.kind == "gateway"), None)

    def of_kind(self, kind: ProbeKind) -> tuple[ProbeResult, ...]:
        return tuple(result for result in self.results if result.kind == kind)
