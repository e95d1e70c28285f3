"""What to run: the parts (each a measurement with its rows), selecting them (``--only``),
and the time budget that groups them into lanes side by side and parts alone (``--quick``
gives the smoke run's estimates and budget)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.figures import minutes

BUDGET_S = 15 * 60.0
QUICK_BUDGET_S = 4 * 60.0
# Start-up, teardown and the parent's own work, on top of the parts' estimates.
OVERHEAD_S = 20.0


@dataclass(frozen=True, slots=True)
class Part:
    """One measurement: its lane and phase in the plan, its time estimates, its rows."""

    name: str
    title: str
    phase: int  # 1: side by side with the other lanes; 2: alone
    lane: str
    full_s: float
    quick_s: float
    rows: tuple[str, ...]
    needs_root: bool = True
    nice: int = 0

    def estimate(self, quick: bool) -> float:
        return self.quick_s if quick else self.full_s


PARTS: tuple[Part, ...] = (
    Part("false_outages.loss", "false outages, 30 % loss", 1, "loss", 615, 80,
         ("false_outages.loss",)),
    Part("false_outages.dead_target", "false outages, dead ping target", 1, "dead_target",
         615, 80, ("false_outages.dead_target",)),
    Part("false_outages.dead_resolver", "false outages, dead resolver", 1, "dead_resolver",
         615, 80, ("false_outages.dead_resolver",)),
    Part("resources", "daemon memory and CPU", 1, "resources", 310, 70,
         ("resources.memory", "resources.cpu")),
    Part("detection", "detection cuts", 1, "resources", 200, 35,
         ("detection.down", "detection.errors")),
    Part("histories", "history databases", 1, "histories", 240, 45, ("histories.size",),
         needs_root=False, nice=19),
    Part("alerts.latency", "alert latencies", 1, "histories", 260, 35,
         ("alerts.outage_started", "alerts.recovered")),
    Part("alerts.kills", "SIGKILLs", 1, "kills", 480, 90, ("alerts.kills",)),
    Part("uplinks", "fibre cuts over a 4G uplink and behind a failover router", 1, "uplinks",
         420, 90, ("uplinks.backup_ticket", "uplinks.failover_down")),
    Part("status", "status and report wall time", 2, "alone", 50, 12,
         ("status.status", "status.report", "status.html"), needs_root=False),
    Part("targets", "targets per cycle", 2, "alone", 20, 5,
         ("targets.datagram", "targets.raw")),
    # The daemon's memory with [web] on and off: two lab runs, beside the SIGKILLs.
    Part("web.memory", "daemon memory with [web] on and off", 1, "kills", 180, 60,
         ("web.memory",)),
    Part("web.response", "status page and /metrics response time", 2, "alone", 40, 15,
         ("web.response",), needs_root=False),
)
PART_BY_NAME = {part.name: part for part in PARTS}


def select(only: str | None, parts: Sequence[Part] = PARTS) -> list[Part]:
    """The parts named in ``only`` (comma-separated; a prefix before a dot selects all its
    parts: ``alerts`` is alerts.latency and alerts.kills), with ``histories`` added for
    ``status`` and ``web.response``; all parts when ``only`` is None. ValueError names
    unknown ones."""
    if only is None:
        return list(parts)
    names = [name.strip() for name in only.split(",") if name.strip()]
    chosen: set[str] = set()
    unknown = []
    for name in names:
        matched = [part.name for part in parts
                   if part.name == name or part.name.startswith(name + ".")]
        if not matched:
            unknown.append(name)
        chosen.update(matched)
    if unknown or not names:
        raise ValueError(f"unknown part(s) {', '.join(unknown) or '(none given)'}; choose "
                         f"among {', '.join(part.name for part in parts)}")
    if "status" in chosen or "web.response" in chosen:
        chosen.add("histories")
    return [part for part in parts if part.name in chosen]


@dataclass(frozen=True, slots=True)
class Lane:
    """Parts run one after another in phase 1, side by side with the other lanes."""

    name: str
    parts: tuple[str, ...]
    estimate_s: float


@dataclass(frozen=True, slots=True)
class Plan:
    """Phase 1 (lanes side by side), then phase 2 (parts alone, one after another)."""

    lanes: tuple[Lane, ...]
    alone: tuple[str, ...]
    phase1_s: float
    phase2_s: float
    total_s: float
    budget_s: float

    @property
    def fits(self) -> bool:
        return self.total_s <= self.budget_s


def plan_budget(parts: Sequence[Part], *, quick: bool, budget_s: float | None = None,
                overhead_s: float = OVERHEAD_S) -> Plan:
    """Group ``parts`` into lanes and phases and estimate the whole run."""
    lanes: dict[str, list[Part]] = {}
    alone: list[Part] = []
    for part in parts:
        if part.phase == 1:
            lanes.setdefault(part.lane, []).append(part)
        else:
            alone.append(part)
    built = tuple(Lane(name, tuple(p.name for p in members),
                       sum(p.estimate(quick) for p in members))
                  for name, members in lanes.items())
    phase1 = max((lane.estimate_s for lane in built), default=0.0)
    phase2 = sum(part.estimate(quick) for part in alone)
    return Plan(built, tuple(part.name for part in alone), phase1, phase2,
                phase1 + phase2 + overhead_s,
                budget_s if budget_s is not None else (QUICK_BUDGET_S if quick else BUDGET_S))


def format_plan(plan: Plan) -> str:
    lines = [f"plan: {minutes(plan.total_s)} estimated of a {minutes(plan.budget_s)} budget"
             + ("" if plan.fits else "  (OVER BUDGET)")]
    if plan.lanes:
        lines.append(f"  phase 1, side by side ({minutes(plan.phase1_s)}):")
        lines += [f"    {lane.name:<14} {' → '.join(lane.parts):<44} ~{minutes(lane.estimate_s)}"
                  for lane in plan.lanes]
    if plan.alone:
        lines.append(f"  phase 2, alone ({minutes(plan.phase2_s)}): {' → '.join(plan.alone)}")
    return "\n".join(lines)


def history_days(quick: bool) -> tuple[int, ...]:
    return (7, 30, 90) if quick else (30, 365, 1095)


def root_problem(parts: Sequence[Part]) -> str | None:
    """Why the selected parts cannot run here (None: they can)."""
    if not any(part.needs_root for part in parts):
        return None
    from testbed.lab import lab_available

    reason = lab_available()
    return None if reason is None else (
        f"{', '.join(part.name for part in parts if part.needs_root)} "
        f"{reason} (they build network namespaces and open raw sockets)")
