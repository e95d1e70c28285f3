"""plan_for() and run_cycle(): one cycle probes everything at once, within about one timeout."""

from __future__ import annotations

import dataclasses
import ipaddress
import resource
import threading
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest

from testbed.servers.dns_server import DnsServer
from testbed.servers.http_server import HttpServer
from watchdog.config.schema import (
    Config,
    DnsCheck,
    GatewayConfig,
    HttpCheck,
    PingTarget,
    ScheduleConfig,
)
from watchdog.probes import cycle
from watchdog.probes.cycle import CyclePlan, plan_for, run_cycle
from watchdog.probes.dns import query
from watchdog.probes.http import fetch
from watchdog.probes.ping import ping
from watchdog.probes.results import CycleResult, ProbeResult

from .netns import ROUTER_ADDRESS, SILENT_ADDRESS, SILENT_NETWORK, IsolatedNetwork

TIMEOUT = 0.3
# What a cycle may take beyond its timeouts on a busy shared machine, where a bound must tell
# a cycle that waits for one timeout from one that waits for several. That concurrency itself
# is proved by counting the probes in flight at once (InFlight), not by the clock.
CYCLE_SLACK = 0.8


def plan(
    pings: list[PingTarget],
    *,
    gateway: str | None = None,
    dns: tuple[DnsCheck, ...] = (),
    http: tuple[HttpCheck, ...] = (),
    privileged: bool = False,
    pings_per_target: int = 2,
) -> CyclePlan:
    return CyclePlan(
        pings=tuple(pings),
        gateway=gateway,
        gateway_note=None if gateway else "no default route",
        dns=dns,
        http=http,
        ping_timeout=TIMEOUT,
        pings_per_target=pings_per_target,
        dns_timeout=TIMEOUT,
        http_timeout=TIMEOUT,
        privileged=privileged,
    )


def loopback_targets(count: int) -> list[PingTarget]:
    """Distinct loopback addresses: every 127/8 address answers on lo."""
    return [PingTarget(f"lo-{index}", f"127.0.{index // 250}.{index % 250 + 1}")
            for index in range(count)]


def silent_targets(count: int) -> list[PingTarget]:
    """Hosts in the router's SILENT_NETWORK (``add_router`` first): their pings time out."""
    hosts = ipaddress.ip_network(SILENT_NETWORK).hosts()
    return [PingTarget(f"silent-{index}", str(next(hosts))) for index in range(count)]


def timed_cycle(the_plan: CyclePlan,
                runner: Callable[..., Any] | None = None) -> tuple[CycleResult, float]:
    started = time.monotonic()
    result = runner(run_cycle, the_plan) if runner else run_cycle(the_plan)
    return result, time.monotonic() - started


def by_target(result: CycleResult) -> dict[str, ProbeResult]:
    return {probe.target: probe for probe in result.results}


