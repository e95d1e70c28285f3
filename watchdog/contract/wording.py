"""The contract's terms and figures in words, in English or French (``site.language``).

Exact on purpose: durations to the second ("10 h 12 min 5 s"), money to the cent with its
currency, percentages as written in the config. Pure; standard library only.
"""

from __future__ import annotations

from decimal import Decimal

from watchdog.contract.calendar import MINUTES_PER_DAY, BusinessCalendar
from watchdog.contract.terms import ContractTerms
from watchdog.vocabulary import Language

_DAY_NAMES: dict[Language, tuple[str, ...]] = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
_DAY_UNIT: dict[Language, str] = {"en": "d", "fr": "j"}


def number(value: Decimal | float, language: Language, places: int | None = None) -> str:
    """``value`` with ``places`` decimals (None: as written, without trailing zeros); French
    writes a decimal comma."""
    if places is None:
        amount = Decimal(repr(value)) if isinstance(value, float) else value
        text = format(amount.normalize(), "f")
    else:
        text = f"{value:.{places}f}"
    return text.replace(".", ",") if language == "fr" else text


def percent(value: Decimal | float, language: Language, places: int | None = None) -> str:
    """``99.9 %`` / ``99,9 %``."""
    return f"{number(value, language, places)} %"


def money(amount: Decimal, currency: str, language: Language) -> str:
    """``42.00 EUR`` / ``42,00 EUR``."""
    return f"{number(amount, language, 2)} {currency}"


def exact_duration(seconds: float, language: Language) -> str:
    """A duration to the second: ``2 d 3 h 4 min 5 s`` (French ``2 j 3 h 4 min 5 s``);
    ``0 s`` for nothing."""
    rest = max(0, round(seconds))
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{count} {unit}" for count, unit in (
        (days, _DAY_UNIT[language]), (hours, "h"), (minutes, "min"), (secs, "s")) if count]
    return " ".join(parts) or "0 s"


def counted_duration(seconds: float, language: Language) -> str:
    """Counted time (a repair time, what is beyond the GTR) to the second, in hours at most:
    ``75 h 13 min 25 s``. Counted in business hours, a "day" would mean nothing (is it 10 h
    or 24 h?), so there is none."""
    rest = max(0, round(seconds))
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{count} {unit}" for count, unit in ((hours, "h"), (minutes, "min"), (secs, "s"))
             if count]
    return " ".join(parts) or "0 s"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def days_text(days: frozenset[int], language: Language) -> str:
    """``Mon–Fri`` for a run of days, else ``Mon, Wed, Fri``."""
    names = _DAY_NAMES[language]
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[ordered[0]]}–{names[ordered[-1]]}"
    return ", ".join(names[day] for day in ordered)


def business_hours_text(calendar: BusinessCalendar, language: Language) -> str:
    """``Mon–Fri 08:00–18:00 (Europe/Paris), public holidays of FR-57, 2 further closed
    days``."""
    closes = "24:00" if calendar.closes == MINUTES_PER_DAY else _clock(calendar.closes)
    text = (f"{days_text(calendar.days, language)} {_clock(calendar.opens)}–{closes} "
            f"({calendar.zone})")
    if calendar.holidays_country:
        region = calendar.holidays_country + (
            f"-{calendar.holidays_subdivision}" if calendar.holidays_subdivision else "")
        text += (", jours fériés " if language == "fr" else ", public holidays of ") + region
    if calendar.closed_days:
        count = len(calendar.closed_days)
        text += (f", {count} jour(s) de fermeture en plus" if language == "fr"
                 else f", {count} further closed day(s)")
    return text


def counting_text(counted: str, language: Language) -> str:
    """``in business hours`` or ``24/7``."""
    if counted == "business_hours":
        return "en heures ouvrées" if language == "fr" else "in business hours"
    return "24 h/24, 7 j/7" if language == "fr" else "24/7"


_GTR_STARTS: dict[Language, dict[str, str]] = {
    "en": {"outage": "from the outage's start", "ticket": "from the ticket's opening",
           "provider_ref": "from the provider's acknowledgement (its reference)"},
    "fr": {"outage": "à partir du début de la coupure",
           "ticket": "à partir de l'ouverture du ticket",
           "provider_ref": "à partir de la prise en compte par l'opérateur (sa référence)"},
}


# The compensation rule's words: heading, per hour, per tenth, cap, separator.
_RULE_WORDS: dict[Language, tuple[str, str, str, str, str]] = {
    "en": ("Compensation: ", "{} of the fee per started hour beyond the GTR",
           "{} per started 0.1 point of availability below the commitment",
           "at most {} of the fee", "; "),
    "fr": ("Pénalités : ", "{} de l'abonnement par heure entamée au-delà de la GTR",
           "{} par tranche de 0,1 point de disponibilité entamée sous l'engagement",
           "au plus {} de l'abonnement", " ; "),
}


def compensation_rule_text(terms: ContractTerms, language: Language) -> str:
    """The rule in one sentence, or that the contract sets none."""
    rule, fee = terms.compensation, terms.monthly_fee
    heading, per_hour, per_tenth, cap, separator = _RULE_WORDS[language]
    if fee == 0 or (rule.per_started_hour_beyond_gtr == 0
                    and rule.per_tenth_below_commitment == 0):
        none = "aucune règle configurée" if language == "fr" else "no rule configured"
        return f"{heading}{none} (contract.monthly_fee, contract.compensation)."
    parts = []
    if rule.per_started_hour_beyond_gtr:
        parts.append(per_hour.format(percent(rule.per_started_hour_beyond_gtr, language)))
    if rule.per_tenth_below_commitment and terms.availability_commitment is not None:
        parts.append(per_tenth.format(percent(rule.per_tenth_below_commitment, language)))
    parts.append(cap.format(percent(rule.cap, language)))
    return f"{heading}{separator.join(parts)}."


def terms_lines(terms: ContractTerms, language: Language = "en") -> list[str]:
    """The contract's terms for the report's header, one sentence each."""
    gtr = exact_duration(terms.gtr.total_seconds(), language)
    fr = language == "fr"
    lines = [
        (f"GTR (garantie de temps de rétablissement) : {gtr}, comptée "
         if fr else f"Guaranteed time to repair (GTR): {gtr}, counted ")
        + f"{counting_text(terms.gtr_counted, language)}, "
        + f"{_GTR_STARTS[language][terms.gtr_starts]}."
    ]
    if terms.availability_commitment is None:
        lines.append("Engagement de disponibilité : aucun." if fr
                     else "Availability commitment: none.")
    else:
        promised = percent(terms.availability_commitment, language)
        counted = counting_text(terms.availability_counted, language)
        lines.append(
            f"Engagement de disponibilité : {promised} par mois, comptée {counted} ; "
            "maintenances déclarées et pannes du réseau local exclues." if fr else
            f"Availability commitment: {promised} per month, counted {counted}; declared "
            "maintenance and LAN faults left out.")
    if "business_hours" in (terms.gtr_counted, terms.availability_counted):
        lines.append(("Heures ouvrées : " if fr else "Business hours: ")
                     + business_hours_text(terms.calendar, language) + ".")
    if terms.monthly_fee:
        lines.append(("Abonnement mensuel : " if fr else "Monthly fee: ")
                     + money(terms.monthly_fee, terms.currency, language) + ".")
    lines.append(compensation_rule_text(terms, language))
    return lines
