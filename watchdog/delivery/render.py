"""Messages in words: a stored message context rendered as an email or a JSON body.

Every message is one Jinja2 template per event, per language, shipped in
``watchdog/templates/<language>/<event>.txt.j2``. Each extends ``_base.txt.j2`` (the layout:
summary line, lateness line, body, footer with the event's local time) and fills the blocks
``subject``, ``summary`` and ``body``; the shared phrases (header, lateness, what fails, the
evidence table) are macros in ``_macros.txt.j2``, available to every template as ``m``.

A file of the same name in the config's ``templates/`` directory wins: first
``<override_dir>/<language>/<name>``, then ``<override_dir>/<name>``, then the built-in one.

Text templates are rendered without escaping (plain text) and with ``StrictUndefined``, so a
misspelt variable fails loudly instead of printing nothing. JSON is injection-safe: the built-in
payload is built in Python with ``json.dumps``; a user's JSON template must pass every value
through the ``tojson`` filter, and its output is checked to be valid JSON before it is sent.

The context is what was stored with the outbox message when its event happened (its shape,
and how an older one is completed, is ``delivery.message_context``); the renderer adds what
depends on the moment of sending: ``sent_at`` and the lateness (``late``, ``late_s``), so a
message delivered hours late says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

import jinja2
from jinja2 import pass_context
from jinja2.runtime import Context

from watchdog.channels.errors import DeliveryError
from watchdog.config.durations import humanize
from watchdog.delivery.message_context import complete
from watchdog.vocabulary import DOWN_EVENTS, LANGUAGES, MESSAGE_EVENTS, audience_of

#: A message sent more than this long after its event says how late it is.
LATE_AFTER: Final = timedelta(seconds=60)

#: The suffix of a message template: ``ticket_open.txt.j2``.
TEMPLATE_SUFFIX: Final = ".txt.j2"

#: The keys of the built-in JSON payload, in order (a stable contract for receivers; new keys
#: come last). ``folded``: the older messages whose news this one carries (``FOLDED_KEYS``).
JSON_KEYS: Final = (
    "event", "audience", "reference", "kind", "state", "started_at", "ended_at", "duration_s",
    "event_at", "sent_at", "late_s", "gtr_breached", "cuts", "site", "line_id", "title", "text",
    "folded",
)
#: The keys of each item of the payload's ``folded`` list.
FOLDED_KEYS: Final = (
    "event", "step", "due_at", "queued_at", "attempts", "first_attempt_at", "last_attempt_at",
)

_DAYS: Final = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
_MONTHS: Final = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."),
}
_YES_NO: Final = {"en": ("yes", "no", "unknown"), "fr": ("oui", "non", "inconnu")}
_MISSING: Final = "—"


class RenderError(DeliveryError):
    """A template is missing or broken, or rendered invalid JSON.

    Permanent for the message: sending it again renders the same thing, so it is a
    ``DeliveryError`` with ``permanent`` set, and the outbox fails the message with this error
    instead of retrying it. ``str(error)`` names the template and the problem.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str


@dataclass(frozen=True)
class _Parts:
    title: str
    summary: str
    late_line: str
    body: str


