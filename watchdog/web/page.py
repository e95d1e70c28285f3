"""The status page at ``/``: the link's state in words as ``watchdog status`` says it, what
has been done about an outage, uptime, 90 days of daily bars, round trip and loss over 24 h and
30 days, the open ticket's timeline and the month's report, in English or French.

It reads through the CLI's read-only readers, each bounded by its window (the current state,
90 days of intervals, a day of minute roll-ups and a month of hourly ones), so it costs the
same on three years of history as on one month. The day-by-day arithmetic is the report's
(``report.days.split``); the words and how values are written are the report's too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from watchdog.config.schema import Config
from watchdog.config.zone import site_zone
from watchdog.link.availability import StateSpan
from watchdog.link.maintenance_windows import config_windows, window_at, windows_between
from watchdog.report import days as day_rows
from watchdog.report.formats import COLOURS, STATE_ORDER
from watchdog.report.period import Period, month, site_days
from watchdog.report.words import Writer
from watchdog.store.maintenance_reader import declared_windows
from watchdog.store.reader import StatusData, read_status
from watchdog.store.report_reader import HourQuality, read_hours, read_minutes, read_spans
from watchdog.store.ticket_reader import TicketRow, TimelineRow, read_current_incident, read_ticket
from watchdog.vocabulary import Language
from watchdog.web.charts import DayBar, QualityPoint, day_bars, quality_chart
from watchdog.web.words import page_words

# The page asks the browser to load it again this often.
REFRESH_SECONDS: Final = 30
BAR_DAYS: Final = 90
# The 24-hour chart's minutes are summed into buckets of this size.
DAY_BUCKET: Final = timedelta(minutes=5)
MONTH_SPAN: Final = timedelta(days=30)
UPCOMING: Final = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a visitor asked for: the link and the language (already checked)."""

    link: str
    language: Language


def _headline(status: StatusData, words: dict[str, str]) -> str:
    outage = status.open_outage
    if status.state == "down" and outage is not None and outage.kind == "dns":
        return words["headline_down_dns"]
    return words.get(f"headline_{status.state}", status.state.upper())


def _bucketed(hours: Sequence[HourQuality], start: datetime, size: timedelta) -> list[
        QualityPoint]:
    """Roll-up rows summed into buckets of ``size`` from ``start``: loss over what was sent,
    the round trip as the mean of the rows' means weighted by their answers."""
    buckets: dict[int, list[HourQuality]] = {}
    for row in hours:
        buckets.setdefault(int((row.hour_start - start) / size), []).append(row)
    points = []
    for index in sorted(buckets):
        rows = buckets[index]
        sent = sum(row.sent for row in rows)
        lost = sum(row.lost for row in rows)
        weights = [(row.mean_rtt_ms, row.sent - row.lost) for row in rows
                   if row.mean_rtt_ms is not None and row.sent > row.lost]
        answered = sum(weight for _, weight in weights)
        points.append(QualityPoint(
            start + index * size,
            None if not answered else sum(rtt * weight for rtt, weight in weights) / answered,
            None if not sent else 100.0 * lost / sent))
    return points


def _ticks(start: datetime, end: datetime, zone: tzinfo, *, hourly: bool) -> list[
        tuple[datetime, str]]:
    """Time-axis labels: every 6 hours for a day, every 5 days for a month (site's zone)."""
    local = start.astimezone(zone)
    if hourly:
        first = local.replace(minute=0, second=0, microsecond=0)
        first += timedelta(hours=(6 - first.hour % 6) % 6 or 6)
        step, form = timedelta(hours=6), "%H:%M"
    else:
        first = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        step, form = timedelta(days=5), "%d/%m"
    ticks = []
    moment = first
    while moment < end:
        ticks.append((moment, moment.astimezone(zone).strftime(form)))
        moment += step
    return ticks


