"""The status page's pictures as inline SVG (no script, no external asset). Pure: values in,
markup out; every text that comes from outside is escaped.

- ``day_bars``: one stacked bar per day, its colours the time spent in each state (unknown and
  maintenance apart, as the report draws them);
- ``quality_chart``: the ping targets' mean round trip (a line) over their loss (bars), the
  SmokePing way of reading a link at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

# Drawn from the bottom up: the good time first, the time nobody watched on top.
BAR_ORDER = ("up", "degraded", "down", "lan_down", "maintenance", "unknown")
BAR_WIDTH = 8
BAR_GAP = 2
BAR_HEIGHT = 48
CHART_WIDTH = 720
RTT_HEIGHT = 110
LOSS_HEIGHT = 44
# Between the round trip's axis and the loss panel, so their labels do not meet.
LOSS_GAP = 20
MARGIN_LEFT = 52
MARGIN_BOTTOM = 18
LOSS_COLOUR = "#d64541"
RTT_COLOUR = "#2b6cb0"


@dataclass(frozen=True, slots=True)
class DayBar:
    """One day: its label, the seconds per state (``unknown``: nobody watched) and the text
    of its tooltip."""

    label: str
    seconds: dict[str, float]
    tooltip: str


@dataclass(frozen=True, slots=True)
class QualityPoint:
    """One bucket of the chart: its start, the mean round trip (None: nothing answered) and
    the share of echo requests lost (None: none sent)."""

    at: datetime
    rtt_ms: float | None
    loss_percent: float | None


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def day_bars(days: Sequence[DayBar], colours: dict[str, str], title: str) -> str:
    """One stacked bar per day, oldest left; each with a ``<title>`` tooltip."""
    width = max(1, len(days)) * (BAR_WIDTH + BAR_GAP)
    parts = [f'<svg class="bars" role="img" viewBox="0 0 {width} {BAR_HEIGHT}" '
             f'preserveAspectRatio="none" width="100%" height="{BAR_HEIGHT}">'
             f"<title>{escape(title)}</title>"]
    for index, day in enumerate(days):
        total = sum(day.seconds.values()) or 1.0
        x = index * (BAR_WIDTH + BAR_GAP)
        parts.append(f'<g class="day" data-day="{escape(day.label)}">'
                     f"<title>{escape(day.tooltip)}</title>")
        bottom = float(BAR_HEIGHT)
        for state in BAR_ORDER:
            share = day.seconds.get(state, 0.0) / total
            if share <= 0:
                continue
            height = share * BAR_HEIGHT
            bottom -= height
            parts.append(f'<rect x="{x}" y="{_number(bottom)}" width="{BAR_WIDTH}" '
                         f'height="{_number(max(height, 0.5))}" fill="{colours[state]}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _ceiling(value: float) -> float:
    """A round top for an axis: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def quality_chart(points: Sequence[QualityPoint], start: datetime, end: datetime,
                  labels: Sequence[tuple[datetime, str]], *, rtt_title: str,
                  loss_title: str) -> str:
    """Round trip (line, ms) above loss (bars, %) over [``start``, ``end``); ``labels`` are
    the time axis' ticks. Gaps (no answer, no roll-up) break the line."""
    span = max(1.0, (end - start).total_seconds())
    plot = CHART_WIDTH - MARGIN_LEFT
    rtts = [p.rtt_ms for p in points if p.rtt_ms is not None]
    top = _ceiling(max(rtts) * 1.1) if rtts else 1.0
    losses = [p.loss_percent for p in points if p.loss_percent is not None]
    loss_top = _ceiling(max(losses)) if losses and max(losses) > 0 else 1.0
    loss_top = min(100.0, loss_top)
    height = RTT_HEIGHT + LOSS_GAP + LOSS_HEIGHT + MARGIN_BOTTOM
    step = plot / max(1, len(points)) if points else plot

    def x_of(moment: datetime) -> float:
        return MARGIN_LEFT + plot * (moment - start).total_seconds() / span

    parts = [f'<svg class="quality" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
             f'width="100%">', f"<title>{escape(rtt_title)} / {escape(loss_title)}</title>",
             '<g class="axes" font-size="10" fill="#666">']
    for value in (0.0, top / 2, top):
        y = RTT_HEIGHT - RTT_HEIGHT * value / top + 4
        parts.append(f'<line x1="{MARGIN_LEFT}" x2="{CHART_WIDTH}" y1="{_number(y)}" '
                     f'y2="{_number(y)}" stroke="#e3e3e3"/>'
                     f'<text x="{MARGIN_LEFT - 4}" y="{_number(y + 3)}" '
                     f'text-anchor="end">{_number(value)} ms</text>')
    loss_base = RTT_HEIGHT + LOSS_GAP + LOSS_HEIGHT
    parts.append(f'<line x1="{MARGIN_LEFT}" x2="{CHART_WIDTH}" y1="{loss_base}" '
                 f'y2="{loss_base}" stroke="#ccc"/>'
                 f'<text x="{MARGIN_LEFT - 4}" y="{loss_base - LOSS_HEIGHT + 8}" '
                 f'text-anchor="end">{_number(loss_top)} %</text>'
                 f'<text x="{MARGIN_LEFT - 4}" y="{loss_base}" text-anchor="end">0 %</text>')
    for moment, text in labels:
        x = x_of(moment)
        if MARGIN_LEFT <= x <= CHART_WIDTH:
            anchor = "end" if x > CHART_WIDTH - 30 else "middle"
            parts.append(f'<text x="{_number(x)}" y="{height - 4}" '
                         f'text-anchor="{anchor}">{escape(text)}</text>')
    parts.append("</g>")
    parts.append(f'<g class="loss" fill="{LOSS_COLOUR}">')
    for point in points:
        if not point.loss_percent:
            continue
        bar = LOSS_HEIGHT * min(point.loss_percent, loss_top) / loss_top
        parts.append(f'<rect x="{_number(x_of(point.at))}" y="{_number(loss_base - bar)}" '
                     f'width="{_number(max(step, 1.0))}" height="{_number(max(bar, 0.5))}"/>')
    parts.append("</g>")
    segments: list[list[str]] = [[]]
    for point in points:
        if point.rtt_ms is None:
            if segments[-1]:
                segments.append([])
            continue
        y = RTT_HEIGHT - RTT_HEIGHT * point.rtt_ms / top + 4
        segments[-1].append(f"{_number(x_of(point.at) + step / 2)},{_number(y)}")
    lines = [" ".join(segment) for segment in segments if segment]
    parts.append(f'<g class="rtt" fill="none" stroke="{RTT_COLOUR}" stroke-width="1.5">'
                 + "".join(f'<polyline points="{line}"/>' for line in lines) + "</g>")
    parts.append("</svg>")
    return "".join(parts)