class InFlight:
    """Which probes of a cycle run at the same time, counted rather than timed.

    ``install`` wraps the cycle's ping, DNS query and web fetch (these run in threads) so that
    each notes when it starts and ends; ``together`` keeps, for every start, the names of the
    probes running at that moment (the starting one included). Probes run one after another
    would never be seen together.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[str] = []
        self.together: list[frozenset[str]] = []

    @property
    def peak(self) -> int:
        """The most probes seen running at once."""
        return max((len(names) for names in self.together), default=0)

    def seen_together(self, names: set[str]) -> bool:
        """True when every probe in ``names`` was running at one moment."""
        return any(names <= running for running in self.together)

    def _start(self, name: str) -> None:
        with self._lock:
            self._running.append(name)
            self.together.append(frozenset(self._running))

    def _end(self, name: str) -> None:
        with self._lock:
            self._running.remove(name)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> InFlight:
        async def counted_ping(kind: str, name: str, *args: Any, **kwargs: Any) -> ProbeResult:
            self._start(name)
            try:
                return await ping(kind, name, *args, **kwargs)  # type: ignore[arg-type]
            finally:
                self._end(name)

        async def counted_query(check: DnsCheck, **kwargs: Any) -> ProbeResult:
            self._start(check.name)
            try:
                return await query(check, **kwargs)
            finally:
                self._end(check.name)

        def counted_fetch(check: HttpCheck, **kwargs: Any) -> ProbeResult:
            self._start(check.name)
            try:
                return fetch(check, **kwargs)
            finally:
                self._end(check.name)

        monkeypatch.setattr("watchdog.probes.cycle.ping", counted_ping)
        monkeypatch.setattr("watchdog.probes.cycle.query", counted_query)
        monkeypatch.setattr("watchdog.probes.cycle.fetch", counted_fetch)
        return self


# plan_for


def config(**overrides: Any) -> Config:
    base: dict[str, Any] = {
        "ping": [PingTarget("a", "192.0.2.1"), PingTarget("b", "198.51.100.1")],
        "dns": [DnsCheck("resolver", "192.0.2.53")],
        "http": [HttpCheck("site", "https://example.com/")],
        "schedule": ScheduleConfig(ping_timeout=timedelta(milliseconds=800),
                                   dns_timeout=timedelta(seconds=2),
                                   http_timeout=timedelta(seconds=5), pings_per_target=3),
    }
    return Config(**(base | overrides))


def plan_of(config: Config, **options: Any) -> CyclePlan:
    """``plan_for`` the config's one link."""
    (link,) = config.links
    return plan_for(config, link, **options)


def test_it_plans_every_target_with_the_configured_timeouts_in_seconds() -> None:
    built = plan_of(config(), dns=True, http=True, privileged=True, gateway_address="10.0.0.1")

    assert [target.name for target in built.pings] == ["a", "b"]
    assert [check.name for check in built.dns] == ["resolver"]
    assert [check.name for check in built.http] == ["site"]
    assert (built.ping_timeout, built.dns_timeout, built.http_timeout) == (0.8, 2.0, 5.0)
    assert (built.pings_per_target, built.privileged) == (3, True)
    assert (built.gateway, built.gateway_note) == ("10.0.0.1", None)


def test_it_leaves_out_checks_that_are_not_due() -> None:
    built = plan_of(config(), dns=False, http=False, privileged=False, gateway_address=None)

    assert (built.dns, built.http) == ((), ())


def test_it_prefers_the_configured_gateway_to_the_detected_one() -> None:
    built = plan_of(config(gateway=GatewayConfig(address="10.1.1.1")), dns=False, http=False,
                    privileged=False, gateway_address="10.0.0.1")

    assert built.gateway == "10.1.1.1"


def test_it_notes_why_there_is_no_gateway() -> None:
    no_route = plan_of(config(), dns=False, http=False, privileged=False, gateway_address=None)
    disabled = plan_of(config(gateway=GatewayConfig(enabled=False, address="10.1.1.1")),
                       dns=False, http=False, privileged=False, gateway_address="10.0.0.1")

    assert (no_route.gateway, no_route.gateway_note) == (None, "no default route")
    assert (disabled.gateway, disabled.gateway_note) == (None, "gateway probing disabled")


# run_cycle on the host's loopback


def test_it_runs_every_kind_of_probe_and_reports_them_in_order(
    host_ping_mode: bool, dns_server: DnsServer, http_server: HttpServer
) -> None:
    the_plan = plan(
        loopback_targets(3),
        gateway="127.0.0.1",
        dns=(DnsCheck("resolver", dns_server.host, port=dns_server.port),),
        http=(HttpCheck("site", http_server.url("/ok")),),
        privileged=host_ping_mode,
    )

    result = run_cycle(the_plan)

    assert [(probe.kind, probe.target) for probe in result.results] == [
        ("gateway", "gateway"), ("ping", "lo-0"), ("ping", "lo-1"), ("ping", "lo-2"),
        ("dns", "resolver"), ("http", "site"),
    ]
    assert all(probe.ok for probe in result.results), result.results
    assert result.kinds == {"gateway", "ping", "dns", "http"}
    assert result.gateway is not None and result.gateway.address == "127.0.0.1"
    assert result.gateway_note is None
    assert result.started_at.tzinfo is UTC
    assert result.started_at <= result.results[0].at <= result.finished_at


