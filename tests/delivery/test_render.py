"""Messages in words: every event in both languages, lateness, local times, overrides, JSON."""

from __future__ import annotations

import functools
import json
import locale
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from watchdog.delivery.render import (
    JSON_KEYS,
    LATE_AFTER,
    RenderedEmail,
    Renderer,
    RenderError,
)
from watchdog.vocabulary import DOWN_EVENTS, MESSAGE_EVENTS, NOTIFY_EVENTS, TICKET_EVENTS

PARIS = ZoneInfo("Europe/Paris")
EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "templates" / "examples"

# Thursday 26 November 2026, 14:02:05 in Paris (UTC+1 in winter).
START = datetime(2026, 11, 26, 13, 2, 5, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def sample(at: datetime, target: str, address: str, ok: bool, rtt: float | None,
           kind: str = "ping", error: str | None = None) -> dict[str, Any]:
    return {"at": iso(at), "target": target, "kind": kind, "address": address, "ok": ok,
            "rtt_ms": rtt, "error": error}


def make_context(event: str, kind: str = "isp", start: datetime = START) -> dict[str, Any]:
    """A realistic context, as the incident code stores it, for ``event``."""
    lan = kind == "lan" or event == "lan_fault"
    event_at = start + timedelta(minutes=2)
    incident: dict[str, Any] | None = {
        "reference": "WD-2026-0007", "kind": "lan" if lan else kind, "started_at": iso(start),
        "ended_at": None, "duration_s": None, "cuts": 1, "gtr_breached": False,
        "reminders_sent": 0, "ticket_opened_at": iso(start + timedelta(minutes=2)),
        "cause": "gateway down" if lan else "3 of 3 ping targets unreachable; gateway answers",
        "step": None,
    }
    gateway_ok = not lan
    evidence: dict[str, Any] | None = {
        "gateway": {"address": "192.0.2.1", "ok": gateway_ok,
                    "rtt_ms": 0.8 if gateway_ok else None},
        "targets_total": 3, "targets_failing": 3, "failing": ["cloudflare", "google", "quad9"],
        "since": iso(start),
        "samples": [
            sample(start, "gateway", "192.0.2.1", gateway_ok, 0.8 if gateway_ok else None,
                   kind="gateway", error=None if gateway_ok else "timeout"),
            sample(start, "cloudflare", "203.0.113.1", False, None, error="timeout"),
            sample(start + timedelta(seconds=1), "google", "203.0.113.2", False, None,
                   error="timeout"),
        ],
    }
    link: dict[str, Any] = {"state": "lan_down" if lan else "down",
                            "cause": "no answer from 3 of 3 targets", "since": iso(start)}
    gap = None
    assert incident is not None
    if event in ("outage_started", "lan_fault"):
        incident["reference"] = None
        incident["ticket_opened_at"] = None
        event_at = start + timedelta(seconds=6)
    elif event in ("ticket_reminder", "escalated"):
        event_at = start + timedelta(hours=4)
        incident["step"] = {"number": 1, "label": "gtr", "is_gtr": True, "due_at": iso(event_at)}
        incident["gtr_breached"] = True
    elif event == "ticket_reopened":
        event_at = start + timedelta(hours=1, minutes=38)
        incident["cuts"] = 3
    elif event in ("ticket_close", "recovered"):
        end = start + timedelta(hours=5, minutes=14, seconds=5)
        event_at = end
        incident.update(ended_at=iso(end), duration_s=18845.0, gtr_breached=True,
                        reminders_sent=1, cuts=2)
        link = {"state": "up", "cause": None, "since": iso(end)}
    elif event == "degraded":
        incident = None
        evidence = None
        link = {"state": "degraded", "cause": "packet loss 35% over the last minute",
                "since": iso(start)}
    elif event == "monitor_gap":
        incident = None
        evidence = None
        gap_start = start - timedelta(hours=12)
        gap = {"started_at": iso(gap_start), "ended_at": iso(gap_start + timedelta(hours=4)),
               "duration_s": 4 * 3600.0}
        event_at = gap_start + timedelta(hours=4)
        link = {"state": "up", "cause": None, "since": iso(event_at)}
    elif event == "test":
        incident = None
        evidence = None
        link = {"state": "up", "cause": None, "since": iso(start - timedelta(days=2))}
    return {
        "event": event,
        "audience": "ticket" if event in TICKET_EVENTS else "notify",
        "channel": "isp-helpdesk" if event in TICKET_EVENTS else "management",
        "event_at": iso(event_at),
        "site": {"name": "Example Office", "address": "12 rue de la Paix, 75002 Paris",
                 "contact": "Jane Doe, +33 1 23 45 67 89"},
        "isp": {"name": "Orange", "line_id": "FTTH-42", "customer_ref": "C-998877",
                "gtr_s": 14400.0},
        "incident": incident,
        "evidence": evidence,
        "link": link,
        "gap": gap,
    }


def nulled(event: str) -> dict[str, Any]:
    """The same context with every nullable part null and every optional text empty."""
    context = make_context(event)
    context.update(incident=None, evidence=None, gap=None, channel=None, link=None)
    context["site"] = {"name": None, "address": None, "contact": None}
    context["isp"] = {"name": None, "line_id": None, "customer_ref": None, "gtr_s": None}
    return context


def on_time(context: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(context["event_at"]) + timedelta(seconds=3)


@pytest.fixture
def en() -> Renderer:
    return renderer("en")


@pytest.fixture
def fr() -> Renderer:
    return renderer("fr")


@functools.cache
def renderer(language: str) -> Renderer:
    """One renderer per language for the whole module (templates compile once)."""
    return Renderer(language, PARIS)


# -- every event, both languages ----------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("event", MESSAGE_EVENTS)
@pytest.mark.parametrize("kind", ["isp", "lan", "dns"])
def test_every_event_renders_a_complete_message(event: str, language: str, kind: str) -> None:
    context = make_context(event, kind)
    sent_at = on_time(context)
    mail = renderer(language).email(context, sent_at)
    assert isinstance(mail, RenderedEmail)
    assert mail.subject and "\n" not in mail.subject
    assert "None" not in mail.subject + mail.text
    assert "  " not in mail.subject
    assert mail.text.endswith("\n") and "\n\n\n" not in mail.text
    # The event's time, in local time, is always stated (with seconds, in the footer).
    event_local = datetime.fromisoformat(context["event_at"]).astimezone(PARIS)
    assert event_local.strftime("%H:%M:%S") in mail.text
    assert "Europe/Paris" in mail.text
    payload = json.loads(renderer(language).json_body(context, sent_at))
    assert tuple(payload) == JSON_KEYS
    assert payload["title"] == mail.subject
    assert payload["text"] == mail.text.splitlines()[0]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("event", MESSAGE_EVENTS)
def test_every_event_renders_with_the_nullable_parts_null(event: str, language: str) -> None:
    for context in (nulled(event), {"event": event, "event_at": iso(START)}, {"event": event}):
        sent_at = START + timedelta(hours=3)
        mail = renderer(language).email(context, sent_at)
        assert mail.subject and "None" not in mail.subject + mail.text
        assert "  " not in mail.subject
        json.loads(renderer(language).json_body(context, sent_at))


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("event", ["ticket_open", "ticket_reminder", "ticket_reopened"])
def test_evidence_with_missing_parts_still_renders(event: str, language: str) -> None:
    context = make_context(event)
    context["evidence"].update(gateway=None, since=None, targets_total=None,
                               targets_failing=None, failing=None,
                               samples=[{"at": None}, {"target": "x"}])
    mail = renderer(language).email(context, on_time(context))
    assert "None" not in mail.text


# -- tickets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("event", TICKET_EVENTS)
@pytest.mark.parametrize("kind", ["isp", "dns", "lan"])
def test_ticket_subjects_carry_the_reference_and_the_line(
    event: str, language: str, kind: str
) -> None:
    context = make_context(event, kind)
    subject = renderer(language).email(context, on_time(context)).subject
    assert subject.startswith("[WD-2026-0007] ")
    if not (kind == "lan" and event in ("ticket_reopened", "ticket_close")):
        assert "FTTH-42" in subject
    assert subject.endswith("— Example Office")


def test_ticket_open_is_a_complete_incident_report(en: Renderer) -> None:
    context = make_context("ticket_open")
    mail = en.email(context, on_time(context))
    assert mail.subject == (
        "[WD-2026-0007] Line FTTH-42 down since Thu 26 Nov 14:02 — Example Office")
    text = mail.text
    assert text.splitlines()[0] == (
        "Line FTTH-42 at Example Office has been down since Thu 26 Nov 2026 14:02.")
    for fact in ("Example Office", "12 rue de la Paix, 75002 Paris", "FTTH-42", "C-998877",
                 "Orange", "4 h (contract GTR), due by Thu 26 Nov 2026 18:02",
                 "Thu 26 Nov 2026 14:02:05 (Europe/Paris)", "Jane Doe, +33 1 23 45 67 89",
                 "Reference to quote:  WD-2026-0007",
                 "3 of 3 ping targets unreachable; gateway answers"):
        assert fact in text, fact
    assert ("The gateway 192.0.2.1 answers, but 3 of 3 internet targets are unreachable "
            "since 14:02:05.") in text
    assert "the fault is beyond the office" in text
    assert "Reminders will follow on schedule until the line is repaired." in text
    # The evidence table: a header and one aligned row per sample, in local time.
    lines = text.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("Time "))
    assert lines[header].split() == ["Time", "Target", "Check", "Address", "Result", "Round",
                                     "trip", "Error"]
    assert lines[header + 1].split() == ["14:02:05", "gateway", "gateway", "192.0.2.1", "ok",
                                         "0.8", "ms"]
    assert lines[header + 2].split() == ["14:02:05", "cloudflare", "ping", "203.0.113.1", "failed",
                                         "—", "timeout"]
    assert lines[header + 3].split()[0] == "14:02:06"
    assert lines[header + 1].index("192.0.2.1") == lines[header + 2].index("203.0.113.1")


def test_ticket_open_in_french(fr: Renderer) -> None:
    context = make_context("ticket_open")
    mail = fr.email(context, on_time(context))
    assert mail.subject == (
        "[WD-2026-0007] Ligne FTTH-42 coupée depuis le jeu. 26 nov. à 14:02 — Example Office")
    assert mail.text.startswith(
        "La ligne FTTH-42 du site Example Office est coupée depuis le jeu. 26 nov. 2026 à 14:02.")
    for fact in ("Merci de rétablir la ligne", "Réf. client :", "GTR (contrat) :",
                 "La passerelle 192.0.2.1 répond, mais 3 cibles Internet sur 3 sont "
                 "injoignables depuis 14:02:05.", "Heure", "Aller-retour", "échec", "0,8 ms",
                 "Des relances suivront selon le calendrier prévu"):
        assert fact in mail.text, fact


@pytest.mark.parametrize(("language", "local_words", "not_isp"), [
    ("en", "local fault (gateway, router, switch or cable)", "not the internet provider's"),
    ("fr", "panne locale (passerelle, routeur, commutateur ou câble)",
     "pas d'une panne de l'opérateur"),
])
def test_a_lan_ticket_says_the_fault_is_local(
    language: str, local_words: str, not_isp: str
) -> None:
    context = make_context("ticket_open", "lan")
    mail = renderer(language).email(context, on_time(context))
    assert local_words in mail.text
    assert not_isp in mail.text
    assert "GTR" not in mail.text


def test_ticket_reminder_at_the_gtr_step(en: Renderer, fr: Renderer) -> None:
    context = make_context("ticket_reminder")
    english = en.email(context, on_time(context))
    assert english.subject == (
        "[WD-2026-0007] Reminder 1: line FTTH-42 still down since Thu 26 Nov 14:02, "
        "repair-time guarantee (4 h) exceeded — Example Office")
    assert "The contract's repair-time guarantee (GTR) of 4 h is exceeded" in english.text
    french = fr.email(context, on_time(context))
    assert french.subject.startswith("[WD-2026-0007] Relance 1 : ligne FTTH-42 toujours coupée")
    assert "garantie de temps de rétablissement (4 h) dépassée" in french.subject
    assert "La garantie de temps de rétablissement (GTR) du contrat, 4 h, est dépassée" in (
        french.text)


def test_a_later_reminder_counts_and_does_not_repeat_the_gtr_in_its_subject(
    en: Renderer, fr: Renderer
) -> None:
    context = make_context("ticket_reminder")
    context["event_at"] = iso(START + timedelta(hours=24))
    context["incident"]["step"] = {"number": 2, "label": "24h", "is_gtr": False,
                                   "due_at": context["event_at"]}
    context["incident"]["reminders_sent"] = 1
    english = en.email(context, on_time(context))
    assert english.subject.startswith("[WD-2026-0007] Reminder 2: line FTTH-42 still down")
    assert "exceeded" not in english.subject
    assert "The repair-time guarantee (4 h) was exceeded 20 h ago." in english.text
    assert "still down after 1 d" in english.text
    french = fr.email(context, on_time(context))
    assert french.subject.startswith("[WD-2026-0007] Relance 2 :")
    assert "au bout de 1 j" in french.text


def test_ticket_reopened_names_the_cut(en: Renderer, fr: Renderer) -> None:
    context = make_context("ticket_reopened")
    english = en.email(context, on_time(context))
    assert english.subject == "[WD-2026-0007] Line FTTH-42 down again (cut 3) — Example Office"
    assert "This is cut 3 in this incident, which began on Thu 26 Nov 2026 14:02." in english.text
    french = fr.email(context, on_time(context))
    assert french.subject == (
        "[WD-2026-0007] Ligne FTTH-42 de nouveau coupée (coupure n° 3) — Example Office")


def test_ticket_close_gives_the_record(en: Renderer, fr: Renderer) -> None:
    context = make_context("ticket_close")
    english = en.email(context, on_time(context))
    assert english.subject == (
        "[WD-2026-0007] Line FTTH-42 back up after 5 h 14 min — Example Office")
    for fact in ("Down from:         Thu 26 Nov 2026 14:02:05",
                 "Back up at:        Thu 26 Nov 2026 19:16:10",
                 "Duration:          5 h 14 min 5 s",
                 "Repair guarantee:  exceeded by 1 h 14 min (guarantee 4 h)",
                 "Reminders sent:    1",
                 "Cuts:              2 (merged into this incident)"):
        assert fact in english.text, fact
    french = fr.email(context, on_time(context))
    assert french.subject == (
        "[WD-2026-0007] Ligne FTTH-42 rétablie après 5 h 14 min — Example Office")
    assert "dépassée de 1 h 14 min (garantie de 4 h)" in french.text
    assert "Relances envoyées :" in french.text
    context["incident"].update(gtr_breached=False, duration_s=3 * 3600.0,
                               ended_at=iso(START + timedelta(hours=3)))
    assert "Repair guarantee:  met (guarantee 4 h)" in en.email(context, on_time(context)).text
    assert "respectée (garantie de 4 h)" in fr.email(context, on_time(context)).text


# -- management ----------------------------------------------------------------------------------


def test_management_first_lines_say_it_all(en: Renderer) -> None:
    firsts = {}
    for event in NOTIFY_EVENTS:
        context = make_context(event)
        firsts[event] = en.email(context, on_time(context)).text.splitlines()[0]
    assert firsts["outage_started"] == "Internet down since 14:02 (ISP side)"
    assert firsts["ticket_opened"] == (
        "Internet down since 14:02 (ISP side) — ticket WD-2026-0007 opened")
    assert firsts["escalated"] == (
        "Internet still down after 4 h — repair-time guarantee exceeded, reminder 1 sent to "
        "Orange (ticket WD-2026-0007)")
    assert firsts["recovered"] == (
        "Internet back at 19:16 after 5 h 14 min — repair-time guarantee (4 h) exceeded by "
        "1 h 14 min")
    assert firsts["lan_fault"] == (
        "Office network fault since 14:02 — local, not the internet provider")
    assert firsts["degraded"] == "Internet slow or unreliable since 14:02"
    assert firsts["monitor_gap"] == (
        "Watchdog not running from 02:02 to 06:02 (4 h)")
    assert firsts["test"] == 'Test message from the internet watchdog (channel "management")'


def test_management_subjects_name_the_site(en: Renderer) -> None:
    context = make_context("ticket_opened")
    mail = en.email(context, on_time(context))
    assert mail.subject == (
        "[Example Office] Internet down since 14:02 (ISP side) — ticket WD-2026-0007 opened")


def test_management_messages_in_french(fr: Renderer) -> None:
    expected = {
        "outage_started": "Internet coupé depuis 14:02 (côté opérateur)",
        "ticket_opened": "Internet coupé depuis 14:02 (côté opérateur) — ticket WD-2026-0007 "
                         "ouvert",
        "recovered": "Internet rétabli depuis 19:16 après 5 h 14 min de coupure — garantie de "
                     "rétablissement (4 h) dépassée de 1 h 14 min",
        "lan_fault": "Panne du réseau du bureau depuis 14:02 — panne locale, pas l'opérateur",
        "degraded": "Internet lent ou instable depuis 14:02",
        "test": "Message de test de la surveillance Internet (canal « management »)",
    }
    for event, first in expected.items():
        context = make_context(event)
        assert fr.email(context, on_time(context)).text.splitlines()[0] == first


def test_escalated_says_what_was_sent(en: Renderer) -> None:
    context = make_context("escalated")
    text = en.email(context, on_time(context)).text
    assert "Sent to Orange: reminder 1 about ticket WD-2026-0007" in text
    assert "The breach is recorded." in text


def test_lan_fault_and_degraded_and_gap_and_test_say_what_they_are(en: Renderer) -> None:
    lan = make_context("lan_fault")
    assert "The internet provider is not involved" in en.email(lan, on_time(lan)).text
    degraded = make_context("degraded")
    assert "packet loss 35% over the last minute" in en.email(degraded, on_time(degraded)).text
    gap = make_context("monitor_gap")
    text = en.email(gap, on_time(gap)).text
    assert "its state then is unknown" in text
    assert "From Thu 26 Nov 2026 02:02:05 to Thu 26 Nov 2026 06:02:05" in text
    test = make_context("test")
    text = en.email(test, on_time(test)).text
    assert "This is a test" in text and 'channel "management"' in text


def test_recovered_when_the_guarantee_was_met(en: Renderer) -> None:
    context = make_context("recovered")
    context["incident"].update(gtr_breached=False, duration_s=3600.0,
                               ended_at=iso(START + timedelta(hours=1)))
    context["event_at"] = context["incident"]["ended_at"]
    first = en.email(context, on_time(context)).text.splitlines()[0]
    assert first == "Internet back at 15:02 after 1 h — repair-time guarantee (4 h) met"


# -- French is French ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", MESSAGE_EVENTS)
def test_french_messages_are_in_french(fr: Renderer, event: str) -> None:
    context = make_context(event)
    mail = fr.email(context, on_time(context))
    text = mail.subject + "\n" + mail.text
    assert "Heure de l'événement : jeu. 26 nov. 2026" in text or event == "monitor_gap"
    for english in (" since ", " down ", "Reminder", " the ", "Sent ", "Thu ", " Nov "):
        assert english not in text.replace("3 of 3 ping targets unreachable; gateway answers",
                                           "").replace("packet loss 35% over the last minute",
                                                       ""), (english, text)


@pytest.fixture
def foreign_locale() -> Iterator[str]:
    """LC_TIME set to some other language than the one rendered, if the system has one."""
    previous = locale.setlocale(locale.LC_TIME)
    chosen = "C"
    for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "en_US.UTF-8", "C.UTF-8", "C"):
        try:
            locale.setlocale(locale.LC_TIME, name)
        except locale.Error:
            continue
        chosen = name
        break
    try:
        yield chosen
    finally:
        locale.setlocale(locale.LC_TIME, previous)


