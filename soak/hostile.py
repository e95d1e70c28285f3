"""Hostile peers: servers that never answer, trickle, flood, lie or answer from elsewhere.

In the lab, next to the honest targets: a web server path that never answers (``/hang``), one
that trickles its body a byte a second (``/trickle``) and one its headers (``/trickle-headers``),
and a 1 GB body (``/big?bytes=…``); resolvers answering garbage, truncated (TC, no records)
and from the wrong address (``testbed/servers/dns_server.py``); a ping target that answers
every echo with forgeries only: wrong identifier, wrong sequence, cut short, in bursts
(``testbed/servers/icmp_forger.py``). The lab's quick schedule (pings every second, DNS and
web every 5 s, timeouts 0.5, 1 and 2 s).

1. **Each probe alone** (in the office, the probe code as the daemon runs it): how long each
   hostile target's probe takes against its timeout (plus the probe's own grace and 0.5 s),
   and whether its verdict is right (the 1 GB body is a success read in its first 64 KiB;
   every other hostile peer a failure; a forged echo never counts as an answer).
2. **The daemon** with all of them for ``HOLD`` (short 20 s, long 5 min): cycles on schedule
   (no gap between two cycles' starts beyond the longest timeout's bound and the ping
   interval) and its resident memory flat (the last fifth's median against the first fifth's
   after a warm-up).
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from soak.common import Outputs
from soak.figures import Figure, Size, SuiteResult, at_most, info
from testbed.daemon.driver import LabDaemon
from testbed.lab import Lab
from testbed.lab.config import lab_config_document
from testbed.lab.topology import HTTP_SERVER
from watchdog.store.reader import connect

HOLD = {"short": timedelta(seconds=20), "long": timedelta(minutes=5)}
PROBE_ROUNDS = {"short": 2, "long": 6}
GIGABYTE = 1 << 30
FORGED_TARGET = "203.0.113.9"
# name → (address, mode, where its answers come from)
HOSTILE_RESOLVERS = {"dns-garbage": ("203.0.113.55", "garbage", None),
                     "dns-truncated": ("203.0.113.56", "truncated", None),
                     "dns-wrong-source": ("203.0.113.57", "wrong-source", "203.0.113.58")}
HOSTILE_PATHS = {"web-hang": "/hang", "web-trickle": "/trickle",
                 "web-trickle-headers": "/trickle-headers",
                 "web-gigabyte": f"/big?bytes={GIGABYTE}"}
# The hostile targets whose probe must succeed (the others must fail).
SUCCEEDS = frozenset({"web-gigabyte"})
# Beyond its timeout and the probe's own grace, what a probe may take (a busy machine).
SLACK_S = 0.5
RSS_GROWTH_MB = {"short": 10.0, "long": 5.0}
RSS_WARM_UP = timedelta(seconds=8)
START_TIMEOUT = 60.0

# Run in the office: each hostile target's probe alone, timed; prints JSON.
PROBE_SCRIPT = r"""
import dataclasses, json, sys, time
from watchdog.config import load_config
from watchdog.probes.cycle import plan_for, run_cycle
from watchdog.probes.ping import detect_ping_mode

config = load_config(sys.argv[1])
rounds = int(sys.argv[2])
hostile = set(json.loads(sys.argv[3]))
privileged = detect_ping_mode()
(link,) = config.links
measured = []
for _ in range(rounds):
    for kind, items in (("ping", config.ping), ("dns", config.dns), ("http", config.http)):
        for item in items:
            if item.name not in hostile:
                continue
            alone = dataclasses.replace(
                config, ping=[item] if kind == "ping" else config.ping[:1],
                dns=[item] if kind == "dns" else [], http=[item] if kind == "http" else [])
            (alone_link,) = alone.links
            plan = plan_for(alone, alone_link, dns=kind == "dns", http=kind == "http",
                            privileged=privileged, gateway_address=None)
            began = time.monotonic()
            cycle = run_cycle(plan)
            took = time.monotonic() - began
            result = next(r for r in cycle.results if r.target == item.name)
            measured.append({"target": item.name, "kind": kind, "seconds": round(took, 3),
                             "ok": result.ok, "error": result.error,
                             "received": result.received})
print(json.dumps(measured))
"""


def hostile_config(lab: Lab, work: Path) -> Path:
    """The lab's config plus every hostile target (started in the lab here)."""
    lab.forge_echo_replies(FORGED_TARGET)
    for address, mode, reply_from in HOSTILE_RESOLVERS.values():
        lab.add_target(address)
        if reply_from is not None:
            lab.add_target(reply_from)
        lab.start_dns(address, mode=mode, reply_from=reply_from)
    document = lab_config_document(work / "watchdog.db")
    ping = [*document["ping"], {"name": "ping-forged", "address": FORGED_TARGET}]
    dns = [*document["dns"], *({"name": name, "server": address, "query": "example.com",
                                "record": "A"}
                               for name, (address, _, _) in HOSTILE_RESOLVERS.items())]
    http = [*document["http"], *({"name": name, "url": f"http://{HTTP_SERVER}{path}",
                                  "expect_status": [200]}
                                 for name, path in HOSTILE_PATHS.items())]
    return lab.write_config(work / "watchdog.toml", ping=ping, dns=dns, http=http)


