"""Classification: what one probe cycle says about the link, before any hysteresis. Pure.

The decision rests on several internet targets and on the gateway, never on one host:

- the quorum of ping targets fails and the gateway does not answer (or there is no default
  route): ``lan_down``, a local fault;
- the quorum fails while the gateway answers (or is not probed): ``down``, the ISP's side;
- pings get through, but the path check saw the traffic leave through another path (a
  router that failed over to its backup by itself): ``down``, outage kind ``isp``, marked
  ``other_path`` (the line is dead; the site's traffic still flows);
- pings get through but no resolver answers: ``down`` with outage kind ``dns``;
- some targets, resolvers or web checks fail, or loss or latency over the sliding window are
  over their thresholds: ``degraded``;
- otherwise ``up``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from watchdog.link.states import Observation
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.vocabulary import CAUSE_OTHER_PATH


@dataclass(frozen=True, slots=True)
class Policy:
    """The thresholds that classification and tracking apply (``[detection]``, ``[schedule]``)."""

    confirm_down: int = 3
    confirm_up: int = 3
    # Ping targets that must fail together for the link to be down; 0 means all of them.
    down_quorum: int = 0
    window: timedelta = timedelta(seconds=60)
    degraded_loss_percent: float = 20.0
    degraded_rtt_ms: float = 300.0
    # DNS and HTTP results older than this are forgotten rather than carried forward.
    check_stale_after: timedelta = timedelta(seconds=60)
    # Loss is not judged on fewer echo requests than this (one lost packet is not 50 % loss).
    min_window_packets: int = 10
    # The link has a path check: its outages end only on a fresh one (see the tracker).
    path_check: bool = False

    @classmethod
    def from_config(cls, config: Any, link: Any = None) -> Policy:
        """Build the policy from a ``watchdog.config.Config`` for one of its ``links``
        (None: a link without a path check)."""
        detection, schedule = config.detection, config.schedule
        return cls(
            confirm_down=detection.confirm_down,
            confirm_up=detection.confirm_up,
            down_quorum=detection.down_quorum,
            window=detection.window,
            degraded_loss_percent=detection.degraded_loss_percent,
            degraded_rtt_ms=detection.degraded_rtt.total_seconds() * 1000,
            check_stale_after=schedule.check_interval * 2,
            path_check=link is not None and link.path is not None,
        )


@dataclass(frozen=True, slots=True)
class WindowEntry:
    """Ping statistics of one cycle in which the internet was reachable."""

    at_s: float
    sent: int
    received: int
    rtts_ms: tuple[float, ...]


def window_stats(window: Sequence[WindowEntry]) -> tuple[int, float | None, float | None]:
    """(echo requests sent, loss percent or None, median RTT in ms or None) over ``window``."""
    sent = sum(entry.sent for entry in window)
    received = sum(entry.received for entry in window)
    rtts = [rtt for entry in window for rtt in entry.rtts_ms]
    loss = 100.0 * (sent - received) / sent if sent else None
    return sent, loss, (_median(rtts) if rtts else None)


def _median(values: Sequence[float]) -> float:
    """The median of ``values`` (not empty), as ``statistics.median`` computes it: that
    module (with its C part) would be the daemon's only reason to load it."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def quorum_of(policy: Policy, target_count: int) -> int:
    """How many failing ping targets make the internet unreachable."""
    return min(policy.down_quorum, target_count) if policy.down_quorum else target_count


def internet_unreachable(cycle: CycleResult, policy: Policy) -> bool:
    """Whether the quorum of ping targets failed in ``cycle``."""
    return quorum_failed(cycle.results, policy)


def quorum_failed(results: Sequence[ProbeResult], policy: Policy) -> bool:
    """Whether the quorum of the ping targets among ``results`` failed."""
    pings = [result for result in results if result.kind == "ping"]
    failing = sum(1 for result in pings if not result.ok)
    return bool(pings) and failing >= quorum_of(policy, len(pings))


def other_path(path: Sequence[ProbeResult]) -> list[ProbeResult]:
    """The path checks that saw the traffic take another path, when every path check that
    got an answer did (a check without an answer says nothing; one that saw the line's own
    path outweighs the others); [] otherwise."""
    answered = [result for result in path if result.received]
    if answered and not any(result.ok for result in answered):
        return answered
    return []


def _describe(result: ProbeResult) -> str:
    shown = result.target
    if result.target != result.address:
        shown = f"{result.target} ({result.address})"
    return f"{result.kind} {shown}: {result.error or 'failed'}"


def _silent(code: str, result: ProbeResult, answering: int, total: int) -> dict[str, Any]:
    """The structured form of a failing target, for messages in other languages."""
    return {"code": code, "name": result.target, "address": result.address,
            "error": result.error, "answering": answering, "total": total}


def _result_summary(result: ProbeResult) -> dict[str, Any]:
    return {
        "name": result.target,
        "kind": result.kind,
        "address": result.address,
        "ok": result.ok,
        "rtt_ms": None if result.rtt_ms is None else round(result.rtt_ms, 2),
        "error": result.error,
    }