def test_dates_do_not_depend_on_the_process_locale(foreign_locale: str) -> None:
    context = make_context("ticket_open")
    assert "jeu. 26 nov. 2026" in renderer("fr").email(context, on_time(context)).text
    assert "Thu 26 Nov 2026" in renderer("en").email(context, on_time(context)).text


def test_french_day_and_month_names() -> None:
    french = renderer("fr")
    assert french.local("2026-12-01T10:00:00+00:00") == "mar. 1er déc. 2026 11:00"
    assert french.local("2026-02-08T10:00:00+00:00", prose=True) == "le dim. 8 févr. 2026 à 11:00"
    assert french.local("2026-08-15T10:00:00+00:00", "short") == "sam. 15 août 12:00"
    english = renderer("en")
    assert english.local("2026-12-01T10:00:00+00:00") == "Tue 1 Dec 2026 11:00"
    assert english.local("2026-08-15T10:00:00+00:00", "date") == "Sat 15 Aug 2026"
    assert english.local(None) == "—"


def test_durations_per_language() -> None:
    assert renderer("en").duration(3 * 86400 + 4 * 3600 + 60) == "3 d 4 h"
    assert renderer("fr").duration(3 * 86400 + 4 * 3600 + 60) == "3 j 4 h"
    assert renderer("fr").duration(2 * 3600 + 14 * 60 + 5) == "2 h 14 min"
    assert renderer("en").duration(86400 + 65, exact=True) == "1 d 1 min 5 s"
    assert renderer("fr").duration(0, exact=True) == "0 s"
    assert renderer("fr").yesno(True) == "oui"
    assert renderer("en").yesno(None) == "unknown"


