"""Build probe cycles from compact specs for the pure classification and tracker tests.

``cycle(12, "++-", gw="+")``: a cycle 12 s after T0 in which the first two ping targets
answer, the third does not, and the gateway answers. ``gw=None`` means no default route.
``spread=0.001``: the probes leave one after the other, 1 ms apart in the order of ``results``
(pings, gateway, DNS, HTTP), as a real cycle's concurrent probes do within a few ms.
``path="f"``: a path check that saw the line's own path ("f"), another path ("b"), or got no
answer ("?"); one letter per check (the public address, the hop).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.vocabulary import ProbeKind

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TARGETS = ("203.0.113.1", "203.0.113.2", "203.0.113.3")
RESOLVERS = ("203.0.113.53", "203.0.113.54")
WEB = ("http://203.0.113.80/204", "http://203.0.113.80/ok")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _results(kind: ProbeKind, spec: str, addresses: tuple[str, ...], moment: datetime,
             rtt: float, sent: int) -> list[ProbeResult]:
    results = []
    for index, mark in enumerate(spec):
        ok = mark == "+"
        results.append(ProbeResult(
            kind=kind, target=f"{kind}{index + 1}", address=addresses[index], ok=ok, at=moment,
            rtt_ms=rtt if ok else None, sent=sent, received=sent if ok else 0,
            error=None if ok else "timeout",
        ))
    return results


def cycle(
    seconds: float,
    pings: str = "+++",
    gw: str | None = "+",
    dns: str | None = None,
    http: str | None = None,
    path: str | None = None,
    rtt: float = 12.0,
    received: list[int] | None = None,
    spread: float = 0.0,
) -> CycleResult:
    """A cycle; ``received`` overrides the echo replies per target (2 sent each); ``spread``
    seconds between the probes' send times."""
    moment = at(seconds)
    results = _results("ping", pings, TARGETS, moment, rtt, 2)
    if received is not None:
        results = [
            ProbeResult(kind="ping", target=r.target, address=r.address, ok=count > 0, at=moment,
                        rtt_ms=rtt if count else None, sent=2, received=count,
                        error=None if count else "timeout")
            for r, count in zip(results, received, strict=True)
        ]
    kinds: set[ProbeKind] = {"ping"}
    note = None
    if gw is None:
        note = "no default route"
    else:
        kinds.add("gateway")
        results += _results("gateway", gw, ("192.0.2.1",), moment, 0.3, 2)
    if dns is not None:
        kinds.add("dns")
        results += _results("dns", dns, RESOLVERS, moment, 20.0, 1)
    if http is not None:
        kinds.add("http")
        results += _results("http", http, WEB, moment, 40.0, 1)
    if path is not None:
        kinds.add("path")
        for index, mark in enumerate(path):
            seen = {"f": None, "b": "another path: public address 198.51.100.5",
                    "?": "timeout"}[mark]
            results.append(ProbeResult(kind="path", target=f"path{index + 1}",
                                       address="http://203.0.113.80/ip", ok=mark == "f",
                                       at=moment, received=0 if mark == "?" else 1, error=seen))
    if spread:
        results = [replace(result, at=moment + timedelta(seconds=index * spread))
                   for index, result in enumerate(results)]
    return CycleResult(
        started_at=moment,
        finished_at=moment + timedelta(milliseconds=50),
        kinds=frozenset(kinds),
        results=tuple(results),
        gateway_note=note,
    )
