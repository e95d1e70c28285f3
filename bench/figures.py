"""The figures of the table: its rows (what, how, target), how each part's measurements
become a row with its verdict, and the table itself (plain text or Markdown)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["ok", "MISSED", "info", "FAILED"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One row of the table: what, how, the target, what was measured, and the verdict."""

    key: str
    figure: str
    how: str
    target: str
    measured: str
    verdict: Verdict
    values: dict[str, Any] = field(default_factory=dict)


# The table's rows, in the order: key → (figure, how, target).
ROWS: dict[str, tuple[str, str, str]] = {
    "detection.down": ("cut → `down` recorded",
                       "WAN cuts at random phases of the 2-s cycle, lab, defaults",
                       "median ≤ 5 s, max ≤ 8 s"),
    "alerts.outage_started": ("cut → `outage_started` at a LAN webhook",
                              "WAN cuts, webhook receiver on the LAN, defaults",
                              "median ≤ 6 s"),
    "alerts.recovered": ("restore → `recovered` at the LAN webhook", "same cuts", "≤ 10 s"),
    "detection.errors": ("recorded start / end error",
                         "recorded start − cut, recorded end − restore (detection cuts)",
                         "≤ 2 s / ≤ 3 s"),
    "alerts.kills": ("SIGKILLs → duplicate tickets / lost messages",
                     "SIGKILLs at random instants through cuts, 1 in 3 during a send",
                     "0 / 0"),
    "false_outages.loss": ("false outages: 30 % random loss",
                           "lab, defaults, 30 % of the LAN → WAN packets dropped",
                           "0 outages, `degraded`"),
    "false_outages.dead_target": ("false outages: 1 of 3 ping targets dead",
                                  "lab, defaults, one target removed", "0 outages, `degraded`"),
    "false_outages.dead_resolver": ("false outages: 1 of 2 resolvers dead",
                                    "lab, defaults, one resolver stopped",
                                    "0 outages, `degraded`"),
    "resources.memory": ("daemon memory", "VmRSS every 5 s over 5 min, link up, defaults",
                         "≤ 70 MB, flat"),
    "resources.cpu": ("daemon CPU", "utime + stime over the same run", "≤ 1 % of one core"),
    "status.status": ("`watchdog status` wall time",
                      "median of 20 runs on 1 month / 1 year / 3 years of history",
                      "≤ 150 ms, flat"),
    "status.report": ("`watchdog report --month` wall time", "same databases, same runs",
                      "flat"),
    "status.html": ("`watchdog report --month --format html` wall time",
                    "same databases, same runs", "≤ 300 ms, flat"),
    "histories.size": ("database size after one simulated year",
                       "generator through the real storage code, defaults", "≤ 100 MB"),
    "targets.datagram": ("targets per cycle (datagram sockets)",
                         "real run_cycle, 100 / 500 / 1000 targets on loopback",
                         "500 in ≤ 1.5 s, 0 false loss"),
    "targets.raw": ("targets per cycle (raw sockets)", "same, raw sockets",
                    "500 in ≤ 1.5 s, 0 false loss"),
    "web.response": ("status page and `/metrics` response time",
                     "real HTTP client, nothing kept between requests, median of 50 each, "
                     "on 1 month / 1 year / 3 years of history", "≤ 50 ms median on 1 year"),
    "web.memory": ("daemon RSS with `[web]` on",
                   "median VmRSS over 1 min, lab, defaults, [web] on (page every 5 s, scrape "
                   "every 1 s) against off", "≤ 5 MB more than without"),
    "uplinks.backup_ticket": ("fibre cut → ticket email over the 4G uplink",
                              "median of 5 fibre cuts, 4G up, `open_after` 10 s, lab, "
                              "defaults; accepted by the internet-side mail server",
                              "≤ open_after + 5 s (15 s)"),
    "uplinks.failover_down": ("fibre cut behind a failover router → fibre `down` recorded",
                              "median of 5 failovers to the router's 4G, path check (public "
                              "address and hop 2), lab, defaults",
                              "≤ 2 × check_interval (60 s)"),
}


def figure(key: str, measured: str, verdict: Verdict, *, how: str | None = None,
           target: str | None = None, **values: Any) -> Figure:
    """The row ``key`` of ``ROWS`` with what was measured."""
    name, default_how, default_target = ROWS[key]
    return Figure(key, name, how or default_how, target or default_target, measured, verdict,
                  values)


