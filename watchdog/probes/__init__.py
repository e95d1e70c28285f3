"""Probes: ping (icmplib), DNS (dnspython), HTTP (requests), the gateway; one cycle runs them all."""

from watchdog.probes.results import CycleResult, ProbeKind, ProbeResult

__all__ = ["CycleResult", "ProbeKind", "ProbeResult"]