class Renderer:
    """Renders message contexts in one language and one time zone."""

    def __init__(self, language: str, zone: tzinfo, override_dir: Path | None = None) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r} is not supported; use one of {LANGUAGES}")
        self.language = language
        self.zone = zone
        self.override_dir = override_dir
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            loaders.append(jinja2.FileSystemLoader([override_dir / language, override_dir]))
        loaders.append(jinja2.PackageLoader("watchdog", f"templates/{language}"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        filters: dict[str, Callable[..., Any]] = {
            "local": self._local_filter(),
            "duration": self.duration,
            "yesno": self.yesno,
            "ms": self.milliseconds,
            "ucfirst": _ucfirst,
            "table": _table,
            "fields": _fields,
            "tojson": tojson,
        }
        self._env.filters.update(filters)

    # -- public API --------------------------------------------------------------------------

    def email(self, context: Mapping[str, Any], sent_at: datetime) -> RenderedEmail:
        """The subject (one line) and plain-text body of the message ``context`` describes."""
        variables = self.variables(context, sent_at)
        parts = self._render_message(variables)
        return RenderedEmail(subject=parts.title, text=parts.body)

    def json_body(
        self, context: Mapping[str, Any], sent_at: datetime, template: str | None = None
    ) -> bytes:
        """A JSON body (UTF-8): the built-in payload, or the user's ``template`` rendered.

        ``template`` is a file name looked up like the message templates (the config's
        ``templates/<language>/``, then ``templates/``). Its output must be valid JSON.
        """
        variables = self.variables(context, sent_at)
        parts = self._render_message(variables)
        payload = self._payload(variables, parts)
        if template is None:
            return json.dumps(payload, ensure_ascii=False).encode("utf-8")
        variables.update(
            title=parts.title,
            summary=parts.summary,
            late_line=parts.late_line,
            text=_join_lines(parts.summary, parts.late_line),
            body=parts.body,
            payload=payload,
        )
        text = self._render(template, variables)
        try:
            json.loads(text)
        except ValueError as error:
            raise RenderError(
                f"template {template!r} did not render valid JSON ({error}); pass every value "
                "through the tojson filter, for example {{ title|tojson }}"
            ) from error
        return text.encode("utf-8")

    def variables(self, context: Mapping[str, Any], sent_at: datetime) -> dict[str, Any]:
        """Everything a template can read: the stored context completed, plus derived values.

        Derived: ``sent_at``, ``late`` (bool), ``late_s`` (seconds from the event to sending),
        ``while_down`` (the event happened while the link was down), ``ref``, ``kind`` (the
        incident's, else "lan" for a local fault),
        ``state``, ``started_at`` (the incident's start, else when the failure began),
        ``ended_at``, ``elapsed_s`` (from ``started_at`` to the end or to the event),
        ``duration_s`` (the incident's, once ended),
        ``gtr_s``, ``gtr_due_at``, ``gtr_over_s`` (how far past the GTR), ``zone_name``,
        ``language``.
        """
        if sent_at.utcoffset() is None:
            raise ValueError(f"sent_at {sent_at!r} has no time zone; pass an aware datetime")
        variables = complete(context)
        event = variables["event"]
        if event not in MESSAGE_EVENTS:
            raise RenderError(
                f"unknown event {event!r}; expected one of {', '.join(MESSAGE_EVENTS)}")
        if variables["audience"] is None:
            variables["audience"] = audience_of(event)
        incident = variables["incident"]
        evidence = variables["evidence"]
        started_at = (incident["started_at"] if incident else None) or (
            evidence["since"] if evidence and event in DOWN_EVENTS else None)
        ended_at = incident["ended_at"] if incident else None
        try:
            event_at = _moment(variables["event_at"])
            started = _moment(started_at)
            ended = _moment(ended_at)
        except (ValueError, TypeError) as error:
            raise RenderError(f"the message context holds a bad time: {error}") from error
        delay = (sent_at - event_at).total_seconds() if event_at is not None else 0.0
        late = delay > LATE_AFTER.total_seconds()
        kind = incident["kind"] if incident else None
        if kind is None and (event == "lan_fault" or variables["link"]["state"] == "lan_down"):
            kind = "lan"
        until = ended or event_at
        elapsed = (until - started).total_seconds() if started and until else None
        gtr_s = variables["isp"]["gtr_s"]
        variables.update(
            sent_at=sent_at,
            late=late,
            late_s=round(delay) if late else 0,
            while_down=event in DOWN_EVENTS,
            ref=incident["reference"] if incident else None,
            kind=kind,
            state=variables["link"]["state"],
            started_at=started_at,
            ended_at=ended_at,
            elapsed_s=round(elapsed) if elapsed is not None else None,
            duration_s=(incident["duration_s"] if incident else None) or (
                round(elapsed) if ended and elapsed is not None else None),
            gtr_s=gtr_s,
            gtr_due_at=(started + timedelta(seconds=gtr_s)).isoformat()
            if started and gtr_s else None,
            gtr_over_s=max(0, round(elapsed - gtr_s))
            if elapsed is not None and gtr_s else None,
            zone_name=self.zone_name(event_at or sent_at),
            language=self.language,
        )
        return variables

    # -- filters -----------------------------------------------------------------------------

    def local(
        self, value: Any, style: str = "long", seconds: bool = False, prose: bool = False,
        near: Iterable[datetime] = (),
    ) -> str:
        """``value`` (ISO text or datetime) in the site's zone, in this language.

        Styles: ``long`` "Thu 26 Nov 2026 14:02" / "jeu. 26 nov. 2026 14:02"; ``short`` without
        the year; ``date``; ``time`` "14:02"; ``near``: the time alone when ``value`` falls on
        the same local day as every moment in ``near``, else ``short`` (``long`` in another
        year). ``seconds`` adds the seconds to the time. ``prose`` (French only) writes a date
        for a sentence: "le jeu. 26 nov. 2026 à 14:02" ("14:02" alone stays as it is).
        """
        moment = _moment(value)
        if moment is None:
            return _MISSING
        shown = moment.astimezone(self.zone)
        clock = shown.strftime("%H:%M:%S" if seconds else "%H:%M")
        if style == "near":
            others = [other.astimezone(self.zone) for other in near]
            if all(other.date() == shown.date() for other in others):
                return clock
            style = "short" if all(other.year == shown.year for other in others) else "long"
        day = str(shown.day)
        if self.language == "fr" and shown.day == 1:
            day = "1er"
        weekday = _DAYS[self.language][shown.weekday()]
        date = f"{weekday} {day} {_MONTHS[self.language][shown.month - 1]}"
        if style == "time":
            return clock
        if style not in ("short", "date", "long"):
            raise ValueError(f"unknown time style {style!r}; use long, short, date, time or near")
        if style != "short":
            date = f"{date} {shown.year}"
        french = prose and self.language == "fr"
        if style == "date":
            return f"le {date}" if french else date
        return f"le {date} à {clock}" if french else f"{date} {clock}"

    def duration(self, seconds: Any, exact: bool = False) -> str:
        """Seconds for people: "2 h 14 min", "3 d 4 h" / "3 j 4 h"; ``exact`` keeps every unit."""
        if seconds is None:
            return _MISSING
        if exact:
            rest = max(0, round(float(seconds)))
            parts: list[str] = []
            for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
                count, rest = divmod(rest, size)
                if count:
                    parts.append(f"{count} {unit}")
            text = " ".join(parts) or "0 s"
        else:
            text = humanize(float(seconds))
        if self.language == "fr":
            text = re.sub(r"\b(\d+) d\b", r"\1 j", text)
        return text

    def yesno(self, value: Any) -> str:
        yes, no, unknown = _YES_NO[self.language]
        if value is None:
            return unknown
        return yes if value else no

    def milliseconds(self, value: Any) -> str:
        """A round trip: "0.8 ms", "24 ms" ("0,8 ms" in French); null: "—"."""
        if value is None:
            return _MISSING
        number = float(value)
        text = f"{number:.1f}" if number < 10 else f"{number:.0f}"
        if self.language == "fr":
            text = text.replace(".", ",")
        return f"{text} ms"

    def zone_name(self, moment: datetime) -> str:
        """The zone's name as people know it: "Europe/Paris", else its abbreviation ("UTC")."""
        key = getattr(self.zone, "key", None)
        if isinstance(key, str) and key and key != "localtime":
            return key
        return moment.astimezone(self.zone).tzname() or "UTC"

    # -- internals ---------------------------------------------------------------------------

    def _local_filter(self) -> Callable[..., str]:
        @pass_context
        def local(
            context: Context, value: Any, style: str = "long", seconds: bool = False,
            prose: bool = False, than: Any = None,
        ) -> str:
            # "near" the message's event and sending, or the moment given as ``than`` (the
            # end of a span shown next to its start).
            near: list[datetime] = []
            if style == "near":
                for moment in ([_moment(than)] if than is not None else
                               [_moment(context.get(name)) for name in ("event_at", "sent_at")]):
                    if moment is not None:
                        near.append(moment)
            return self.local(value, style, seconds, prose, near)

        return local

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self._env.get_template(name)
        except jinja2.TemplateNotFound as error:
            where = f"{self.override_dir} or the built-in templates" if self.override_dir else (
                "the built-in templates")
            raise RenderError(f"template {name!r} not found in {where}") from error
        except jinja2.TemplateSyntaxError as error:
            raise RenderError(
                f"template {error.filename or name!r} line {error.lineno}: {error.message}"
            ) from error

    def _render(self, name: str, variables: Mapping[str, Any]) -> str:
        template = self._template(name)
        try:
            return template.render(variables)
        except Exception as error:
            raise RenderError(f"template {name!r} failed: {error}") from error

    def _render_message(self, variables: Mapping[str, Any]) -> _Parts:
        """Render the event's template, then its subject, summary and lateness blocks."""
        name = f"{variables['event']}{TEMPLATE_SUFFIX}"
        template = self._template(name)
        context = template.new_context(dict(variables))
        try:
            # The whole template first: this runs the imports (``m``) the blocks rely on.
            body = "".join(template.root_render_func(context))
            blocks = {
                block: "".join(context.blocks[block][0](context))
                for block in ("subject", "summary", "late")
                if block in context.blocks
            }
        except Exception as error:
            raise RenderError(f"template {name!r} failed: {error}") from error
        if "subject" not in blocks:
            raise RenderError(f"template {name!r} has no {{% block subject %}}")
        return _Parts(
            title=_one_line(blocks["subject"]),
            summary=_one_line(blocks.get("summary", "")),
            late_line=_one_line(blocks.get("late", "")),
            body=_tidy(body),
        )

    def _payload(self, variables: Mapping[str, Any], parts: _Parts) -> dict[str, Any]:
        incident = variables["incident"] or {}

        def iso(value: Any) -> str | None:
            moment = _moment(value)
            return None if moment is None else moment.astimezone(self.zone).isoformat(
                timespec="seconds")

        values: dict[str, Any] = {
            "event": variables["event"],
            "audience": variables["audience"],
            "reference": variables["ref"],
            "kind": variables["kind"],
            "state": variables["state"],
            "started_at": iso(incident.get("started_at")),
            "ended_at": iso(incident.get("ended_at")),
            "duration_s": incident.get("duration_s"),
            "event_at": iso(variables["event_at"]),
            "sent_at": iso(variables["sent_at"]),
            "late_s": variables["late_s"],
            "gtr_breached": incident.get("gtr_breached"),
            "cuts": incident.get("cuts"),
            "site": variables["site"]["name"],
            "line_id": variables["isp"]["line_id"],
            "title": parts.title,
            "text": _join_lines(parts.summary, parts.late_line),
            "folded": [
                {"event": item["event"],
                 "step": (item["step"] or {}).get("number"),
                 "due_at": iso(item["due_at"]), "queued_at": iso(item["queued_at"]),
                 "attempts": item["attempts"],
                 "first_attempt_at": iso(item["first_attempt_at"]),
                 "last_attempt_at": iso(item["last_attempt_at"])}
                for item in variables["folded"]
            ],
        }
        return {key: values[key] for key in JSON_KEYS}


def tojson(value: Any) -> str:
    """``value`` as a JSON literal (quotes included): the safe way to put text in JSON."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, jinja2.Undefined):
        str(value)  # a misspelt name: StrictUndefined raises, naming it
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _moment(value: Any) -> datetime | None:
    """An aware datetime from ISO text or a datetime (naive ones are UTC); null: None."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # a misspelt name: StrictUndefined raises, naming it
        return None
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        if not value:
            return None
        moment = datetime.fromisoformat(value)
    else:
        raise ValueError(f"{value!r} is not a time")
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _ucfirst(text: Any) -> str:
    value = str(text)
    return value[:1].upper() + value[1:]


def _table(rows: Iterable[Iterable[Any]]) -> str:
    """Rows of cells as aligned columns, two spaces apart; null cells print as "—"."""
    cells = [[_MISSING if cell is None else str(cell) for cell in row] for row in rows]
    if not cells:
        return ""
    widths = [max(len(row[index]) for row in cells if index < len(row))
              for index in range(max(len(row) for row in cells))]
    return "\n".join(
        "  ".join(cell.ljust(widths[index]) for index, cell in enumerate(row)).rstrip()
        for row in cells
    )


def _fields(pairs: Iterable[Iterable[Any]]) -> str:
    """Label/value pairs as aligned lines; a pair whose value is null or empty is left out."""
    rows = [list(pair) for pair in pairs]
    return _table(row for row in rows if len(row) > 1 and row[1] is not None and row[1] != "")


def _one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed: a subject can never inject a header."""
    return " ".join(text.split())


def _join_lines(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline."""
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return tidy + "\n"
