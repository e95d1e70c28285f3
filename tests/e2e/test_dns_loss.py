"""DNS under heavy loss, end to end: retransmission keeps a lossy line from looking like a DNS
outage, and a resolver that is really gone is still confirmed as one in time.

30 % of the packets through the router are dropped each way (a bad line: a round trip fails
with p = 0.51), with one resolver configured. A check that sent one query failed every other
time, and three failing checks in a row (the tracker's confirmation) made a false DNS outage in
about one two-minute run out of three. A check now sends its query ``DNS_ATTEMPTS`` times
within its timeout, as a stub resolver retransmits: it fails with 0.51⁴ ≈ 7 %, three in a row
with ≈ 3 × 10⁻⁴ per check, so over the two minutes at the shipped DNS cadence (a check every
30 s, 2 s timeout) a false outage is left to about one run in a thousand.

Then, the loss still on, the one resolver is stopped: the outage of kind ``dns`` must still be
confirmed within the detection time the schedule promises (the next check, then
``confirm_down`` failing checks a retry interval apart). This takes about two and a half
minutes: the two-minute hold is the claim itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from testbed.daemon.driver import LabDaemon
from testbed.lab import Lab
from testbed.lab.topology import DNS_PORT, DNS_SERVERS
from watchdog.probes.dns import DNS_ATTEMPTS
from watchdog.store.invariants import timeline_problems

LOSS_PERCENT = 30.0
HOLD = timedelta(minutes=2)
DEADLINE = 30.0
# One resolver: nothing else answers for DNS when its queries are lost.
ONE_RESOLVER = [{"name": "resolver", "server": DNS_SERVERS[0], "port": DNS_PORT,
                 "query": "example.com", "record": "A"}]
# The shipped DNS cadence, as in the runs that found the false outages.
SHIPPED_DNS = {"check_interval": "30s", "dns_timeout": "2s"}
# The lab's quick schedule for the real outage (see lab_config_document): a check every 5 s,
# 1 s timeout, retries every 500 ms, three cycles to confirm.
CHECK_INTERVAL, DNS_TIMEOUT, RETRY = 5.0, 1.0, 0.5
CONFIRM = 3
# The detection time: the next check, then CONFIRM failing ones; plus a cycle's slack.
DETECTION = timedelta(seconds=CHECK_INTERVAL + CONFIRM * (DNS_TIMEOUT + RETRY) + 2.0)


@pytest.fixture
def daemons(lab: Lab, tmp_path: Path) -> Iterator[list[LabDaemon]]:
    """The daemons a test starts, stopped at its end whatever happens."""
    started: list[LabDaemon] = []
    yield started
    for daemon in started:
        daemon.close()


@pytest.mark.timeout(300)  # the two-minute hold, two daemons' start-ups, the detection
def test_heavy_loss_is_no_dns_outage_but_a_stopped_resolver_is(
    lab: Lab, tmp_path: Path, daemons: list[LabDaemon]
) -> None:
    assert DNS_ATTEMPTS >= 3
    lossy = LabDaemon(lab, lab.write_config(tmp_path / "lossy" / "watchdog.toml",
                                            dns=ONE_RESOLVER, schedule=SHIPPED_DNS))
    daemons.append(lossy.start())
    lossy.wait_for_state("up", timeout=DEADLINE)

    began = lab.packet_loss(LOSS_PERCENT, "both")
    lossy.wait_for_state("degraded", timeout=DEADLINE)

    def any_outage() -> str | None:
        outages = lossy.outages()
        return f"30 % loss each way was recorded as an outage: {outages}" if outages else None

    lossy.hold(began + HOLD, unwanted=any_outage)
    checks = [sample for sample in lossy.status().targets if sample.kind == "dns"]
    assert checks and checks[0].last_at is not None and checks[0].last_at > began
    assert lossy.status().state == "degraded", lossy.describe()
    assert lossy.stop() == 0

    # The loss stays on; a daemon at the lab's quicker schedule; then the resolver goes.
    quick = LabDaemon(lab, lab.write_config(tmp_path / "quick" / "watchdog.toml",
                                            dns=ONE_RESOLVER))
    daemons.append(quick.start())
    quick.wait_for_state("degraded", timeout=DEADLINE)
    stopped = lab.stop_dns(DNS_SERVERS[0])
    seen = quick.wait_for_outage(timeout=DEADLINE)
    outage = seen.value
    assert outage.kind == "dns", quick.describe()
    assert seen.at - stopped <= DETECTION, (
        f"the DNS outage was confirmed {(seen.at - stopped).total_seconds():.1f} s after the "
        f"resolver stopped; the schedule promises {DETECTION.total_seconds():.1f} s")
    # Its start is the first failing check's: after the stop, within a check interval.
    assert stopped - timedelta(seconds=0.2) <= outage.started_at <= stopped + timedelta(
        seconds=CHECK_INTERVAL + DNS_TIMEOUT), quick.describe()
    lab.clear_packet_loss()
    for daemon in (lossy, quick):
        assert timeline_problems(daemon.database) == [], daemon.describe()
