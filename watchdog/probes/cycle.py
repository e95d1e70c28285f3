"""One probe cycle: every ping, the gateway, and the due DNS, HTTP and path checks, all at once.

Everything runs concurrently in one event loop, so a cycle lasts about its longest timeout
whatever the number of targets. HTTP checks (requests is blocking) run in threads of a pool
owned by the cycle; each is awaited with a deadline, so a stuck thread can never stall a cycle.
"""

from __future__ import annotations

import asyncio
import functools
import resource
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from watchdog.binding import Binding
from watchdog.clock import utcnow
from watchdog.config.schema import (
    Config,
    DnsCheck,
    HttpCheck,
    LinkConfig,
    PathCheckConfig,
    PingTarget,
)
from watchdog.probes.dns import query
from watchdog.probes.http import fetch
from watchdog.probes.path import HOP_NAME, PUBLIC_ADDRESS, hop, public_address
from watchdog.probes.ping import ping
from watchdog.probes.results import CycleResult, ProbeResult
from watchdog.vocabulary import ProbeKind

# At most this many pings (one ICMP socket each) are in flight at once. 500 targets plus the
# gateway fit in one wave, so even a cycle where nothing answers lasts one ping timeout.
PING_CONCURRENCY = 512
# Never fewer than this, however low the open-files limit.
MIN_PING_CONCURRENCY = 16
# File descriptors left for everything else (database, logs, DNS and HTTP sockets) when the
# open-files limit is what bounds the pings; systemd's default soft limit is 1024.
FD_RESERVE = 128
# How long after its own timeout an HTTP check's thread is given up on.
HTTP_GRACE = 0.5
# HTTP checks beyond this many wait for a free thread (and may then time out in the wait).
HTTP_MAX_THREADS = 64

GATEWAY_NAME = "gateway"
NOTE_NO_ROUTE = "no default route"
NOTE_DISABLED = "gateway probing disabled"


@dataclass(frozen=True)
class CyclePlan:
    """What to probe in one cycle, and with which timeouts (seconds) and ping mode.

    ``gateway`` is the gateway's address, or None with ``gateway_note`` saying why.
    Empty ``dns`` or ``http`` means those checks are not due this cycle, and ``path`` None
    that the link's path check is not (or that it has none); ``hop_target`` is where its hop
    check traces to. ``abandon_checks_if`` is asked with the ping results (gateway included)
    as soon as they are in: when it says yes (the internet is unreachable, so DNS, web and
    path checks can tell nothing), the cycle does not wait for those checks and reports them
    as not run. ``binding``: how every probe leaves (the link's interface or source address;
    None: the default route).
    """

    pings: tuple[PingTarget, ...]
    gateway: str | None
    gateway_note: str | None
    dns: tuple[DnsCheck, ...]
    http: tuple[HttpCheck, ...]
    ping_timeout: float
    pings_per_target: int
    dns_timeout: float
    http_timeout: float
    privileged: bool
    abandon_checks_if: Callable[[Sequence[ProbeResult]], bool] | None = None
    binding: Binding | None = None
    path: PathCheckConfig | None = None
    hop_target: str = ""


def plan_for(
    config: Config,
    link: LinkConfig,
    *,
    dns: bool,
    http: bool,
    privileged: bool,
    gateway_address: str | None,
    abandon_checks_if: Callable[[Sequence[ProbeResult]], bool] | None = None,
    path: bool = False,
) -> CyclePlan:
    """Build the plan of one cycle of ``link`` (one of ``config.links``) from the config.

    ``dns`` / ``http`` / ``path``: whether those checks are due (``path``: the link's path
    check, when it has one). ``privileged``: from
    ``detect_ping_mode``. ``gateway_address``: the auto-detected gateway (``default_gateway``),
    used when the config names none. ``abandon_checks_if``: see ``CyclePlan``.
    """
    if not link.gateway.enabled:
        gateway, note = None, NOTE_DISABLED
    elif link.gateway.address or gateway_address:
        gateway, note = link.gateway.address or gateway_address, None
    else:
        gateway, note = None, NOTE_NO_ROUTE
    schedule = config.schedule
    return CyclePlan(
        pings=tuple(config.ping),
        gateway=gateway,
        gateway_note=note,
        dns=tuple(config.dns) if dns else (),
        http=tuple(config.http) if http else (),
        ping_timeout=schedule.ping_timeout.total_seconds(),
        pings_per_target=schedule.pings_per_target,
        dns_timeout=schedule.dns_timeout.total_seconds(),
        http_timeout=schedule.http_timeout.total_seconds(),
        privileged=privileged,
        abandon_checks_if=abandon_checks_if,
        binding=Binding.of(link),
        path=link.path if path else None,
        hop_target=(link.path.hop_target if link.path else "") or (
            config.ping[0].address if config.ping else ""),
    )


def run_cycle(plan: CyclePlan) -> CycleResult:
    """Run every probe of ``plan`` concurrently and return what they measured.

    Results come in a fixed order: the gateway (kind "gateway", target "gateway"), the pings,
    the DNS checks, the HTTP checks. Lasts about the longest timeout in the plan (plus
    ``HTTP_GRACE`` at worst). Never raises for a probe's failure. Runs its own event loop, so
    call it from a thread without one (the scheduler's worker thread, the CLI).
    """
    started_at = utcnow()
    results = asyncio.run(_probe_all(plan, started_at))
    kinds: set[ProbeKind] = {"ping"}
    if plan.gateway:
        kinds.add("gateway")
    ran = {result.kind for result in results}
    if plan.dns and "dns" in ran:
        kinds.add("dns")
    if plan.http and "http" in ran:
        kinds.add("http")
    if plan.path is not None and "path" in ran:
        kinds.add("path")
    return CycleResult(
        started_at=started_at,
        finished_at=utcnow(),
        kinds=frozenset(kinds),
        results=tuple(results),
        gateway_note=None if plan.gateway else plan.gateway_note,
    )