# -- lateness -----------------------------------------------------------------------------------


LATE = timedelta(hours=2, minutes=14)


@pytest.mark.parametrize("event", MESSAGE_EVENTS)
def test_a_late_message_says_so_and_keeps_its_subject(en: Renderer, event: str) -> None:
    context = make_context(event)
    event_at = datetime.fromisoformat(context["event_at"])
    prompt = en.email(context, event_at + LATE_AFTER)
    late = en.email(context, event_at + LATE)
    assert prompt.text.splitlines()[1] == ""
    assert late.subject == prompt.subject
    second = late.text.splitlines()[1]
    if event in DOWN_EVENTS:
        assert second.startswith("Sent 2 h 14 min after ")
        assert second.endswith(", while the link was down.")
    else:
        assert second == "Sent 2 h 14 min after the event happened."
    payload = json.loads(en.json_body(context, event_at + LATE))
    assert payload["late_s"] == LATE.total_seconds()
    assert payload["text"].endswith(second)
    assert json.loads(en.json_body(context, event_at + LATE_AFTER))["late_s"] == 0


def test_lateness_wording(en: Renderer, fr: Renderer) -> None:
    context = make_context("outage_started")
    sent_at = datetime.fromisoformat(context["event_at"]) + LATE
    assert "Sent 2 h 14 min after the outage began, while the link was down." in (
        en.email(context, sent_at).text)
    assert ("Envoyé 2 h 14 min après le début de la panne, pendant que la liaison était "
            "coupée.") in fr.email(context, sent_at).text
    recovered = make_context("recovered")
    sent_at = datetime.fromisoformat(recovered["event_at"]) + LATE
    assert "Envoyé 2 h 14 min après l'événement." in fr.email(recovered, sent_at).text
    assert "while the link was down" not in en.email(recovered, sent_at).text