def probe_bounds(daemon_settings: Any) -> dict[str, float]:
    """Per probe kind, how long a probe may take: its timeout, its grace, ``SLACK_S``."""
    from watchdog.probes.cycle import HTTP_GRACE
    from watchdog.probes.dns import DNS_GRACE

    schedule = daemon_settings.schedule
    return {"ping": schedule.ping_timeout.total_seconds() + SLACK_S,
            "dns": schedule.dns_timeout.total_seconds() + DNS_GRACE + SLACK_S,
            "http": schedule.http_timeout.total_seconds() + HTTP_GRACE + SLACK_S}


def cycle_starts(database: Path) -> list[float]:
    """The start of every recorded cycle (seconds), from the gateway's samples."""
    with connect(database) as connection:
        rows = connection.execute(
            "SELECT DISTINCT s.at_ms FROM sample s JOIN target t ON t.id = s.target_id "
            "WHERE t.kind = 'gateway' ORDER BY s.at_ms").fetchall()
    return [row[0] / 1000 for row in rows]


def resident_mb(pid: int) -> float | None:
    """The process's resident set (VmRSS) in MB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(size: Size, work: Path) -> SuiteResult:
    """The hostile-peers suite at ``size`` in a lab of its own."""
    result = SuiteResult("hostile", "Hostile peers: hang, trickle, 1 GB, garbage, forgeries",
                         size)
    outputs = Outputs(work / "outputs")
    names = ["ping-forged", *HOSTILE_RESOLVERS, *HOSTILE_PATHS]
    with Lab() as lab:
        config = hostile_config(lab, work / "run")
        done = lab.run_python("office", PROBE_SCRIPT, str(config), str(PROBE_ROUNDS[size]),
                              json.dumps(names), timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"the probe script failed:\n{done.stderr}")
        probes: list[dict[str, Any]] = json.loads(done.stdout)
        with LabDaemon(lab, config) as daemon:
            bounds = probe_bounds(daemon.settings)
            daemon.start()
            daemon.poll(lambda: daemon.status().heartbeat, timeout=START_TIMEOUT,
                        what="the first cycle")
            began = time.monotonic()
            samples: list[tuple[float, float]] = []
            while (elapsed := time.monotonic() - began) < HOLD[size].total_seconds():
                rss = resident_mb(daemon.pid)
                if rss is not None:
                    samples.append((elapsed, rss))
                time.sleep(1.0)
            state = daemon.status().state
            exit_code = daemon.stop()
            outputs.add(*daemon.logs)
            starts = cycle_starts(daemon.database)
            interval = daemon.settings.schedule.ping_interval.total_seconds()
    figures, details = _figures(size, probes, bounds, starts, interval, samples)
    figures += [
        info("state the daemon held", state),
        at_most("clean stops failed", 0 if exit_code == 0 else 1),
        at_most("tracebacks", outputs.tracebacks()),
        at_most("secrets in outputs", len(outputs.leaks())),
    ]
    result.figures, result.details = figures, details
    return result


def _figures(size: Size, probes: list[dict[str, Any]], bounds: dict[str, float],
             starts: list[float], interval: float,
             samples: list[tuple[float, float]]) -> tuple[list[Figure], dict[str, Any]]:
    late_probes = [p for p in probes if p["seconds"] > bounds[p["kind"]]]
    wrong = [p for p in probes if p["ok"] != (p["target"] in SUCCEEDS)]
    longest: dict[str, float] = {}
    for probe in probes:
        longest[probe["target"]] = max(longest.get(probe["target"], 0.0), probe["seconds"])
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    cycle_bound = max(*bounds.values(), interval) + 1.0
    late_cycles = [gap for gap in gaps if gap > cycle_bound]
    warm = [rss for at, rss in samples if at >= RSS_WARM_UP.total_seconds()]
    fifth = max(1, len(warm) // 5)
    growth = (statistics.median(warm[-fifth:]) - statistics.median(warm[:fifth])) \
        if warm else 0.0
    figures = [
        info("hostile probes run alone", len(probes)),
        at_most("  past their timeout", len(late_probes)),
        at_most("  with a wrong verdict", len(wrong)),
        info("  longest, gigabyte body", longest.get("web-gigabyte", 0.0), unit="s"),
        info("  longest, never-answering web server", longest.get("web-hang", 0.0), unit="s"),
        info("  longest, forged echo replies", longest.get("ping-forged", 0.0), unit="s"),
        info("daemon cycles", len(starts)),
        at_most("  late (gap beyond the longest timeout)", len(late_cycles)),
        info("  longest gap between cycles", round(max(gaps, default=0.0), 2), unit="s"),
        info("resident memory after warm-up", round(warm[0], 1) if warm else 0.0, unit="MB"),
        at_most("resident memory growth", round(growth, 1), RSS_GROWTH_MB[size], unit="MB"),
    ]
    details = {
        "bounds_s": bounds, "cycle_bound_s": cycle_bound,
        "longest_s": longest,
        "late_probes": late_probes, "wrong_verdicts": wrong,
        "late_cycle_gaps_s": [round(gap, 2) for gap in late_cycles],
        "rss_mb": [(round(at), round(rss, 1))
                   for at, rss in samples[:: max(1, len(samples) // 60)]],
    }
    return figures, details


if __name__ == "__main__":
    from soak.__main__ import main

    sys.exit(main(["--only", "hostile", *sys.argv[1:]]))