def judge(ok: bool) -> Verdict:
    return "ok" if ok else "MISSED"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def minutes(value: float) -> str:
    value = round(value)
    return f"{value // 60} min {value % 60:02d} s" if value >= 60 else f"{value} s"


def label(days: int) -> str:
    """1 month, 1 year, 3 years … for the usual spans; "N d" otherwise."""
    return {30: "1 month", 365: "1 year", 1095: "3 years"}.get(days, f"{days} d")


def detection_figures(cuts: Sequence[Any]) -> list[Figure]:
    """cut → down recorded, and the recorded start and end errors, over ``cuts``
    (``bench.detection.CutResult``)."""
    from bench.detection import summaries

    summary = summaries(cuts)
    down = summary["detection_s"]
    start, end = summary["start_error_s"], summary["end_error_s"]
    start_worst = max(abs(start.max), abs(start.min))
    end_worst = max(abs(end.max), abs(end.min))
    return [
        figure("detection.down", f"median {seconds(down.median)}, max {seconds(down.max)} "
               f"({plural(len(cuts), 'cut')})", judge(down.median <= 5 and down.max <= 8),
               median_s=down.median, max_s=down.max, cuts=len(cuts)),
        figure("detection.errors",
               f"start {start.min:+.2f} … {start.max:+.2f} s, end {end.min:+.2f} … "
               f"{end.max:+.2f} s (median {start.median:+.2f} / {end.median:+.2f})",
               judge(start_worst <= 2 and end_worst <= 3),
               start_median_s=start.median, start_max_abs_s=start_worst,
               end_median_s=end.median, end_max_abs_s=end_worst),
    ]


def alert_latency_figures(cuts: Sequence[Any]) -> list[Figure]:
    """cut → outage_started and restore → recovered at the LAN webhook (``AlertCut``s)."""
    from bench.alerts import latency_summary

    summary = latency_summary(cuts)
    alert, recovered = summary["alert_s"], summary["recovery_notice_s"]
    return [
        figure("alerts.outage_started",
               f"median {seconds(alert['median'])}, max {seconds(alert['max'])} "
               f"({plural(len(cuts), 'cut')})", judge(alert["median"] <= 6),
               median_s=alert["median"], max_s=alert["max"], cuts=len(cuts)),
        figure("alerts.recovered",
               f"median {seconds(recovered['median'])}, max {seconds(recovered['max'])}",
               judge(recovered["max"] <= 10),
               median_s=recovered["median"], max_s=recovered["max"]),
    ]


def kill_figure(report: Any) -> Figure:
    """Duplicate tickets and lost messages after the SIGKILLs (``alerts.KillReport``)."""
    exits = getattr(report, "daemon_exits_not_caused_by_a_kill", 0)
    clean = (report.duplicate_tickets == 0 and report.lost_messages == 0
             and report.unrecognisable_duplicates == 0 and not exits)
    return figure(
        "alerts.kills",
        f"{report.duplicate_tickets} / {report.lost_messages} ({plural(report.kills, 'kill')}, "
        f"{plural(report.outages, 'outage')}, {plural(report.messages, 'message')}; "
        f"{report.unrecognisable_duplicates} duplicates under other ids, "
        f"{report.same_id_redeliveries} same-id redeliveries"
        + (f"; {exits} daemon exits not caused by a kill" if exits else "") + ")",
        judge(clean), how=f"{plural(report.kills, 'SIGKILL')} at random instants through "
        f"{plural(report.outages, 'cut')}, 1 in 3 during a send",
        target="0 / 0", duplicate_tickets=report.duplicate_tickets,
        lost_messages=report.lost_messages, kills=report.kills)


def false_outage_figure(result: Any) -> Figure:
    """Outages and the dominant state of one scenario (``ScenarioResult``)."""
    return figure(
        f"false_outages.{result.name}",
        f"{plural(len(result.outages), 'outage')}, {plural(result.blips, 'blip')}; "
        f"{result.dominant_state} "
        f"{100 * result.share(result.dominant_state):.1f} % of {minutes(result.hold_s)}",
        judge(result.ok), outages=len(result.outages), blips=result.blips,
        dominant_state=result.dominant_state,
        dominant_share=round(result.share(result.dominant_state), 4))


