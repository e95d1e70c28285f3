"""Probes: ping (icmplib), DNS (dnspython), HTTP (requests), the gateway; a cycle runs them all.

The result types load at once. The probes themselves load on first use: they pull in icmplib,
dnspython and requests, which a read-only CLI command that only needs the types should not pay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from watchdog.probes.results import CycleResult, ProbeResult

if TYPE_CHECKING:
    from watchdog.probes.cycle import CyclePlan, plan_for, run_cycle
    from watchdog.probes.gateway import default_gateway
    from watchdog.probes.ping import detect_ping_mode

_LAZY = {
    "CyclePlan": "watchdog.probes.cycle",
    "plan_for": "watchdog.probes.cycle",
    "run_cycle": "watchdog.probes.cycle",
    "default_gateway": "watchdog.probes.gateway",
    "detect_ping_mode": "watchdog.probes.ping",
}

__all__ = [
    "CyclePlan",
    "CycleResult",
    "ProbeResult",
    "default_gateway",
    "detect_ping_mode",
    "plan_for",
    "run_cycle",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