def test_a_message_a_minute_late_is_not_late_but_one_second_more_is(en: Renderer) -> None:
    context = make_context("ticket_open")
    event_at = datetime.fromisoformat(context["event_at"])
    assert en.email(context, event_at + timedelta(seconds=60)).text.splitlines()[1] == ""
    assert "Sent 1 min 1 s after the ticket was opened" in (
        en.email(context, event_at + timedelta(seconds=61)).text)


def test_a_late_message_shows_dates_where_a_time_alone_would_mislead(en: Renderer) -> None:
    context = make_context("outage_started")
    sent_at = datetime.fromisoformat(context["event_at"]) + timedelta(days=1)
    first = en.email(context, sent_at).text.splitlines()[0]
    assert first == "Internet down since Thu 26 Nov 14:02 (ISP side)"


# -- time zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "offset"), [
    (datetime(2026, 1, 15, 13, 2, 5, tzinfo=UTC), "+01:00"),
    (datetime(2026, 7, 15, 12, 2, 5, tzinfo=UTC), "+02:00"),
])
def test_times_are_shown_in_the_site_zone_winter_and_summer(
    start: datetime, offset: str
) -> None:
    context = make_context("ticket_open", start=start)
    english = renderer("en")
    mail = english.email(context, on_time(context))
    assert "14:02 — Example Office" in mail.subject
    assert "since 14:02:05" in mail.text
    payload = json.loads(english.json_body(context, on_time(context)))
    assert payload["started_at"] == start.astimezone(PARIS).isoformat(timespec="seconds")
    assert payload["started_at"].endswith(offset)
    assert payload["event_at"].endswith(offset) and payload["sent_at"].endswith(offset)


