"""``watchdog check``: one probe cycle now, every target's result and the verdict.

Exit code 0 when the link is up, 1 when degraded, 2 when down or cut by a local fault. Nothing
is written to the database: this is a look, not a record.
"""

from __future__ import annotations

import argparse

from watchdog.cli.common import STATE_EXIT_CODES, config_from, iso, print_json
from watchdog.config.zone import site_zone
from watchdog.link.classify import Policy, classify
from watchdog.link.tracker import slide_window
from watchdog.probes.cycle import plan_for, run_cycle
from watchdog.probes.gateway import gateway_to_probe
from watchdog.probes.ping import detect_ping_mode
from watchdog.vocabulary import state_label


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    privileged = detect_ping_mode()
    # The one link a config names today; a check per link comes with several uplinks.
    (link,) = config.links
    plan = plan_for(config, link, dns=True, http=True, privileged=privileged,
                    gateway_address=gateway_to_probe(link.gateway))
    cycle = run_cycle(plan)
    policy = Policy.from_config(config)
    window = slide_window((), cycle, policy, include=True)
    verdict = classify(cycle, policy, window=window, dns=cycle.of_kind("dns"),
                       http=cycle.of_kind("http"))
    if args.json:
        print_json({
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
        })
    else:
        width = max((len(r.target) for r in cycle.results), default=4)
        for r in cycle.results:
            rtt = f"{r.rtt_ms:8.1f} ms" if r.rtt_ms is not None else " " * 11
            outcome = "ok  " if r.ok else "FAIL"
            print(f"{r.kind:<8} {r.target:<{width}}  {outcome} {rtt}  {r.address}"
                  + (f"  ({r.error})" if r.error else ""))
        if cycle.gateway_note and cycle.gateway is None:
            print(f"gateway  not probed: {cycle.gateway_note}")
        print(f"\nverdict: {state_label(verdict.state, verdict.outage_kind)}: {verdict.cause}")
    return STATE_EXIT_CODES.get(verdict.state, 2)
