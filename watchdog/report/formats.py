"""The report's formats: text for a terminal, CSV (one row per outage), JSON (the structure
itself) and one self-contained HTML file (inline CSS and SVG, prints to A4). Each reads the
structure ``build`` made and nothing else."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any, Final

from watchdog.report.words import Writer

FORMATS: Final = ("text", "html", "csv", "json")

# The states in the order a reader meets them, with their colours (HTML).
STATE_ORDER: Final = ("up", "degraded", "down", "lan_down", "maintenance", "unknown")
COLOURS: Final = {
    "up": "#2e9e5b", "degraded": "#e0a526", "down": "#d64541", "lan_down": "#8e5ab5",
    "maintenance": "#4a90d9", "unknown": "#b8b8b8",
}

CSV_COLUMNS: Final = (
    "id", "kind", "started_at", "start_after", "start_by", "ended_at", "end_after", "end_by",
    "duration_s", "seconds_in_period", "unobserved_s", "ticket", "provider_ref", "gtr_due_at",
    "gtr_breached", "reminders_delivered", "reminders_undelivered", "cause",
)


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def as_csv(report: dict[str, Any]) -> str:
    """One row per outage, the columns of ``CSV_COLUMNS`` (times ISO in the site's zone)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for outage in report["outages"]:
        start, end = outage["start_bracket"] or {}, outage["end_bracket"] or {}
        reminders = outage["reminders"] or {}
        row = {**outage, "start_after": start.get("after"), "start_by": start.get("by"),
               "end_after": end.get("after"), "end_by": end.get("by"),
               "reminders_delivered": reminders.get("delivered"),
               "reminders_undelivered": reminders.get("undelivered")}
        writer.writerow(["" if row.get(column) is None else row[column]
                         for column in CSV_COLUMNS])
    return out.getvalue()


def _state_seconds(report: dict[str, Any]) -> dict[str, float]:
    seconds = dict(report["availability"]["seconds"])
    seconds["unknown"] = seconds.get("unknown", 0.0) + report["availability"]["unrecorded_s"]
    return seconds


def as_text(report: dict[str, Any], write: Writer) -> str:
    w = write.words
    period = report["period"]
    lines = [
        f"{w['title']} — {report['site']['name']} — {period['label']}",
        f"{w['period']}: {write.instant(period['start'])} → {write.instant(period['end'])}"
        f" ({w['until']} {write.instant(period['observed_until'])})",
        f"{w['times_in']} ({period['zone']}).",
    ]
    uplinks = report.get("uplinks") or []
    if uplinks:
        lines.append(f"{w['link']}: {report['link']}")
    provider = report["provider"]
    if provider["name"] or provider["line_id"]:
        lines.append(f"{w['line']} {provider['line_id'] or '?'}, {provider['name'] or '?'}"
                     + (f", {w['customer_ref']} {provider['customer_ref']}"
                        if provider["customer_ref"] else ""))
    if uplinks:
        lines += ["", f"{w['uplinks']}:"]
        lines += [f"  {uplink['name']:<12} {write.percent(uplink['availability_percent'])}"
                  + (f" ({uplink['kind']})" if uplink["kind"] else "")
                  + (f", {w['primary']}" if uplink["primary"] else "")
                  for uplink in uplinks]
    lines += ["", f"{w['contract']}:", *(f"  {line}" for line in report["contract"]["terms"])]
    figures = report["availability"]
    judged = figures["contract"]
    seconds = _state_seconds(report)
    lines += [
        "",
        f"{w['availability']}: {write.percent(figures['availability_percent'])} "
        f"({w['observed']})",
        f"{w['provider_availability']}: "
        f"{write.percent(figures['provider_availability_percent'])} ({w['provider_note']})",
        *([f"{w['commitment']}: {write.percent(float(judged['commitment_percent']))} — "
           + (w["commitment_met"] if judged["met"] else
              w["commitment_missed"].format(
                  points=write.number(float(judged["shortfall_points"]), 3)))]
          if judged["commitment_percent"] is not None and judged["met"] is not None else []),
        f"{w['time_by_state']}: " + " · ".join(
            f"{w['state_' + state]} {write.duration(seconds[state])}"
            for state in STATE_ORDER if seconds.get(state)),
        "",
        f"{w['outages']} ({len(report['outages'])}); {w['blips']}: {report['blips']}",
    ]
    if not report["outages"]:
        lines.append(f"  {w['no_outage']}")
    for outage in report["outages"]:
        end = (write.instant(outage["ended_at"], ms=True) if outage["ended_at"]
               else w["still_going"])
        facts = [f"{w['duration']} {write.duration(outage['duration_s'])}",
                 f"{w['in_period']} {write.duration(outage['seconds_in_period'])}"]
        if outage["ticket"]:
            facts.append(f"{w['ticket']} {outage['ticket']}")
        if outage["provider_ref"]:
            facts.append(f"{w['provider_ref']} {outage['provider_ref']}")
        if outage["gtr_due_at"]:
            facts.append(f"{w['gtr_due']} {write.instant(outage['gtr_due_at'])}")
        if outage["gtr_breached"]:
            facts.append(w["gtr_breached"])
        if outage["reminders"] and (outage["reminders"]["delivered"]
                                    or outage["reminders"]["undelivered"]):
            facts.append(f"{w['reminders']} {outage['reminders']['delivered']} "
                         f"{w['delivered']}, {outage['reminders']['undelivered']} "
                         f"{w['undelivered']}")
        if outage["unobserved_s"] >= 1:
            facts.append(f"{write.duration(outage['unobserved_s'])} {w['not_watched_inside']}")
        lines.append(f"  #{outage['id']} {w['kind_' + outage['kind']]}: "
                     f"{write.instant(outage['started_at'], ms=True)} → {end}")
        for side in ("start", "end"):
            bracket = write.bracket(outage[f"{side}_bracket"])
            if bracket:
                lines.append(f"      {w[side + '_bracket']} {bracket}")
        lines += [
            f"      {'; '.join(facts)}",
            f"      {w['cause']}: {outage['cause']}",
        ]
    for ticket in report["tickets"]:
        lines += ["", f"{w['ticket']} {ticket['reference']}"]
        lines += [f"  {write.instant(event['at'])}  {event['kind']:<13} {event['text']}"
                  + (f" [{event['channel']}]" if event["channel"] else "")
                  for event in ticket["timeline"]]
        for title, chosen in message_groups(ticket["messages"], w):
            lines.append(f"  {title}:")
            lines += [f"    {message_text(message, write)}" for message in chosen]
    owed = report["compensation"]
    lines += ["", f"{w['compensation']}: {owed['amount']} {owed['currency']}",
              *(f"  {line}" for line in owed["statement"])]
    lines += ["", w["days"]]
    for day in report["days"]:
        lines.append(f"  {day['date']}  {w['state_' + day['mark']]:<28} "
                     f"{w['loss']} {write.percent(day['loss_percent'], 2):>9}  "
                     f"{w['latency']} {write.number(day['median_rtt_ms'], unit='ms')}")
    lines += ["", f"{w['clock']}: {clock_text(report['clock'], write)}",
              "", f"{w['digest']}: {report['digest']['value']}", f"  ({w['digest_note']})"]
    return "\n".join(lines) + "\n"


def message_groups(messages: list[dict[str, Any]],
                   w: dict[str, str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Delivered, folded into a later message, not delivered: each listed apart."""
    groups = [
        (w["messages_delivered"], [m for m in messages if m["status"] == "sent"]),
        (w["messages_folded"], [m for m in messages if m["status"] in ("folded", "superseded")]),
        (w["messages_undelivered"], [m for m in messages
                                     if m["status"] not in ("sent", "folded", "superseded")]),
    ]
    return [(title, chosen) for title, chosen in groups if chosen]


def message_text(message: dict[str, Any], write: Writer) -> str:
    """One message with its proof: ``ticket_reminder (24h) → isp-helpdesk, due …; accepted …
    by relay:25, Message-ID <…>, "250 OK"`` (or its attempts and last error)."""
    w = write.words
    step = f" ({message['step']})" if message["step"] else ""
    text = (f"{message['event']}{step} → {message['channel']}, {w['fell_due']} "
            f"{write.instant(message['fell_due_at'])}")
    if message["status"] == "sent":
        text += f"; {w['accepted']} {write.instant(message['accepted_at'])}"
        if message["server"]:
            text += f" {w['by_server']} {message['server']}"
        if message["message_id"]:
            text += f", Message-ID {message['message_id']}"
        if message["external_id"]:
            text += f", id {message['external_id']}"
        if message["reply"]:
            text += f", \u201c{message['reply']}\u201d"
    elif message["folded_into"] is not None:
        text += f"; {w['carried_by']} #{message['folded_into']}"
    if message["attempts"]:
        text += (f" ({message['attempts']} {w['attempts']}, "
                 f"{write.instant(message['first_attempt_at'])} → "
                 f"{write.instant(message['last_attempt_at'])})")
    if message["status"] not in ("sent", "folded", "superseded") and message["last_error"]:
        text += f"; {w['last_error']}: {message['last_error']}"
    return text


def clock_text(clock: dict[str, Any], write: Writer) -> str:
    """Whether the server's clock was synchronised, in a sentence."""
    w = write.words
    if clock["synchronised"] is None:
        return w["clock_unknown"]
    facts = {"checked": write.instant(clock["checked_at"]),
             "since": write.instant(clock["since"])}
    if not clock["synchronised"]:
        return w["clock_unsynced"].format(**facts)
    return w["clock_synced_whole" if clock["whole_period"] else "clock_synced"].format(**facts)


def as_html(report: dict[str, Any], write: Writer) -> str:
    """One self-contained HTML page (no external asset, no script), A4 when printed."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("watchdog", "report/templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., str | None]] = {
        "instant": write.instant, "duration": write.duration, "percent": write.percent,
        "number": write.number, "yesno": write.yesno, "bracket": write.bracket,
    }
    environment.filters.update(filters)
    template = environment.get_template("report.html.j2")
    return template.render(
        r=report, w=write.words, lang=write.language, states=STATE_ORDER, colours=COLOURS,
        seconds=_state_seconds(report), clock=clock_text(report["clock"], write),
        message_groups=lambda messages: message_groups(messages, write.words),
        message_text=lambda message: message_text(message, write),
    )
