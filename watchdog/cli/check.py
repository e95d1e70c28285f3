"""``watchdog check``: one probe cycle now, every target's result and the verdict.

Exit code 0 when the link is up, 1 when degraded, 2 when down or cut by a local fault (with
several uplinks: each is checked in turn, and the code is the primary's). Nothing is written
to the database: this is a look, not a record.
"""

from __future__ import annotations

import argparse
from datetime import tzinfo
from typing import Any

from watchdog.cli.common import STATE_EXIT_CODES, config_from, iso, link_title, print_json
from watchdog.config.schema import LinkConfig
from watchdog.config.zone import site_zone
from watchdog.link.classify import Policy, classify
from watchdog.link.states import Observation
from watchdog.link.tracker import slide_window
from watchdog.probes.cycle import plan_for, run_cycle
from watchdog.probes.gateway import gateway_to_probe, lookup_for
from watchdog.probes.ping import detect_ping_mode
from watchdog.probes.results import CycleResult
from watchdog.vocabulary import state_label


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    privileged = detect_ping_mode()
    looks: list[tuple[LinkConfig, CycleResult, Observation]] = []
    # One link after the other: each cycle binds its own sockets to its own uplink.
    for link in config.links:
        policy = Policy.from_config(config, link)
        plan = plan_for(config, link, dns=True, http=True, path=True, privileged=privileged,
                        gateway_address=gateway_to_probe(link.gateway,
                                                         lookup_for(link.interface)))
        cycle = run_cycle(plan)
        window = slide_window((), cycle, policy, include=True)
        looks.append((link, cycle, classify(cycle, policy, window=window,
                                            dns=cycle.of_kind("dns"),
                                            http=cycle.of_kind("http"),
                                            path=cycle.of_kind("path"))))
    several = len(looks) > 1
    if args.json:
        parts = [_as_json(link, cycle, verdict, zone) for link, cycle, verdict in looks]
        print_json({**parts[0], "links": parts} if several else parts[0])
    else:
        for number, (link, cycle, verdict) in enumerate(looks):
            if several:
                print(("\n" if number else "") + f"uplink {link_title(link)}")
            _print(cycle, verdict)
    # The primary's verdict: the site depends on it.
    return STATE_EXIT_CODES.get(looks[0][2].state, 2)


def _as_json(link: LinkConfig, cycle: CycleResult, verdict: Observation,
             zone: tzinfo) -> dict[str, Any]:
    return {
        "link": link.name,
        "state": verdict.state,
        "cause": verdict.cause,
        "outage_kind": verdict.outage_kind,
        "started_at": iso(cycle.started_at, zone),
        "targets": [
            {"name": r.target, "kind": r.kind, "address": r.address, "ok": r.ok,
             "rtt_ms": None if r.rtt_ms is None else round(r.rtt_ms, 2),
             "at": iso(r.at, zone), "error": r.error}
            for r in cycle.results
        ],
    }


def _print(cycle: CycleResult, verdict: Observation) -> None:
    width = max((len(r.target) for r in cycle.results), default=4)
    for r in cycle.results:
        rtt = f"{r.rtt_ms:8.1f} ms" if r.rtt_ms is not None else " " * 11
        outcome = "ok  " if r.ok else "FAIL"
        print(f"{r.kind:<8} {r.target:<{width}}  {outcome} {rtt}  {r.address}"
              + (f"  ({r.error})" if r.error else ""))
    if cycle.gateway_note and cycle.gateway is None:
        print(f"gateway  not probed: {cycle.gateway_note}")
    print(f"\nverdict: {state_label(verdict.state, verdict.outage_kind)}: {verdict.cause}")