def test_it_names_only_the_kinds_it_ran(host_ping_mode: bool) -> None:
    result = run_cycle(plan(loopback_targets(2), privileged=host_ping_mode))

    assert result.kinds == {"ping"}
    assert result.gateway is None and result.gateway_note == "no default route"


@pytest.mark.usefixtures("raw_sockets")
def test_it_keeps_concurrent_raw_pings_apart(
    isolated_network: IsolatedNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw sockets see every reply in their namespace: while 100 raw pings wait for hosts that
    never answer, 100 others get their replies, and ids keep each reply with its own probe."""
    in_flight = InFlight().install(monkeypatch)
    isolated_network.add_router()
    silent = silent_targets(100)

    result = isolated_network.call(
        run_cycle, plan([*silent, *loopback_targets(100)], privileged=True))

    received = {probe.target: probe.received for probe in result.results}
    assert [received[target.name] for target in silent] == [0] * 100
    assert sum(received.values()) == 200  # 2 replies to each loopback target, none lost
    assert in_flight.seen_together({target.name for target in silent})
    assert in_flight.peak > 100  # answered pings ran while the silent ones waited


# run_cycle in a private namespace


def test_it_pings_500_targets_at_once_without_false_loss(
    isolated_network: IsolatedNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """250 targets that never answer keep their sockets open while 250 others and the gateway
    answer: none of those is lost, and all 500 are out at once (counted, not timed)."""
    in_flight = InFlight().install(monkeypatch)
    isolated_network.add_router()
    silent = silent_targets(250)

    result = isolated_network.call(
        run_cycle, plan([*silent, *loopback_targets(250)], gateway="127.0.0.1"))

    quiet = {target.name for target in silent}
    answering = [probe for probe in result.results if probe.target not in quiet]
    lost = [probe.target for probe in answering if probe.received != probe.sent]
    assert len(result.results) == 501 and len(answering) == 251 and lost == []
    assert in_flight.seen_together(quiet)
    assert in_flight.peak > 250
    # Round trips come from kernel receive timestamps, not from when the busy event loop got
    # round to each socket (which would add tens of milliseconds here).
    assert max(probe.rtt_ms or 0 for probe in result.results) < 10


def test_it_finishes_in_about_one_timeout_however_many_probes_fail(
    isolated_network: IsolatedNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silent pings, a silent resolver, hanging and trickling web servers: all at once."""
    in_flight = InFlight().install(monkeypatch)
    isolated_network.add_router()
    dns_ok = isolated_network.call(DnsServer, host="127.0.0.53").start()
    dns_silent = isolated_network.call(DnsServer, host="127.0.0.54", mode="silent").start()
    web = isolated_network.call(HttpServer, host="127.0.0.80").start()
    try:
        the_plan = plan(
            [PingTarget("router", ROUTER_ADDRESS), PingTarget("lost", SILENT_ADDRESS),
             *loopback_targets(5)],
            gateway=ROUTER_ADDRESS,
            dns=(DnsCheck("good", dns_ok.host, port=dns_ok.port),
                 DnsCheck("mute", dns_silent.host, port=dns_silent.port)),
            http=(HttpCheck("page", web.url("/ok")), HttpCheck("stuck", web.url("/hang")),
                  HttpCheck("slow", web.url("/trickle?interval=0.05"))),
        )

        result, elapsed = timed_cycle(the_plan, isolated_network.call)
    finally:
        for server in (dns_ok, dns_silent, web):
            server.stop()

    probes = by_target(result)
    failed = {name: probe.error for name, probe in probes.items() if not probe.ok}
    assert failed == {"lost": "timeout", "mute": "timeout", "stuck": "timeout",
                      "slow": "timeout"}
    assert probes["gateway"].ok and probes["router"].ok
    # The four that waited for their timeouts waited together, so the cycle lasts one timeout.
    assert in_flight.seen_together(set(failed))
    assert elapsed < TIMEOUT + CYCLE_SLACK


# Limits and robustness


def test_it_keeps_open_sockets_under_the_limit(isolated_network: IsolatedNetwork,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """60 silent targets, 20 sockets at most: three waves of one ping timeout each."""
    monkeypatch.setattr(cycle, "PING_CONCURRENCY", 20)
    monkeypatch.setattr(cycle, "MIN_PING_CONCURRENCY", 1)
    in_flight = peak = 0

    async def counting_ping(*args: Any, **kwargs: Any) -> ProbeResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await ping(*args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr("watchdog.probes.cycle.ping", counting_ping)
    isolated_network.add_router()
    silent = [PingTarget(f"silent-{index}", f"10.77.0.{100 + index}") for index in range(60)]
    the_plan = plan(silent, pings_per_target=1)
    the_plan = dataclasses.replace(the_plan, ping_timeout=0.1)

    result, elapsed = timed_cycle(the_plan, isolated_network.call)

    assert peak == 20
    assert [probe.error for probe in result.results] == ["timeout"] * 60
    assert 3 * 0.1 <= elapsed < 3 * 0.1 + CYCLE_SLACK


def test_it_limits_pings_to_what_the_open_files_limit_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 4096))
    systemd_default = cycle.ping_concurrency_limit()
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (256, 4096))
    tight = cycle.ping_concurrency_limit()

    assert systemd_default == cycle.PING_CONCURRENCY  # 500 targets still fit in one wave
    assert tight == 256 - cycle.FD_RESERVE