def _day_bars(spans: list[StateSpan], hours: list[HourQuality], now: datetime, zone: tzinfo,
              write: Writer, words: dict[str, str]) -> tuple[list[DayBar], float | None]:
    """The last ``BAR_DAYS`` days (today so far) and the availability over them."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=BAR_DAYS - 1)
    period = Period(now, now, "", first, today)
    days = [(day, start, min(end, now)) for day, start, end in site_days(period, zone)]
    spans = sorted(spans, key=lambda span: span.started_at)
    hours_by_day: dict[int, list[HourQuality]] = {}
    bars = []
    available = watched = 0.0
    position = 0
    for hour in hours:
        hours_by_day.setdefault(hour.hour_start.astimezone(zone).toordinal(), []).append(hour)
    for day, start, end in days:
        # Only the spans that meet this day: the sum stays linear in the history's size.
        while position < len(spans) and spans[position].ended_at <= start:
            position += 1
        meeting = []
        for span in spans[position:]:
            if span.started_at >= end:
                break
            meeting.append(span)
        (row,) = day_rows.split(meeting, hours_by_day.get(day.toordinal(), []),
                                [(day, start, end)])
        seconds = {state: row.time.seconds.get(state, 0.0) for state in STATE_ORDER}
        seconds["unknown"] = row.time.unwatched_seconds
        available += row.time.available_seconds
        watched += row.time.watched_seconds
        facts = [f"{day.isoformat()}: {words['availability']} "
                 f"{write.percent(row.time.availability, 2)}"]
        facts += [f"{words['state_' + state]} {write.duration(seconds[state])}"
                  for state in STATE_ORDER if seconds[state] >= 1]
        if row.loss_percent is not None:
            facts.append(f"{words['loss']} {write.percent(row.loss_percent, 2)}")
        bars.append(DayBar(day.isoformat(), seconds, "; ".join(facts)))
    return bars, (100.0 * available / watched if watched else None)


def _maintenance(config: Config, now: datetime, link: str, write: Writer,
                 words: dict[str, str]) -> list[str]:
    """The maintenance window holding now and those beginning within a day, as sentences."""
    windows = [*config_windows(config),
               *declared_windows(config.storage.database, ending_after=now)]
    lines = []
    active = window_at(windows, now, link=link)
    if active is not None:
        lines.append(words["maintenance_active"].format(
            end=write.instant(active.end), reason=active.window.reason))
    for occurrence in windows_between(windows, now, now + UPCOMING, link=link):
        if occurrence.start > now:
            lines.append(words["maintenance_next"].format(
                start=write.instant(occurrence.start), end=write.instant(occurrence.end),
                reason=occurrence.window.reason))
    return lines


def _done(incident: TicketRow | None, write: Writer, words: dict[str, str]) -> list[str]:
    """What has been done about the outage going on: the ticket, reminders, the provider's
    reference, the breach, what waits to be sent."""
    if incident is None:
        return []
    if incident.reference is None:
        facts = [words["no_ticket"]]
    else:
        facts = [words["ticket_opened"].format(reference=incident.reference,
                                               at=write.instant(incident.ticket_opened_at)),
                 words["reminders_sent"].format(count=incident.reminders_sent)]
        if incident.provider_ref:
            facts.append(words["provider_ref_given"].format(reference=incident.provider_ref))
        if incident.gtr_breached:
            facts.append(words["gtr_breached"])
    if incident.cuts > 1:
        facts.append(words["cuts"].format(count=incident.cuts))
    if incident.pending_messages:
        facts.append(words["waiting"].format(count=incident.pending_messages))
    return facts


def gather(config: Config, request: PageRequest, now: datetime) -> dict[str, Any]:
    """Everything the page shows (``html.page_html`` writes it), read at ``now``. Raises
    ``DatabaseError``."""
    path = config.storage.database
    zone = site_zone(config)
    link = request.link
    write = Writer(request.language, zone)
    words = page_words(request.language)
    status = read_status(path, now, link=link)
    incident = read_current_incident(path, link=link)
    timeline: tuple[TimelineRow, ...] = ()
    if incident is not None and incident.reference is not None:
        timeline = read_ticket(path, incident.reference).timeline
    bar_start = now - timedelta(days=BAR_DAYS + 1)
    spans = read_spans(path, bar_start, now, now, link=link)
    hours = read_hours(path, bar_start, now, link=link)
    bars, bar_availability = _day_bars(spans, hours, now, zone, write, words)
    day_start = now - timedelta(hours=24)
    minutes = read_minutes(path, day_start, now, link=link)
    month_start = now - MONTH_SPAN
    hours_30 = [hour for hour in hours if hour.hour_start >= month_start]
    outage = status.open_outage
    heartbeat = status.heartbeat
    this_month = month(None, zone, now)
    reports = [this_month.label]
    if spans and min(span.started_at for span in spans) < this_month.start:
        reports.append(month((this_month.start - timedelta(days=1)).astimezone(zone)
                             .strftime("%Y-%m"), zone, now).label)
    return {
        "lang": request.language,
        "w": words,
        "site": config.site.name,
        "link": link,
        "links": [item.name for item in config.links],
        "state": status.state,
        "colour": COLOURS.get(status.state, COLOURS["unknown"]),
        "headline": _headline(status, words),
        "since": None if status.since is None else write.instant(status.since),
        "elapsed": None if status.since is None else write.duration(
            (now - status.since).total_seconds()),
        # The daemon serving the page runs: a heartbeat too old to count as running means it
        # has not written its database since (the reader's cause would say "not running").
        "cause": words["cause_unwritten"] if heartbeat is not None and not heartbeat.running
        else status.cause,
        "outage": None if outage is None else words["outage_so_far"].format(
            id=outage.id, kind=words["kind_" + outage.kind], since=write.instant(
                outage.started_at), lasted=write.duration(
                (now - outage.started_at).total_seconds())),
        "done": _done(incident, write, words),
        "maintenance": _maintenance(config, now, link, write, words),
        "windows": [
            {"label": window.label, "uptime": write.percent(window.uptime_percent, 3),
             "unknown": write.duration(window.unknown_seconds),
             "maintenance": write.duration(window.maintenance_seconds)
             if window.maintenance_seconds >= 1 else None}
            for window in status.windows
        ],
        "bars": day_bars(bars, dict(COLOURS), words["days_90"]),
        "bar_availability": write.percent(bar_availability, 3),
        "bar_first": bars[0].label if bars else "",
        "bar_last": bars[-1].label if bars else "",
        "states": [(state, COLOURS[state]) for state in STATE_ORDER],
        "chart_day": quality_chart(
            _bucketed(minutes, day_start, DAY_BUCKET), day_start, now,
            _ticks(day_start, now, zone, hourly=True), rtt_title=words["rtt"],
            loss_title=words["loss"]) if minutes else None,
        "chart_month": quality_chart(
            _bucketed(hours_30, month_start, timedelta(hours=1)), month_start, now,
            _ticks(month_start, now, zone, hourly=False), rtt_title=words["rtt"],
            loss_title=words["loss"]) if hours_30 else None,
        "targets": [
            {"name": target.name, "kind": target.kind, "ok": target.last_ok,
             "rtt": write.number(target.last_rtt_ms, unit="ms")
             if target.last_rtt_ms is not None else "",
             "at": write.instant(target.last_at)}
            for target in status.targets
        ],
        "ticket": None if not timeline or incident is None else {
            "reference": incident.reference,
            "events": [{"at": write.instant(event.at), "kind": event.kind,
                        "text": event.text, "channel": event.channel or ""}
                       for event in timeline],
        },
        "reports": reports if config.source is not None else [],
        "daemon": (words["daemon_never"] if heartbeat is None else
                   words["daemon_running"].format(ago=write.duration(
                       (now - heartbeat.last_cycle_at).total_seconds()))
                   if heartbeat.running else
                   words["daemon_unwritten"].format(at=write.instant(heartbeat.last_cycle_at))),
        "generated": write.instant(now),
        "zone": str(zone),
        "refresh": REFRESH_SECONDS,
    }


def render(config: Config, request: PageRequest, now: datetime) -> str:
    """The status page's HTML. Raises ``DatabaseError`` when the database cannot be read."""
    from watchdog.web.html import page_html

    return page_html(gather(config, request, now))