def test_another_zone_and_utc() -> None:
    context = make_context("outage_started")
    new_york = Renderer("en", ZoneInfo("America/New_York"))
    assert new_york.email(context, on_time(context)).text.startswith("Internet down since 08:02")
    utc = Renderer("en", UTC)
    mail = utc.email(context, on_time(context))
    assert mail.text.startswith("Internet down since 13:02")
    assert "(UTC)" in mail.text


# -- JSON ---------------------------------------------------------------------------------------


def test_the_built_in_json_payload(en: Renderer) -> None:
    context = make_context("recovered")
    sent_at = datetime.fromisoformat(context["event_at"]) + LATE
    payload = json.loads(en.json_body(context, sent_at))
    assert payload == {
        "event": "recovered",
        "audience": "notify",
        "reference": "WD-2026-0007",
        "kind": "isp",
        "state": "up",
        "started_at": "2026-11-26T14:02:05+01:00",
        "ended_at": "2026-11-26T19:16:10+01:00",
        "duration_s": 18845.0,
        "event_at": "2026-11-26T19:16:10+01:00",
        "sent_at": "2026-11-26T21:30:10+01:00",
        "late_s": 8040,
        "gtr_breached": True,
        "cuts": 2,
        "site": "Example Office",
        "line_id": "FTTH-42",
        "title": "[Example Office] Internet back at 19:16 after 5 h 14 min — repair-time "
                 "guarantee (4 h) exceeded by 1 h 14 min",
        "text": "Internet back at 19:16 after 5 h 14 min — repair-time guarantee (4 h) exceeded "
                "by 1 h 14 min\nSent 2 h 14 min after the event happened.",
        "folded": [],
    }


HOSTILE = 'Bureau "Nord"\n\\ }, "injected": true, {'


