"""The status page's own words in English and French; the words it shares with the report
(states, availability, loss, ticket, timeline...) are the report's (``report.words.WORDS``),
and so is the way it writes instants, durations and percentages (``report.words.Writer``)."""

from __future__ import annotations

from typing import Final

from watchdog.report.words import WORDS

PAGE_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "page_title": "Internet link",
        "headline_up": "UP",
        "headline_degraded": "DEGRADED",
        "headline_down": "DOWN (internet provider)",
        "headline_down_dns": "DOWN (DNS)",
        "headline_lan_down": "DOWN (local network fault)",
        "headline_unknown": "UNKNOWN",
        "headline_maintenance": "MAINTENANCE",
        "since": "since",
        "for": "for",
        "outage_so_far": "Outage #{id} ({kind}) since {since}, {lasted} so far",
        "done": "What has been done",
        "no_ticket": "No ticket yet (opened if it lasts).",
        "ticket_opened": "Ticket {reference} opened {at}",
        "reminders_sent": "reminders sent: {count}",
        "provider_ref_given": "provider's reference {reference}",
        "gtr_breached": "repair-time guarantee breached",
        "cuts": "{count} cuts",
        "waiting": "messages waiting to be sent: {count}",
        "maintenance_active": "Maintenance window until {end}: {reason}",
        "maintenance_next": "Maintenance window from {start} to {end}: {reason}",
        "uptime": "Uptime",
        "not_watched": "Not watched",
        "maintenance": "Maintenance",
        "last": "last",
        "days_90": "The last 90 days",
        "days_90_note": "each bar is a day in the site's zone, its colours the time in each "
                        "state; grey is time nobody watched, blue declared maintenance",
        "quality_24h": "Round trip and loss, last 24 hours",
        "quality_30d": "Round trip and loss, last 30 days",
        "quality_note": "the ping targets' mean round trip and their lost echo requests, "
                        "from the roll-ups",
        "rtt": "Round trip",
        "no_rollups": "No roll-ups yet for this period.",
        "targets": "Last results",
        "target": "Target",
        "result": "Result",
        "ok": "ok",
        "failed": "failed",
        "never": "never probed",
        "open_ticket": "Open ticket",
        "reports": "Monthly report",
        "this_month": "{month} (so far)",
        "daemon_running": "The watchdog is running; last cycle {ago} ago.",
        # The page is served by the running daemon: an old heartbeat means it has not written
        # its database since (held in memory while its file system is full or read-only).
        "cause_unwritten": "The state when the watchdog last wrote its database; it has "
                           "written nothing since.",
        "daemon_unwritten": "The watchdog has not written its database since {at}: this page "
                            "shows the state then (is its file system full or read-only?).",
        "daemon_never": "The watchdog has never run on this database.",
        "refresh": "This page refreshes itself every {seconds} s.",
        "other_links": "Links",
        "language": "Français",
        "other_language": "fr",
        "colon": ":",
    },
    "fr": {
        "page_title": "Lien internet",
        "headline_up": "EN SERVICE",
        "headline_degraded": "DÉGRADÉ",
        "headline_down": "COUPÉ (opérateur)",
        "headline_down_dns": "COUPÉ (DNS)",
        "headline_lan_down": "COUPÉ (panne du réseau local)",
        "headline_unknown": "INCONNU",
        "headline_maintenance": "MAINTENANCE",
        "since": "depuis",
        "for": "soit",
        "outage_so_far": "Coupure n° {id} ({kind}) depuis {since}, {lasted} à ce jour",
        "done": "Ce qui a été fait",
        "no_ticket": "Pas encore de ticket (ouvert si la coupure dure).",
        "ticket_opened": "Ticket {reference} ouvert {at}",
        "reminders_sent": "relances envoyées : {count}",
        "provider_ref_given": "référence opérateur {reference}",
        "gtr_breached": "garantie de temps de rétablissement dépassée",
        "cuts": "{count} coupures",
        "waiting": "messages en attente d'envoi : {count}",
        "maintenance_active": "Fenêtre de maintenance jusqu'au {end} : {reason}",
        "maintenance_next": "Fenêtre de maintenance du {start} au {end} : {reason}",
        "uptime": "Disponibilité",
        "not_watched": "Non observé",
        "maintenance": "Maintenance",
        "last": "derniers",
        "days_90": "Les 90 derniers jours",
        "days_90_note": "chaque barre est un jour (heure du site), ses couleurs le temps passé "
                        "dans chaque état ; en gris le temps non observé, en bleu la "
                        "maintenance déclarée",
        "quality_24h": "Aller-retour et pertes, dernières 24 heures",
        "quality_30d": "Aller-retour et pertes, 30 derniers jours",
        "quality_note": "aller-retour moyen des cibles ping et requêtes echo perdues, "
                        "d'après les agrégats",
        "rtt": "Aller-retour",
        "no_rollups": "Pas encore d'agrégats pour cette période.",
        "targets": "Derniers résultats",
        "target": "Cible",
        "result": "Résultat",
        "ok": "ok",
        "failed": "échec",
        "never": "jamais sondée",
        "open_ticket": "Ticket ouvert",
        "reports": "Rapport mensuel",
        "this_month": "{month} (en cours)",
        "daemon_running": "La surveillance tourne ; dernier cycle il y a {ago}.",
        "cause_unwritten": "L'état lors de sa dernière écriture dans sa base ; la "
                           "surveillance n'y a rien écrit depuis.",
        "daemon_unwritten": "La surveillance n'a rien écrit dans sa base depuis le {at} : "
                            "cette page montre l'état d'alors (son disque est-il plein ou en "
                            "lecture seule ?).",
        "daemon_never": "La surveillance n'a jamais tourné sur cette base.",
        "refresh": "Cette page se met à jour toute seule toutes les {seconds} s.",
        "other_links": "Liens",
        "language": "English",
        "other_language": "en",
        # French puts a (narrow) space before the colon.
        "colon": "\u202f:",
    },
}


def page_words(language: str) -> dict[str, str]:
    """The report's words with the page's own over them, in ``language`` ("en" or "fr")."""
    return {**WORDS[language], **PAGE_WORDS[language]}