def ping_concurrency_limit() -> int:
    """How many pings may be in flight at once, within the process's open-files limit."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return PING_CONCURRENCY
    if soft == resource.RLIM_INFINITY:
        return PING_CONCURRENCY
    return max(MIN_PING_CONCURRENCY, min(PING_CONCURRENCY, soft - FD_RESERVE))


async def _probe_all(plan: CyclePlan, started_at: datetime) -> list[ProbeResult]:
    # Created inside the loop: an asyncio semaphore belongs to the loop that first uses it.
    sockets = asyncio.Semaphore(ping_concurrency_limit())

    async def limited_ping(kind: ProbeKind, name: str, address: str) -> ProbeResult:
        async with sockets:
            return await ping(
                kind,
                name,
                address,
                count=plan.pings_per_target,
                timeout=plan.ping_timeout,
                privileged=plan.privileged,
                binding=plan.binding,
            )

    probes: list[tuple[ProbeKind, str, str]] = []
    jobs: list[Awaitable[ProbeResult]] = []
    if plan.gateway:
        probes.append(("gateway", GATEWAY_NAME, plan.gateway))
        jobs.append(limited_ping("gateway", GATEWAY_NAME, plan.gateway))
    for target in plan.pings:
        probes.append(("ping", target.name, target.address))
        jobs.append(limited_ping("ping", target.name, target.address))
    for dns_check in plan.dns:
        probes.append(("dns", dns_check.name, dns_check.server))
        jobs.append(query(dns_check, timeout=plan.dns_timeout, binding=plan.binding))

    # The cycle's own pool, not the loop's default executor: asyncio.run() waits for the
    # default executor's threads on exit, so one stuck request would stall the cycle; and a
    # thread stuck in an earlier cycle must not take a slot from this one.
    executor = None
    echo = plan.path is not None and bool(plan.path.echo_url)
    if plan.http or echo:
        executor = ThreadPoolExecutor(
            max_workers=min(len(plan.http) + echo, HTTP_MAX_THREADS),
            thread_name_prefix="watchdog-http",
        )
        for http_check in plan.http:
            probes.append(("http", http_check.name, http_check.url))
            jobs.append(_in_thread(
                executor, functools.partial(fetch, http_check, timeout=plan.http_timeout,
                                            binding=plan.binding),
                plan.http_timeout, ("http", http_check.name, http_check.url)))
    if plan.path is not None and executor is not None and plan.path.echo_url:
        probes.append(("path", PUBLIC_ADDRESS, plan.path.echo_url))
        jobs.append(_in_thread(
            executor, functools.partial(public_address, plan.path, timeout=plan.http_timeout,
                                        binding=plan.binding),
            plan.http_timeout, ("path", PUBLIC_ADDRESS, plan.path.echo_url)))
    if plan.path is not None and plan.path.expect_hop and plan.hop_target:
        probes.append(("path", HOP_NAME.format(hop=plan.path.hop), plan.hop_target))
        jobs.append(hop(plan.path, plan.hop_target, timeout=plan.ping_timeout,
                        privileged=plan.privileged, binding=plan.binding))
    pinged = sum(1 for kind, _, _ in probes if kind in ("gateway", "ping"))
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        ping_outcomes = await asyncio.gather(*tasks[:pinged], return_exceptions=True)
        ping_results = [
            outcome if isinstance(outcome, ProbeResult) else _crashed(probe, started_at, outcome)
            for probe, outcome in zip(probes[:pinged], ping_outcomes, strict=True)
        ]
        if plan.abandon_checks_if is not None and tasks[pinged:] and (
            plan.abandon_checks_if(ping_results)
        ):
            for task in tasks[pinged:]:
                task.cancel()
            await asyncio.gather(*tasks[pinged:], return_exceptions=True)
            return ping_results
        check_outcomes = await asyncio.gather(*tasks[pinged:], return_exceptions=True)
    finally:
        if executor is not None:
            # Do not wait: a thread still running ends on its own deadline.
            executor.shutdown(wait=False, cancel_futures=True)
    return ping_results + [
        outcome if isinstance(outcome, ProbeResult) else _crashed(probe, started_at, outcome)
        for probe, outcome in zip(probes[pinged:], check_outcomes, strict=True)
    ]


async def _in_thread(
    executor: ThreadPoolExecutor, call: Callable[[], ProbeResult], timeout: float,
    probe: tuple[ProbeKind, str, str],
) -> ProbeResult:
    """Run the blocking probe ``call`` (a web or echo check) in the cycle's pool; a thread
    still busy ``HTTP_GRACE`` after its own ``timeout`` is a timeout of ``probe``."""
    at = utcnow()
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(executor, call),
                                      timeout + HTTP_GRACE)
    except TimeoutError:
        kind, name, address = probe
        return ProbeResult(kind=kind, target=name, address=address, ok=False, at=at,
                           error="timeout")


def _crashed(
    probe: tuple[ProbeKind, str, str], at: datetime, failure: BaseException
) -> ProbeResult:
    """A failed result for a probe that raised (a bug: probes report, they do not raise)."""
    kind, name, address = probe
    reason = f"probe failed: {type(failure).__name__}: {failure}"[:120]
    return ProbeResult(kind=kind, target=name, address=address, ok=False, at=at, error=reason)