def classify(
    cycle: CycleResult,
    policy: Policy,
    *,
    window: Sequence[WindowEntry] = (),
    dns: Sequence[ProbeResult] = (),
    http: Sequence[ProbeResult] = (),
    path: Sequence[ProbeResult] = (),
) -> Observation:
    """Classify one cycle.

    ``window`` holds the recent cycles' ping statistics (this cycle's included) for loss and
    latency; ``dns``, ``http`` and ``path`` are the latest results of those checks, from this
    cycle or carried forward from an earlier one (the tracker does that). Returns an
    ``Observation`` stamped with the cycle's start, the time its probes were sent.
    """
    at = cycle.started_at
    pings = cycle.of_kind("ping")
    gateway = cycle.gateway
    failing = [result for result in pings if not result.ok]
    quorum = quorum_of(policy, len(pings))
    evidence: dict[str, Any] = {
        "targets": len(pings),
        "failing": [result.target for result in failing],
        "gateway": _result_summary(gateway) if gateway else cycle.gateway_note,
    }

    if pings and len(failing) >= quorum:
        basis = frozenset({"ping", "gateway"} if gateway is not None else {"ping"})
        lost = f"{len(failing)} of {len(pings)} internet targets do not answer"
        counts = {"failing": len(failing), "total": len(pings)}
        if gateway is None and cycle.gateway_note == "no default route":
            evidence["cause"] = {"code": "no_route", **counts}
            return Observation(
                "lan_down",
                f"no default route: the server has no way out (cable, switch or DHCP?); {lost}",
                at, "lan", evidence, basis,
            )
        if gateway is not None and not gateway.ok:
            evidence["cause"] = {"code": "gateway_silent", "gateway": gateway.address, **counts}
            return Observation(
                "lan_down",
                f"the gateway {gateway.address} does not answer: a local fault "
                f"(router, switch or cable); {lost}",
                at, "lan", evidence, basis,
            )
        if gateway is not None:
            where = f"the gateway {gateway.address} answers but {lost}"
            evidence["cause"] = {"code": "isp", "gateway": gateway.address, **counts}
        else:
            where = f"{lost} (gateway not probed: {cycle.gateway_note or 'unknown'})"
            evidence["cause"] = {"code": "isp_unprobed", "note": cycle.gateway_note, **counts}
        return Observation("down", where, at, "isp", evidence, basis)

    elsewhere = other_path(path)
    if elsewhere:
        evidence["path"] = [_result_summary(result) for result in elsewhere]
        evidence["cause"] = {"code": CAUSE_OTHER_PATH,
                             "seen": [result.error for result in elsewhere]}
        seen = "; ".join((result.error or "").removeprefix("another path: ") or result.target
                         for result in elsewhere)
        return Observation(
            "down", f"the traffic leaves through another path ({seen}): the line itself is "
            "down while a backup carries the traffic",
            at, "isp", evidence, frozenset({"path"}), other_path=True,
        )

    dns_failing = [result for result in dns if not result.ok]
    if dns and len(dns_failing) == len(dns):
        evidence["dns"] = [_result_summary(result) for result in dns]
        evidence["cause"] = {"code": "dns_all", "total": len(dns)}
        return Observation(
            "down",
            f"no DNS resolver answers ({len(dns)} of {len(dns)} fail) while internet hosts "
            "answer pings",
            at, "dns", evidence, frozenset({"dns"}),
        )

    # (kind, English text, structured cause for the translated messages)
    reasons: list[tuple[str, str, dict[str, Any]]] = []
    reasons.extend(("ping", _describe(result) + f" ({len(pings) - len(failing)} of "
                    f"{len(pings)} answer)",
                    _silent("target_silent", result, len(pings) - len(failing), len(pings)))
                   for result in failing)
    sent, loss, median_rtt = window_stats(window)
    if loss is not None and sent >= policy.min_window_packets and (
        loss > policy.degraded_loss_percent
    ):
        minutes = _window_text(policy.window)
        reasons.append(("ping", f"{loss:.0f} % packet loss over {minutes}",
                        {"code": "loss", "percent": round(loss),
                         "window_s": policy.window.total_seconds()}))
        evidence["loss_percent"] = round(loss, 1)
    if median_rtt is not None and median_rtt > policy.degraded_rtt_ms:
        reasons.append(("ping", f"median round trip {median_rtt:.0f} ms over "
                        f"{_window_text(policy.window)}",
                        {"code": "rtt", "ms": round(median_rtt),
                         "window_s": policy.window.total_seconds()}))
        evidence["rtt_ms"] = round(median_rtt, 1)
    reasons.extend(("dns", _describe(result) + f" ({len(dns) - len(dns_failing)} of {len(dns)}"
                    " resolvers answer)",
                    _silent("resolver_silent", result, len(dns) - len(dns_failing), len(dns)))
                   for result in dns_failing)
    http_failing = [result for result in http if not result.ok]
    reasons.extend(("http", _describe(result), _silent("web_failing", result, 0, 0))
                   for result in http_failing)
    if reasons:
        evidence["reasons"] = [text for _, text, _ in reasons]
        evidence["cause"] = reasons[0][2]
        basis = frozenset({"ping"} | {kind for kind, _, _ in reasons})
        return Observation("degraded", reasons[0][1], at, None, evidence, basis)

    answering = f"{len(pings)}/{len(pings)} targets answer"
    if gateway is not None:
        tail = "gateway ok" if gateway.ok else f"gateway {gateway.address} does not answer ping"
    else:
        tail = f"gateway not probed ({cycle.gateway_note or 'unknown'})"
    return Observation("up", f"{answering}, {tail}", at, None, evidence, frozenset({"ping"}))


def _window_text(window: timedelta) -> str:
    seconds = window.total_seconds()
    if seconds >= 60 and math.isclose(seconds % 60, 0):
        minutes = int(seconds // 60)
        return "the last minute" if minutes == 1 else f"the last {minutes} min"
    return f"the last {seconds:.0f} s"