def test_it_turns_a_probe_that_raises_into_a_failed_result(
    host_ping_mode: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_query(check: DnsCheck, *, timeout: float, **_: Any) -> ProbeResult:
        raise RuntimeError("bug")

    monkeypatch.setattr("watchdog.probes.cycle.query", broken_query)

    result = run_cycle(plan(loopback_targets(1), dns=(DnsCheck("resolver", "127.0.0.53"),),
                            privileged=host_ping_mode))

    dns = by_target(result)["resolver"]
    assert not dns.ok and dns.error == "probe failed: RuntimeError: bug"
    assert by_target(result)["lo-0"].ok


def test_it_does_not_wait_for_an_http_thread_that_is_stuck(
    host_ping_mode: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def stuck_fetch(check: HttpCheck, *, timeout: float, **_: Any) -> ProbeResult:
        release.wait(10)  # a fetch that ignores its own deadline
        raise AssertionError("never reported")

    monkeypatch.setattr("watchdog.probes.cycle.fetch", stuck_fetch)
    monkeypatch.setattr(cycle, "HTTP_GRACE", 0.1)
    try:
        result, elapsed = timed_cycle(plan(loopback_targets(1),
                                           http=(HttpCheck("site", "http://127.0.0.1:9/"),),
                                           privileged=host_ping_mode))
    finally:
        release.set()

    assert by_target(result)["site"].error == "timeout"
    assert elapsed < TIMEOUT + 0.1 + 0.5


def test_it_does_not_wait_for_checks_once_the_pings_say_the_internet_is_gone(
    host_ping_mode: bool,
) -> None:
    """The daemon abandons DNS and web checks when the ping quorum failed: they could tell
    nothing, and waiting for their timeouts would delay the outage's confirmation."""
    web = HttpServer(host="127.0.0.80").start()
    try:
        the_plan = dataclasses.replace(
            plan(loopback_targets(2), http=(HttpCheck("stuck", web.url("/hang")),),
                 privileged=host_ping_mode),
            http_timeout=3.0,
            abandon_checks_if=lambda results: [r.kind for r in results] == ["ping", "ping"],
        )
        result, elapsed = timed_cycle(the_plan)
    finally:
        web.stop()
    assert elapsed < 1.0
    assert result.kinds == {"ping"}
    assert [probe.kind for probe in result.results] == ["ping", "ping"]
