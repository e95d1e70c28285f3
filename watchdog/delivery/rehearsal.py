"""Every template rendered once with sample data, before an outage needs it (``config check``).

A template is read when its first message is sent: a missing webhook template, or a broken
override in the config's ``templates/``, would otherwise show only then, as a message failed
for good. ``Rehearsal`` renders each event's message (the built-in templates and the config's
overrides of them) and each provider's own JSON templates (``Provider.rehearse``) with a
sample context made from the config (``sample_context``): what the daemon would send for a
cut now, in the site's language and zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from watchdog.config.schema import Config
from watchdog.config.zone import site_zone
from watchdog.delivery.message_context import MessageContext
from watchdog.delivery.render import Renderer, RenderError
from watchdog.vocabulary import (
    MESSAGE_EVENTS,
    TICKET_EVENTS,
    MessageEvent,
    audience_of,
    is_message_event,
)

# The sample outage: it began this long before the event the message is about.
SAMPLE_OUTAGE = timedelta(minutes=5)


def templates_directory(config: Config) -> Path | None:
    """The config's ``templates/`` (overrides and JSON templates), when it exists."""
    directory = config.source.parent / "templates" if config.source else None
    return directory if directory is not None and directory.is_dir() else None


def sample_context(config: Config, event: MessageEvent, now: datetime) -> MessageContext:
    """A context as the incident service stores it for ``event`` at ``now``: an ISP outage
    that began ``SAMPLE_OUTAGE`` earlier (a LAN fault for ``lan_fault``), its ticket, its
    first reminder, its end; the config's own site and contract."""
    start = now - SAMPLE_OUTAGE
    lan = event == "lan_fault"
    ended = event in ("recovered", "ticket_close")
    incident_events = set(TICKET_EVENTS) | {"outage_started", "ticket_opened", "escalated",
                                            "recovered", "lan_fault"}
    targets = [target.name for target in config.ping] or ["target"]
    context: dict[str, Any] = {
        "event": event,
        "audience": audience_of(event),
        "channel": "sample",
        "event_at": now.isoformat(),
        "site": {"name": config.site.name, "address": config.site.address,
                 "contact": config.site.contact},
        "isp": {"name": config.isp.name, "line_id": config.isp.line_id,
                "customer_ref": config.isp.customer_ref, "gtr_s": config.isp.gtr.total_seconds()},
        "incident": None, "evidence": None, "gap": None,
        "link": {"state": "up" if ended or event == "test" else "down",
                 "cause": "" if ended else "no internet target answers",
                 "since": start.isoformat()},
    }
    if event in incident_events:
        context["incident"] = {
            "reference": None if event in ("outage_started", "lan_fault") else
            f"{config.incidents.reference_prefix}-{now.year}-0001",
            "kind": "lan" if lan else "isp", "started_at": start.isoformat(),
            "ended_at": now.isoformat() if ended else None,
            "duration_s": SAMPLE_OUTAGE.total_seconds() if ended else None,
            "cuts": 1, "gtr_breached": False, "reminders_sent": 1 if ended else 0,
            "ticket_opened_at": start.isoformat(), "cause": "no internet target answers",
            "step": {"number": 1, "label": "gtr", "is_gtr": True, "due_at": now.isoformat()}
            if event in ("ticket_reminder", "escalated") else None,
        }
        context["evidence"] = {
            "gateway": None, "targets_total": len(targets), "targets_failing": len(targets),
            "failing": targets, "since": start.isoformat(), "cause_detail": None,
            "samples": [{"at": start.isoformat(), "target": name, "kind": "ping",
                         "address": "", "ok": False, "rtt_ms": None, "error": "timeout"}
                        for name in targets],
        }
    if event == "degraded":
        context["link"] = {"state": "degraded", "cause": "packet loss 30 % over the last minute",
                           "since": start.isoformat()}
    if event == "monitor_gap":
        context["gap"] = {"started_at": start.isoformat(), "ended_at": now.isoformat(),
                          "duration_s": SAMPLE_OUTAGE.total_seconds()}
    return cast("MessageContext", context)  # built key by key above, in its shape


class Rehearsal:
    """Renders with sample data; each method answers None (it renders) or why not."""

    def __init__(self, config: Config, now: datetime) -> None:
        self.config = config
        self.now = now
        self.renderer = Renderer(config.site.language, site_zone(config),
                                 templates_directory(config))

    def message(self, event: MessageEvent) -> str | None:
        """Whether ``event``'s message renders (its template, the config's override first)."""
        try:
            self.renderer.email(sample_context(self.config, event, self.now), self.now)
        except RenderError as error:
            return str(error)
        return None

    def json_template(self, template: str, events: Sequence[str]) -> str | None:
        """Whether the user's JSON ``template`` is found and renders valid JSON for each of
        ``events`` (the first failure's reason)."""
        for event in events:
            if not is_message_event(event):
                continue
            context = sample_context(self.config, event, self.now)
            try:
                self.renderer.json_body(context, self.now, template)
            except RenderError as error:
                return f"{error} (rendering a sample {event} message)"
        return None

    def problems(self) -> list[tuple[str, str]]:
        """Every message event's template and every provider's own templates: (key, what is
        wrong; the fix)."""
        from watchdog.channels.registry import configured

        found: list[tuple[str, str]] = []
        overrides = templates_directory(self.config)
        where = f"templates ({overrides})" if overrides else "templates"
        for event in MESSAGE_EVENTS:
            problem = self.message(event)
            if problem:
                found.append((where, f"{problem}; fix the template, or remove the override "
                              "to use the built-in one"))
        for channel in configured(self.config):
            found.extend(channel.provider.rehearse(channel.entry, channel.where, self))
        return found