def resource_figures(usage: Any) -> list[Figure]:
    """Memory and CPU of the daemon (``bench.resources.Usage``)."""
    from bench.resources import FLAT_GROWTH_KIB

    return [
        figure("resources.memory",
               f"{usage.rss_start_mb} → {usage.rss_end_mb} MB, max {usage.rss_max_mb} MB; "
               f"{'flat' if usage.flat else 'GROWING'} ({usage.growth_after_warmup_kib:+d} KiB "
               f"after the first minute, limit {FLAT_GROWTH_KIB} KiB)", judge(usage.memory_ok),
               how=f"VmRSS every 5 s over {minutes(usage.seconds)}, link up, defaults",
               rss_max_mb=usage.rss_max_mb, flat=usage.flat),
        figure("resources.cpu", f"{usage.cpu_percent:.2f} %", judge(usage.cpu_ok),
               cpu_percent=usage.cpu_percent),
    ]


def size_figure(histories: Sequence[Any], *, quick: bool) -> Figure:
    """The database size after the year (quick: after the longest span, for information)."""
    sizes = ", ".join(f"{label(item.days)} {item.size_bytes / 1e6:.1f} MB" for item in histories)
    year = next((item for item in histories if item.days == 365), None)
    if year is None:
        return figure("histories.size", f"(no year built) {sizes}", "info",
                      sizes_mb={item.days: round(item.size_bytes / 1e6, 1)
                                for item in histories})
    size_mb = year.size_bytes / 1e6
    return figure("histories.size", f"{size_mb:.1f} MB ({sizes})", judge(size_mb <= 100),
                  size_mb=round(size_mb, 1), sizes_mb={item.days: round(item.size_bytes / 1e6, 1)
                                                       for item in histories})


def status_figures(rows: Sequence[Any]) -> list[Figure]:
    """status (≤ 150 ms, flat), report (flat) and the HTML report (≤ 300 ms, flat) medians over
    the databases (``status.Row``)."""
    from bench.status import TARGET_MS, is_flat

    status = [row.status.median_ms for row in rows]
    report = [row.report.median_ms for row in rows]

    def listed(values: Sequence[float]) -> str:
        return " · ".join(f"{label(row.days)} {value:.0f} ms"
                          for row, value in zip(rows, values, strict=True))

    def reads(values: Sequence[float | None]) -> str:
        known = [value for value in values if value is not None]
        return "" if not known else (
            "; reads alone " + " / ".join(f"{value:.1f}" for value in known) + " ms")

    runs = rows[0].status.runs if rows else 0
    how = (f"median of {runs} runs on "
           + " / ".join(label(row.days) for row in rows) + " of history")
    status_reads = [row.status_read_ms for row in rows]
    report_reads = [row.report_read_ms for row in rows]
    return [
        figure("status.status", f"{listed(status)} ({'flat' if is_flat(status) else 'NOT flat'}"
               f"{reads(status_reads)})", judge(max(status) <= TARGET_MS and is_flat(status)),
               how=how, medians_ms=status, reads_ms=status_reads),
        figure("status.report", f"{listed(report)} ({'flat' if is_flat(report) else 'NOT flat'}"
               f"{reads(report_reads)})", judge(is_flat(report)), medians_ms=report,
               reads_ms=report_reads),
        *html_figures(rows, listed),
    ]


def html_figures(rows: Sequence[Any], listed: Any) -> list[Figure]:
    """The HTML report's row, when the run timed it (results from before it have none)."""
    from bench.status import HTML_TARGET_MS, is_flat

    if not rows or any(row.html is None for row in rows):
        return []
    html = [row.html.median_ms for row in rows]
    return [figure("status.html", f"{listed(html)} ({'flat' if is_flat(html) else 'NOT flat'})",
                   judge(max(html) <= HTML_TARGET_MS and is_flat(html)), medians_ms=html)]


