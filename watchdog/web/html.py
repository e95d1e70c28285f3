"""The status page's HTML from ``page.gather``'s values: one self-contained document, inline
style, no script. Written in Python rather than a Jinja2 template: compiling a template costs
the daemon a megabyte it would keep for good, and a page this size needs no template engine.
Every value from outside is escaped here (``_``); the SVG comes escaped from ``charts``."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

STYLE = """
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
         color: #1d1d1f; margin: 0 auto; max-width: 780px; padding: 16px; background: #fafafa; }
  header { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; }
  h1 { font-size: 20px; margin: 0; }
  h2 { font-size: 16px; margin: 22px 0 6px; }
  nav a { margin-left: 10px; }
  .card { background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 12px 16px;
          margin: 12px 0; }
  .state { border-left: 10px solid var(--state); }
  .headline { font-size: 26px; font-weight: 700; color: var(--state); }
  .muted { color: #666; font-size: 13px; }
  ul.facts { margin: 6px 0; padding-left: 20px; }
  .figures { display: flex; gap: 10px; flex-wrap: wrap; }
  .figure { flex: 1; min-width: 150px; }
  .figure .value { font-size: 22px; font-weight: 650; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
  .legend span { margin-right: 12px; white-space: nowrap; font-size: 12px; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
            margin-right: 4px; vertical-align: middle; }
  .axis { display: flex; justify-content: space-between; font-size: 12px; color: #666; }
  .fail { color: #b3261e; font-weight: 600; }
  td.when { white-space: nowrap; }
  svg { display: block; }
"""


def _(value: Any) -> str:
    return escape(str(value), quote=True)


def _swatch(colour: str, text: str) -> str:
    return (f'<span><span class="swatch" style="background: {_(colour)}"></span>'
            f"{_(text)}</span>")


def _state(d: dict[str, Any]) -> str:
    w = d["w"]
    parts = [f'<section class="card state" id="state" data-state="{_(d["state"])}">',
             f'<div class="headline" id="headline">{_(d["headline"])}</div>']
    if d["since"]:
        parts.append(f'<div id="since">{_(w["since"])} {_(d["since"])} ({_(w["for"])} '
                     f'{_(d["elapsed"])})</div>')
    parts.append(f'<div id="cause">{_(d["cause"])}</div>')
    if d["outage"]:
        parts.append(f'<div id="outage">{_(d["outage"])}</div>')
    if d["done"]:
        facts = "".join(f"<li>{_(fact)}</li>" for fact in d["done"])
        parts.append(f'<div id="done"><strong>{_(w["done"])}{w["colon"]}</strong>'
                     f'<ul class="facts">{facts}</ul></div>')
    parts += [f'<div class="maintenance">{_(line)}</div>' for line in d["maintenance"]]
    parts.append(f'<div class="muted" id="daemon">{_(d["daemon"])}</div></section>')
    return "\n".join(parts)


def _uptime(d: dict[str, Any]) -> str:
    w = d["w"]
    figures = []
    for window in d["windows"]:
        works = (f'; {_(w["maintenance"])}{w["colon"]} {_(window["maintenance"])}'
                 if window["maintenance"] else "")
        figures.append(
            f'<div class="figure" data-window="{_(window["label"])}">'
            f'<div class="muted">{_(w["uptime"])}, {_(w["last"])} {_(window["label"])}</div>'
            f'<div class="value">{_(window["uptime"])}</div>'
            f'<div class="muted">{_(w["not_watched"])}{w["colon"]} {_(window["unknown"])}{works}'
            "</div>"
            "</div>")
    return f'<section class="card" id="uptime"><div class="figures">{"".join(figures)}' \
           "</div></section>"


def _days(d: dict[str, Any]) -> str:
    w = d["w"]
    legend = "".join(_swatch(colour, w["state_" + state]) for state, colour in d["states"])
    return (f'<section class="card" id="days"><h2>{_(w["days_90"])} — {_(w["availability"])} '
            f'{_(d["bar_availability"])}</h2>\n{d["bars"]}\n'
            f'<div class="axis"><span>{_(d["bar_first"])}</span>'
            f'<span>{_(d["bar_last"])}</span></div>'
            f'<p class="legend">{legend}</p><p class="muted">{_(w["days_90_note"])}.</p>'
            "</section>")


def _quality(d: dict[str, Any]) -> str:
    w = d["w"]
    parts = ['<section class="card" id="quality">']
    for title, key, box in (("quality_24h", "chart_day", "chart-day"),
                            ("quality_30d", "chart_month", "chart-month")):
        parts.append(f"<h2>{_(w[title])}</h2>")
        parts.append(f'<div id="{box}">{d[key]}</div>' if d[key] else
                     f'<p class="muted">{_(w["no_rollups"])}</p>')
    parts.append(f'<p class="legend">{_swatch("#2b6cb0", w["rtt"])}'
                 f'{_swatch("#d64541", w["loss"])}</p>'
                 f'<p class="muted">{_(w["quality_note"])}.</p></section>')
    return "\n".join(parts)


def _ticket(d: dict[str, Any]) -> str:
    ticket, w = d["ticket"], d["w"]
    if not ticket:
        return ""
    rows = "".join(
        f'<tr><td class="when">{_(event["at"])}</td><td>{_(event["kind"])}</td>'
        f'<td>{_(event["text"])}{" [" + _(event["channel"]) + "]" if event["channel"] else ""}'
        "</td></tr>" for event in ticket["events"])
    return (f'<section class="card" id="ticket"><h2>{_(w["open_ticket"])} '
            f'{_(ticket["reference"])} — {_(w["timeline"])}</h2><table>{rows}</table>'
            "</section>")


def _targets(d: dict[str, Any]) -> str:
    w = d["w"]
    if not d["targets"]:
        return ""
    rows = []
    for target in d["targets"]:
        result = (_(w["never"]) if target["ok"] is None else _(w["ok"]) if target["ok"] else
                  f'<span class="fail">{_(w["failed"])}</span>')
        rows.append(f'<tr><td>{_(target["name"])}</td><td>{_(target["kind"])}</td>'
                    f'<td>{result}</td><td>{_(target["rtt"])}</td>'
                    f'<td class="muted">{_(target["at"])}</td></tr>')
    return (f'<section class="card" id="targets"><h2>{_(w["targets"])}</h2><table>'
            f'<tr><th>{_(w["target"])}</th><th></th><th>{_(w["result"])}</th>'
            f'<th>{_(w["rtt"])}</th><th></th></tr>{"".join(rows)}</table></section>')


def _reports(d: dict[str, Any]) -> str:
    w = d["w"]
    if not d["reports"]:
        return ""
    items = "".join(
        f'<li><a href="/report/{_(label)}.html">'
        f'{_(w["this_month"].format(month=label)) if index == 0 else _(label)}</a></li>'
        for index, label in enumerate(d["reports"]))
    return f'<section class="card" id="reports"><h2>{_(w["reports"])}</h2><ul>{items}</ul>' \
           "</section>"


def _header(d: dict[str, Any]) -> str:
    w = d["w"]
    links = ""
    if len(d["links"]) > 1:
        links = f'{_(w["other_links"])}{w["colon"]}' + "".join(
            f' <a href="?link={_(quote(name))}&amp;lang={_(d["lang"])}">{_(name)}</a>'
            for name in d["links"])
    other = w["other_language"]
    return (f'<header><h1>{_(w["page_title"])} — {_(d["site"])}</h1><nav>{links} '
            f'<a href="?link={_(quote(d["link"]))}&amp;lang={_(other)}" hreflang="{_(other)}">'
            f'{_(w["language"])}</a></nav></header>')


def page_html(d: dict[str, Any]) -> str:
    """The whole document; ``d`` is ``page.gather``'s (``bars``, ``chart_day`` and
    ``chart_month``: SVG markup, put in as it is)."""
    w = d["w"]
    footer = (f'<footer class="muted">{_(w["times_in"])} ({_(d["zone"])}). '
              f'{_(w["generated"])} {_(d["generated"])}. '
              f'{_(w["refresh"].format(seconds=d["refresh"]))}</footer>')
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{_(d["lang"])}">',
        '<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="refresh" content="{int(d["refresh"])}">',
        f'<title>{_(d["headline"])} — {_(w["page_title"])} — {_(d["site"])}</title>',
        f"<style>:root {{ --state: {_(d['colour'])}; }}{STYLE}</style>",
        "</head>\n<body>",
        _header(d), _state(d), _uptime(d), _days(d), _quality(d), _ticket(d), _targets(d),
        _reports(d), footer,
        "</body>\n</html>\n",
    ])