def hostile_context(event: str) -> dict[str, Any]:
    context = make_context(event)
    context["site"]["name"] = HOSTILE
    context["site"]["contact"] = 'Jean "JJ" Dupont\r\n+33 1 02 03 04 05'
    if context["incident"]:
        context["incident"]["cause"] = 'targets "down"\nline two'
    return context


def test_a_user_json_template_with_tojson_is_valid_json(tmp_path: Path) -> None:
    (tmp_path / "hook.json.j2").write_text(
        '{"title": {{ title|tojson }}, "site": {{ site.name|tojson }},\n'
        ' "body": {{ body|tojson }}, "started": {{ started_at|tojson }},\n'
        ' "late": {{ late|tojson }}, "payload": {{ payload|tojson }}}\n'
    )
    english = Renderer("en", PARIS, tmp_path)
    for event in MESSAGE_EVENTS:
        context = hostile_context(event)
        body = english.json_body(context, on_time(context), "hook.json.j2")
        value = json.loads(body)
        assert value["site"] == HOSTILE
        assert "injected" not in value
        assert value["payload"]["event"] == event
        assert value["title"] == english.email(context, on_time(context)).subject
    assert "\n" not in value["title"]


def test_a_json_template_without_tojson_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json.j2").write_text('{"site": "{{ site.name }}"}')
    context = hostile_context("test")
    with pytest.raises(RenderError, match=r"'bad.json.j2' did not render valid JSON.*tojson"):
        Renderer("en", PARIS, tmp_path).json_body(context, on_time(context), "bad.json.j2")


def test_a_missing_json_template_is_a_clear_error(tmp_path: Path) -> None:
    context = make_context("test")
    with pytest.raises(RenderError, match=r"template 'nope.json.j2' not found in"):
        Renderer("en", PARIS, tmp_path).json_body(context, on_time(context), "nope.json.j2")
    with pytest.raises(RenderError, match="not found"):
        Renderer("en", PARIS).json_body(context, on_time(context), "nope.json.j2")


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("example", ["slack.json.j2", "ntfy.json.j2", "teams.json.j2"])
def test_the_example_webhook_templates_render_valid_json(language: str, example: str) -> None:
    shipped = Renderer(language, PARIS, EXAMPLES)
    for event in NOTIFY_EVENTS:
        for context in (hostile_context(event), nulled(event)):
            body = json.loads(shipped.json_body(context, on_time(context), example))
            assert body


def test_the_example_templates_carry_the_message(en: Renderer) -> None:
    shipped = Renderer("en", PARIS, EXAMPLES)
    context = make_context("ticket_opened")
    subject = en.email(context, on_time(context)).subject
    slack = json.loads(shipped.json_body(context, on_time(context), "slack.json.j2"))
    assert slack["text"] == subject
    ntfy = json.loads(shipped.json_body(context, on_time(context), "ntfy.json.j2"))
    assert ntfy["title"] == subject and ntfy["priority"] == 4
    teams = json.loads(shipped.json_body(context, on_time(context), "teams.json.j2"))
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == subject
    assert {"title": "Ticket", "value": "WD-2026-0007"} in card["body"][2]["facts"]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_example_helpdesk_template_renders_every_ticket_event(language: str) -> None:
    shipped = Renderer(language, PARIS, EXAMPLES)
    for event in TICKET_EVENTS:
        for context in (hostile_context(event), nulled(event)):
            body = json.loads(shipped.json_body(context, on_time(context), "helpdesk.json.j2"))
            assert body["status"] == ("resolved" if event == "ticket_close" else "open")
    context = make_context("ticket_open")
    body = json.loads(shipped.json_body(context, on_time(context), "helpdesk.json.j2"))
    assert body["external_reference"] == "WD-2026-0007"
    assert body["custom_fields"]["line_id"] == "FTTH-42"


def test_the_examples_readme_names_the_config_keys() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    assert "notify.webhook" in readme and "tickets.rest" in readme
    assert 'template = "slack.json.j2"' in readme and 'body_template = "helpdesk.json.j2"' in readme
    for name in ("slack.json.j2", "ntfy.json.j2", "teams.json.j2", "helpdesk.json.j2"):
        assert (EXAMPLES / name).is_file()


# -- overrides ----------------------------------------------------------------------------------


def test_an_override_wins_for_one_template_and_the_others_stay_built_in(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "ticket_open.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}\n'
        "{% block subject %}Coupure {{ ref }} sur {{ isp.line_id }}{% endblock %}\n"
        "{% block summary %}Notre ligne est coupée.{% endblock %}\n"
        "{% block body %}Merci de nous rappeler.{% endblock %}\n"
    )
    french = Renderer("fr", PARIS, tmp_path)
    context = make_context("ticket_open")
    mail = french.email(context, on_time(context) + LATE)
    assert mail.subject == "Coupure WD-2026-0007 sur FTTH-42"
    assert mail.text.startswith("Notre ligne est coupée.\nEnvoyé 2 h 14 min après")
    assert "Merci de nous rappeler." in mail.text
    assert "Heure de l'événement : jeu. 26 nov. 2026 14:04:05" in mail.text
    close = make_context("ticket_close")
    assert french.email(close, on_time(close)).subject.startswith(
        "[WD-2026-0007] Ligne FTTH-42 rétablie")
    # The English renderer does not see a French override.
    english = Renderer("en", PARIS, tmp_path)
    assert english.email(context, on_time(context)).subject.startswith("[WD-2026-0007] Line")