def target_figures(results: Sequence[Any]) -> list[Figure]:
    """One row per socket mode (``targets.SizeResult``s): each size's median cycle time and
    loss; judged on the 500-target cycles."""
    from bench.targets import TARGET_SIZE

    figures = []
    for mode in ("datagram", "raw"):
        ours = [result for result in results if result.mode == mode]
        if not ours:
            continue
        text = " · ".join(f"{result.targets}: {result.median_s:.2f} s (max {result.max_s:.2f}),"
                          f" {result.loss_percent:.1f} % lost" for result in ours)
        judged = [result for result in ours if result.targets == TARGET_SIZE]
        verdict: Verdict = judge(all(result.within_target for result in judged)) if judged \
            else "info"
        figures.append(figure(f"targets.{mode}", text, verdict,
                              cycles=[result.as_json() for result in ours]))
    return figures


def uplink_figures(tickets: Sequence[Any], failovers: Sequence[Any], *, open_after_s: float,
                   check_interval_s: float) -> list[Figure]:
    """The fibre cut's ticket email over the 4G, and the failover's outage, as medians of
    their runs (``bench.uplinks.Run``)."""
    from bench.uplinks import TICKET_MARGIN_S, median

    def listed(runs: Sequence[Any]) -> str:
        return ", ".join(f"{run.seconds:.1f}" for run in runs)

    ticket, failover = median(list(tickets)), median(list(failovers))
    return [
        figure("uplinks.backup_ticket",
               f"median {seconds(ticket)} ({plural(len(tickets), 'cut')}: {listed(tickets)})",
               judge(ticket <= open_after_s + TICKET_MARGIN_S),
               target=f"≤ open_after + 5 s ({open_after_s + TICKET_MARGIN_S:.0f} s)",
               median_s=ticket, runs=[run.as_json() for run in tickets]),
        figure("uplinks.failover_down",
               f"median {seconds(failover)} ({plural(len(failovers), 'failover')}: "
               f"{listed(failovers)})", judge(failover <= 2 * check_interval_s),
               target=f"≤ 2 × check_interval ({2 * check_interval_s:.0f} s)",
               median_s=failover, runs=[run.as_json() for run in failovers]),
    ]


def format_table(figures: Sequence[Figure], *, markdown: bool = False) -> str:
    """The one table: figure, how, target, measured, verdict (plain text or Markdown)."""
    headers = ["figure", "how", "target", "measured", "verdict"]
    rows = [[item.figure, item.how, item.target, item.measured, item.verdict]
            for item in figures]
    if markdown:
        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(cell(text) for text in row) + " |" for row in rows]
        return "\n".join(lines)
    plain = [[text.replace("`", "") for text in row] for row in rows]
    widths = [max(len(row[i]) for row in [headers, *plain]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths),
                      *(line(row) for row in plain)]).rstrip()


def web_response_figure(rows: Sequence[Any]) -> Figure:
    """The page's and /metrics' medians per history (``web.ResponseRow``), judged on the year
    (the longest history when no year was measured)."""
    from bench.web import TARGET_MS

    judged = next((row for row in rows if row.days == 365), rows[-1])
    text = " · ".join(f"{label(row.days)}: page {row.page.median_ms:.1f} ms (p95 "
                      f"{row.page.p95_ms:.1f}), /metrics {row.metrics.median_ms:.1f} ms (p95 "
                      f"{row.metrics.p95_ms:.1f})" for row in rows)
    ok = max(judged.page.median_ms, judged.metrics.median_ms) <= TARGET_MS
    return figure("web.response", text, judge(ok),
                  how=f"real HTTP client, nothing kept between requests, median of "
                      f"{judged.page.requests} each, on "
                      + " / ".join(label(row.days) for row in rows) + " of history",
                  page_ms=[row.page.median_ms for row in rows],
                  metrics_ms=[row.metrics.median_ms for row in rows])


def web_memory_figure(off: Any, on: Any) -> Figure:
    """RSS with [web] on against off (``web.MemoryRun``s)."""
    from bench.web import TARGET_EXTRA_MB

    extra = round(on.median_mb - off.median_mb, 2)
    served = sum(count for key, count in on.answers.items() if key.endswith(" 200"))
    return figure("web.memory", f"{on.median_mb} MB on, {off.median_mb} MB off: {extra:+.2f} "
                  f"MB ({served} requests served)", judge(extra <= TARGET_EXTRA_MB),
                  extra_mb=extra, on_mb=on.median_mb, off_mb=off.median_mb)
