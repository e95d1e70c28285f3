"""The report's words in English and French (``site.language``), and how it writes instants,
durations and percentages. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Final

from watchdog.vocabulary import Language

WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Connectivity report",
        "period": "Period",
        "times_in": "All times are the site's local time",
        "site": "Site",
        "line": "Line",
        "provider": "Provider",
        "customer_ref": "Customer reference",
        "link": "Link",
        "uplinks": "Availability of each uplink",
        "primary": "primary",
        "contract": "Contract terms",
        "commitment": "Availability commitment",
        "commitment_met": "met",
        "commitment_missed": "missed by {points} points",
        "compensation": "Compensation owed",
        "gtr": "Guaranteed time to repair",
        "gtr_counted": "counted",
        "availability": "Availability",
        "observed": "over the observed time",
        "provider_availability": "Provider's availability",
        "provider_note": "LAN faults (the office's own), maintenance and unobserved time "
                         "left out",
        "time_by_state": "Time by state",
        "observed_time": "Observed",
        "not_observed": "Not observed (watchdog not running, or before its first record)",
        "state_up": "up",
        "state_degraded": "degraded",
        "state_down": "down (provider)",
        "state_lan_down": "LAN fault (the office's own)",
        "state_maintenance": "planned maintenance",
        "state_unknown": "not observed",
        "days": "Day by day",
        "day": "Day",
        "loss": "Loss",
        "latency": "Median latency",
        "latency_note": "median of the hourly mean round trips of the ping targets",
        "outages": "Outages",
        "no_outage": "No outage in this period.",
        "kind": "Kind",
        "kind_isp": "provider",
        "kind_lan": "LAN fault",
        "kind_dns": "DNS",
        "started": "Started",
        "ended": "Ended",
        "still_going": "still going on",
        "duration": "Duration",
        "in_period": "In this period",
        "ticket": "Ticket",
        "provider_ref": "Provider's ref.",
        "gtr_due": "Repair due",
        "gtr_breached": "Repair time exceeded",
        "reminders": "Reminders",
        "delivered": "delivered",
        "undelivered": "not delivered",
        "cause": "Cause",
        "not_watched_inside": "not observed inside the outage",
        "blips": "Short failures (not outages)",
        "tickets": "Tickets",
        "timeline": "Timeline",
        "messages": "Messages",
        "yes": "yes",
        "no": "no",
        "none": "—",
        "digest": "SHA-256 of this report's data",
        "digest_note": "computed over the JSON export (watchdog report --format json) "
                       "without its digest, keys sorted",
        "generated": "Generated",
        "until": "observed until",
        "between": "between",
        "and": "and",
        "by": "by",
        "no_earlier_probe": "no earlier probe on record",
        "start_bracket": "started",
        "end_bracket": "ended",
        "clock": "Server clock",
        "messages_delivered": "Delivered",
        "messages_folded": "Folded into a later message (their news went with it)",
        "messages_undelivered": "Not delivered",
        "fell_due": "due",
        "accepted": "accepted",
        "by_server": "by",
        "carried_by": "carried by message",
        "attempts": "attempt(s)",
        "last_error": "last error",
        "clock_synced": "synchronised (NTP) when last checked, {checked}, and since {since}",
        "clock_synced_whole": "synchronised (NTP) throughout the period (since {since}, "
                              "last checked {checked})",
        "clock_unsynced": "NOT synchronised when last checked, {checked} (since {since}): "
                          "recorded times may drift",
        "clock_unknown": "whether it was synchronised was not recorded",
    },
    "fr": {
        "title": "Rapport de connectivité",
        "period": "Période",
        "times_in": "Toutes les heures sont à l'heure locale du site",
        "site": "Site",
        "line": "Ligne",
        "provider": "Opérateur",
        "customer_ref": "Référence client",
        "link": "Lien",
        "uplinks": "Disponibilité de chaque accès",
        "primary": "principal",
        "contract": "Engagements du contrat",
        "commitment": "Disponibilité garantie",
        "commitment_met": "engagement tenu",
        "commitment_missed": "manquée de {points} point(s)",
        "compensation": "Pénalités dues",
        "gtr": "Garantie de temps de rétablissement",
        "gtr_counted": "comptée",
        "availability": "Disponibilité",
        "observed": "sur le temps observé",
        "provider_availability": "Disponibilité imputable à l'opérateur",
        "provider_note": "hors pannes du réseau local (celles du bureau), maintenance et "
                         "temps non observé",
        "time_by_state": "Temps par état",
        "observed_time": "Observé",
        "not_observed": "Non observé (surveillance arrêtée, ou avant son premier relevé)",
        "state_up": "en service",
        "state_degraded": "dégradé",
        "state_down": "coupé (opérateur)",
        "state_lan_down": "panne du réseau local (du bureau)",
        "state_maintenance": "maintenance planifiée",
        "state_unknown": "non observé",
        "days": "Jour par jour",
        "day": "Jour",
        "loss": "Pertes",
        "latency": "Latence médiane",
        "latency_note": "médiane des allers-retours moyens horaires des cibles ping",
        "outages": "Coupures",
        "no_outage": "Aucune coupure sur la période.",
        "kind": "Nature",
        "kind_isp": "opérateur",
        "kind_lan": "réseau local",
        "kind_dns": "DNS",
        "started": "Début",
        "ended": "Fin",
        "still_going": "toujours en cours",
        "duration": "Durée",
        "in_period": "Sur la période",
        "ticket": "Ticket",
        "provider_ref": "Réf. opérateur",
        "gtr_due": "Rétablissement dû",
        "gtr_breached": "GTR dépassée",
        "reminders": "Relances",
        "delivered": "remises",
        "undelivered": "non remises",
        "cause": "Cause",
        "not_watched_inside": "non observé pendant la coupure",
        "blips": "Micro-coupures (pas des coupures)",
        "tickets": "Tickets",
        "timeline": "Chronologie",
        "messages": "Messages",
        "yes": "oui",
        "no": "non",
        "none": "—",
        "digest": "SHA-256 des données du rapport",
        "digest_note": "calculé sur l'export JSON (watchdog report --format json) sans son "
                       "empreinte, clés triées",
        "generated": "Établi le",
        "until": "observé jusqu'au",
        "between": "entre",
        "and": "et",
        "by": "au plus tard",
        "no_earlier_probe": "aucune mesure antérieure enregistrée",
        "start_bracket": "début",
        "end_bracket": "fin",
        "clock": "Horloge du serveur",
        "messages_delivered": "Remis",
        "messages_folded": "Regroupés dans un message suivant (qui a porté leur contenu)",
        "messages_undelivered": "Non remis",
        "fell_due": "dû",
        "accepted": "accepté",
        "by_server": "par",
        "carried_by": "porté par le message",
        "attempts": "tentative(s)",
        "last_error": "dernière erreur",
        "clock_synced": "synchronisée (NTP) au dernier contrôle, {checked}, et depuis {since}",
        "clock_synced_whole": "synchronisée (NTP) pendant toute la période (depuis {since}, "
                              "dernier contrôle {checked})",
        "clock_unsynced": "NON synchronisée au dernier contrôle, {checked} (depuis {since}) : "
                          "les heures enregistrées peuvent dériver",
        "clock_unknown": "sa synchronisation n'a pas été enregistrée",
    },
}


def to_millisecond(moment: datetime, *, up: bool = False) -> datetime:
    """``moment`` cut to the millisecond, rounded up with ``up`` (a bracket's ``by`` side), so
    a time shown in milliseconds never claims more than was measured."""
    rest = moment.microsecond % 1000
    moment = moment - timedelta(microseconds=rest)
    return moment + timedelta(milliseconds=1) if up and rest else moment


def bracket_json(after: datetime | None, by: datetime | None,
                 zone: tzinfo) -> dict[str, str | None]:
    """A change's bracket in the JSON contracts (``outages``, ``report``): ISO-8601 with
    milliseconds and the site's offset, ``after`` cut and ``by`` rounded up to the
    millisecond; None for a side not recorded."""
    return {
        "after": None if after is None
        else to_millisecond(after).astimezone(zone).isoformat(timespec="milliseconds"),
        "by": None if by is None
        else to_millisecond(by, up=True).astimezone(zone).isoformat(timespec="milliseconds"),
    }


class Writer:
    """How the report writes values for people in one language and the site's zone."""

    def __init__(self, language: Language, zone: tzinfo) -> None:
        self.language = language
        self.zone = zone
        self.words = WORDS[language]

    def instant(self, value: str | datetime | None, *, ms: bool = False) -> str:
        """``2026-11-26 14:02:03 CET`` (``.412`` with ``ms``) in the site's zone; None: —."""
        if value is None:
            return self.words["none"]
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        shown = moment.astimezone(self.zone)
        text = shown.strftime("%Y-%m-%d %H:%M:%S")
        if ms:
            text += f".{shown.microsecond // 1000:03d}"
        return f"{text} {shown.tzname()}"

    def bracket(self, bracket: dict[str, str | None] | None) -> str | None:
        """``between 2026-11-26 14:02:03.412 CET and 14:02:05.418 CET`` (the second date only
        when the day differs); ``by …`` when no earlier probe is on record; None: nothing
        recorded."""
        if bracket is None or bracket["by"] is None:
            return None
        w = self.words
        by = self.instant(bracket["by"], ms=True)
        if bracket["after"] is None:
            return f"{w['by']} {by} ({w['no_earlier_probe']})"
        after = self.instant(bracket["after"], ms=True)
        if after[:10] == by[:10]:
            by = by[11:]
        return f"{w['between']} {after} {w['and']} {by}"

    def duration(self, seconds: float | None) -> str:
        """Every unit down to the second: ``10 d 4 h 2 min 13 s`` (``j`` in French)."""
        if seconds is None:
            return self.words["none"]
        rest = max(0, round(seconds))
        parts = []
        day = "j" if self.language == "fr" else "d"
        for unit, size in ((day, 86400), ("h", 3600), ("min", 60), ("s", 1)):
            count, rest = divmod(rest, size)
            if count:
                parts.append(f"{count} {unit}")
        return " ".join(parts) or "0 s"

    def percent(self, value: float | None, digits: int = 3) -> str:
        if value is None:
            return self.words["none"]
        text = f"{value:.{digits}f} %"
        return text.replace(".", ",") if self.language == "fr" else text

    def number(self, value: float | None, digits: int = 1, unit: str = "") -> str:
        """``12.3 ms`` (``12,3 ms`` in French); None: —."""
        if value is None:
            return self.words["none"]
        text = f"{value:.{digits}f}"
        if self.language == "fr":
            text = text.replace(".", ",")
        return f"{text} {unit}" if unit else text

    def yesno(self, value: bool | None) -> str:
        if value is None:
            return self.words["none"]
        return self.words["yes"] if value else self.words["no"]