def test_an_override_for_every_language_and_the_language_one_first(tmp_path: Path) -> None:
    (tmp_path / "test.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}ALL{% endblock %}'
        "{% block summary %}all{% endblock %}")
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "test.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}EN{% endblock %}'
        "{% block summary %}en{% endblock %}")
    context = make_context("test")
    assert Renderer("en", PARIS, tmp_path).email(context, on_time(context)).subject == "EN"
    assert Renderer("fr", PARIS, tmp_path).email(context, on_time(context)).subject == "ALL"


def test_an_override_of_the_shared_macros_changes_every_message(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    builtin = Path(__file__).resolve().parents[2] / "watchdog" / "templates" / "en"
    macros = (builtin / "_macros.txt.j2").read_text()
    (tmp_path / "en" / "_macros.txt.j2").write_text(
        macros.replace("Automatic message from connectivity-watchdog", "Sent by our robot"))
    english = Renderer("en", PARIS, tmp_path)
    for event in ("ticket_open", "recovered"):
        context = make_context(event)
        assert "Sent by our robot, Example Office." in english.email(context, on_time(context)).text


def test_a_typo_in_a_template_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "test.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}{{ sitee.name }}{% endblock %}')
    context = make_context("test")
    with pytest.raises(RenderError, match=r"'test.txt.j2' failed: 'sitee' is undefined"):
        Renderer("en", PARIS, tmp_path).email(context, on_time(context))
    (tmp_path / "test.txt.j2").write_text("{% block subject %}{{ oops {% endblock %}")
    with pytest.raises(RenderError, match="line 1"):
        Renderer("en", PARIS, tmp_path).email(context, on_time(context))
    (tmp_path / "test.txt.j2").write_text("no blocks")
    with pytest.raises(RenderError, match=re.escape("no {% block subject %}")):
        Renderer("en", PARIS, tmp_path).email(context, on_time(context))


# -- contract edges ------------------------------------------------------------------------------


def test_the_subject_is_one_line_whatever_the_config_says(en: Renderer) -> None:
    context = make_context("ticket_open")
    context["site"]["name"] = "Office\r\nBcc: victim@example.com"
    subject = en.email(context, on_time(context)).subject
    assert "\n" not in subject and "\r" not in subject
    assert subject.endswith("— Office Bcc: victim@example.com")


def test_bad_calls_are_refused() -> None:
    context = make_context("test")
    with pytest.raises(ValueError, match="language 'de'"):
        Renderer("de", PARIS)
    with pytest.raises(ValueError, match="no time zone"):
        renderer("en").email(context, datetime(2026, 1, 1))
    with pytest.raises(RenderError, match="unknown event 'party'"):
        renderer("en").email({**context, "event": "party"}, on_time(context))


def test_the_renderer_reads_datetimes_as_well_as_text(en: Renderer) -> None:
    context = make_context("outage_started")
    context["event_at"] = datetime.fromisoformat(context["event_at"])
    context["incident"]["started_at"] = START.replace(tzinfo=None)  # naive: UTC
    assert en.email(context, on_time({"event_at": iso(context["event_at"])})).text.startswith(
        "Internet down since 14:02")


def test_a_bad_time_in_the_context_is_a_render_error(en: Renderer) -> None:
    context = make_context("outage_started")
    context["event_at"] = "yesterday"
    with pytest.raises(RenderError, match="bad time"):
        en.email(context, START)


def test_a_local_fault_without_an_incident_is_still_local(en: Renderer) -> None:
    context = make_context("outage_started", "lan")
    context["incident"] = None
    assert en.email(context, on_time(context)).text.startswith("Office network down since 14:02")


def test_a_typo_in_a_json_template_fails_loudly_too(tmp_path: Path) -> None:
    (tmp_path / "typo.json.j2").write_text('{"a": {{ titel|tojson }}}')
    context = make_context("test")
    with pytest.raises(RenderError, match="'titel' is undefined"):
        Renderer("en", PARIS, tmp_path).json_body(context, on_time(context), "typo.json.j2")
    (tmp_path / "typo.json.j2").write_text('{"b": {{ evnt_at|local|tojson }}}')
    with pytest.raises(RenderError, match="'evnt_at' is undefined"):
        Renderer("en", PARIS, tmp_path).json_body(context, on_time(context), "typo.json.j2")


@pytest.mark.parametrize(
    ("detail", "french"),
    [
        ({"code": "isp", "gateway": "192.0.2.1", "failing": 3, "total": 3},
         "Cause détectée : la passerelle 192.0.2.1 répond, mais 3 des 3 cibles Internet ne "
         "répondent pas"),
        ({"code": "no_route", "failing": 3, "total": 3},
         "Cause détectée : pas de route par défaut"),
        ({"code": "dns_all", "total": 2},
         "Cause détectée : aucun serveur DNS ne répond (2 sur 2 en échec)"),
    ],
)
def test_the_cause_is_told_in_french_not_in_the_detectors_english(
    fr: Renderer, detail: dict[str, Any], french: str
) -> None:
    context = make_context("ticket_open")
    context["evidence"]["cause_detail"] = detail
    text = fr.email(context, on_time(context)).text
    assert french in text
    assert context["incident"]["cause"] not in text


def test_a_degraded_notice_in_french_names_the_loss(fr: Renderer) -> None:
    context = make_context("degraded")
    context["link"] = {"state": "degraded", "cause": "35 % packet loss over the last minute",
                       "since": context["event_at"],
                       "cause_detail": {"code": "loss", "percent": 35, "window_s": 60.0}}
    text = fr.email(context, on_time(context)).text
    assert "35 % de paquets perdus sur 1 min" in text
    assert "packet loss" not in text


def test_a_link_in_a_maintenance_window_is_said_so_in_each_language(
    en: Renderer, fr: Renderer
) -> None:
    context = make_context("test")
    context["link"] = {"state": "maintenance", "cause": "maintenance window: router swap",
                       "since": context["event_at"]}
    assert "Link now: in a planned maintenance window." in en.email(
        context, on_time(context)).text
    assert "en maintenance programmée" in fr.email(context, on_time(context)).text


# -- messages folded into this one --------------------------------------------------------------


def folded_reminders() -> list[dict[str, Any]]:
    """Reminders 1 (at the GTR) and 2 (24 h), tried while nothing could leave, then folded."""
    gtr, day = START + timedelta(hours=4), START + timedelta(hours=24)
    return [
        {"event": "ticket_reminder",
         "step": {"number": 1, "label": "gtr", "is_gtr": True, "due_at": iso(gtr)},
         "due_at": iso(gtr), "queued_at": iso(gtr), "attempts": 40,
         "first_attempt_at": iso(gtr), "last_attempt_at": iso(day - timedelta(minutes=30)),
         "last_error": "SMTP server 192.0.2.25:25 refused the connection"},
        {"event": "ticket_reminder",
         "step": {"number": 2, "label": "24h", "is_gtr": False, "due_at": iso(day)},
         "due_at": iso(day), "queued_at": iso(day), "attempts": 1,
         "first_attempt_at": iso(day + timedelta(seconds=4)),
         "last_attempt_at": iso(day + timedelta(seconds=4)), "last_error": "refused"},
    ]


def third_reminder() -> dict[str, Any]:
    context = make_context("ticket_reminder")
    due = START + timedelta(hours=72)
    context["event_at"] = iso(due)
    context["incident"]["step"] = {"number": 3, "label": "72h", "is_gtr": False,
                                   "due_at": iso(due)}
    context["folded"] = folded_reminders()
    return context


def test_a_reminder_lists_the_reminders_folded_into_it(en: Renderer, fr: Renderer) -> None:
    context = third_reminder()
    sent_at = START + timedelta(hours=80)

    english = en.email(context, sent_at).text
    french = fr.email(context, sent_at).text

    assert ("Reminders due while line FTTH-42 was down, not delivered then (this message "
            "carries them):\n"
            "  Thu 26 Nov 18:02  reminder 1 (repair-time guarantee exceeded)  tried 40 times, "
            "18:02:05 to Fri 27 Nov 13:32:05\n"
            "  Fri 27 Nov 14:02  reminder 2                                   tried once, at "
            "14:02:09\n") in english
    assert "Sent 8 h after this reminder was due, while the link was down." in english
    assert ("Relances dues pendant la coupure de la ligne FTTH-42, non transmises alors (ce "
            "message les reprend) :\n"
            "  jeu. 26 nov. 18:02  relance 1 (garantie de rétablissement dépassée)  essayé 40 "
            "fois, de 18:02:05 à ven. 27 nov. 13:32:05\n"
            "  ven. 27 nov. 14:02  relance 2                                        essayé une "
            "fois, à 14:02:09\n") in french
    assert "Reminders due" not in en.email(make_context("ticket_reminder"), sent_at).text


def test_a_management_notice_sums_up_the_notices_folded_into_it(en: Renderer) -> None:
    context = make_context("recovered")
    started = datetime.fromisoformat(context["incident"]["started_at"])
    context["folded"] = [
        {"event": "outage_started", "step": None, "due_at": iso(started),
         "queued_at": iso(started + timedelta(seconds=4)), "attempts": 6,
         "first_attempt_at": iso(started + timedelta(seconds=4)),
         "last_attempt_at": iso(started + timedelta(minutes=2)), "last_error": "refused"},
        {"event": "ticket_opened", "step": None, "due_at": iso(started + timedelta(minutes=2)),
         "queued_at": iso(started + timedelta(minutes=2)), "attempts": 0,
         "first_attempt_at": None, "last_attempt_at": None, "last_error": None},
    ]

    text = en.email(context, on_time(context)).text

    assert ("Earlier messages that could not be delivered when they were due, summed up here:\n"
            "  14:02  Internet down               tried 6 times, 14:02:09 to 14:04:05\n"
            "  14:04  ticket WD-2026-0007 opened  not tried (queued behind an earlier message)\n"
            ) in text
    assert text.index("summed up here") < text.index("-- \nEvent time:")


def test_the_json_payload_lists_the_folded_messages(en: Renderer) -> None:
    payload = json.loads(en.json_body(third_reminder(), START + timedelta(hours=80)))

    assert payload["folded"] == [
        {"event": "ticket_reminder", "step": 1, "due_at": "2026-11-26T18:02:05+01:00",
         "queued_at": "2026-11-26T18:02:05+01:00", "attempts": 40,
         "first_attempt_at": "2026-11-26T18:02:05+01:00",
         "last_attempt_at": "2026-11-27T13:32:05+01:00"},
        {"event": "ticket_reminder", "step": 2, "due_at": "2026-11-27T14:02:05+01:00",
         "queued_at": "2026-11-27T14:02:05+01:00", "attempts": 1,
         "first_attempt_at": "2026-11-27T14:02:09+01:00",
         "last_attempt_at": "2026-11-27T14:02:09+01:00"},
    ]
