"""Ticket type, priority and a requested date, read from the customer's own words (Spanish and English)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from mailbot.config import PRIORITY_SCHEMES, PlanSettings
from mailbot.domain.messages import InboundMessage

TYPE_TAGS = {
    "problem": ("problema", "problem", "incidencia", "incidente", "incident"),
    "question": ("consulta", "question", "pregunta"),
    "request": ("solicitud", "request", "requerimiento", "peticion"),
    "maintenance": ("mantenimiento", "maintenance"),
    "rma": ("rma", "garantia", "warranty"),
}
TYPE_KEYWORDS = (  # weaker than a tag: looked for in the subject and the first lines only
    ("maintenance", re.compile(r"\bmantenimiento preventivo\b|\bpreventive maintenance\b")),
    ("rma", re.compile(r"\brma\b|\bgarantia\b|\bwarranty\b|\bequipo de repuesto\b|\breplacement unit\b")),
)
SYSTEM_DOWN = re.compile(
    r"\b(?:sistema caido|servicio caido|servidor caido|esta caido|estan caidos|se cayo|fuera de servicio"
    r"|no funciona nada|produccion detenida|system down|service down|server down|site down|is down|are down"
    r"|production down|outage|not working at all)\b"
)
URGENT = re.compile(r"\b(?:urgente|urgent|critico|critical|grave|asap)\b")
# A phrase right after one of these words says the opposite ("no es urgente", "planned outage").
DENIAL = re.compile(r"\b(?:no|not|nada|sin|never|nunca|isn't|isnt|aren't|planned|scheduled|programad[oa]s?|previst[oa])\W+(?:\w+\W+)?$")
QUOTE_START = re.compile(r"^\s*(?:>|-{2,}\s*original|_{5,}|(?:el|on)\b.*\b(?:escribi[oó]|wrote):?\s*$|de:\s|from:\s)")
PRIORITY_TAG = re.compile(r"\[\s*(p[1-4]|a1|b2|c3)\s*\]")
TAG = re.compile(r"\[\s*([^\[\]]{2,20}?)\s*\]")
ACROSS_SCHEMES = {"A1": "P1", "B2": "P2", "C3": "P3", "P1": "A1", "P2": "B2", "P3": "C3", "P4": "C3"}
MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}
NUMERIC_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
WORDY_DATE = re.compile(
    r"\b(\d{1,2})\s+de\s+([a-z]+)(?:\s+de(?:l)?\s+(\d{4}))?"
    r"|\b([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"
    r"|\b(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+),?\s+(\d{4})"
)
MAINTENANCE_WORD = re.compile(r"\bmantenimiento\b|\bmaintenance\b|\bventana\b|\bwindow\b")


@dataclass(frozen=True, slots=True)
class Classification:
    ticket_type: str
    type_source: str  # "tag", "keyword" or "default"
    priority: str
    priority_source: str  # "tag", "phrase" or "default"
    requested_date: date | None  # a date the customer asks for (maintenance windows)


def fold(text: str) -> str:
    """Lower case without accents, so 'Garantía' and 'garantia' read alike."""
    if text.isascii():
        return text.lower()  # nothing to decompose: the common case, without a pass per character
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def classify(message: InboundMessage, plan: PlanSettings, today: date) -> Classification:
    subject = fold(message.subject)
    own_words = own_text(fold(message.text))
    opening = "\n".join(own_words.splitlines()[:15])
    ticket_type, type_source = ticket_type_of(subject, opening, plan)
    priority, priority_source = priority_of(subject, opening, plan)
    requested = requested_date(own_words[:4000], today) or requested_date(subject, today)
    return Classification(ticket_type, type_source, priority, priority_source, requested)


def own_text(text: str) -> str:
    """The customer's own words: everything before the first quoted line or quoted-message header."""
    kept: list[str] = []
    for line in text.splitlines():
        if QUOTE_START.match(line):
            break
        kept.append(line)
    return "\n".join(kept)


def affirmed(pattern: re.Pattern[str], text: str) -> bool:
    """The pattern occurs at least once without a denial right before it."""
    return any(not DENIAL.search(text[max(0, match.start() - 25):match.start()]) for match in pattern.finditer(text))


def ticket_type_of(subject: str, opening: str, plan: PlanSettings) -> tuple[str, str]:
    for tag in TAG.findall(subject):
        for ticket_type, words in TYPE_TAGS.items():
            if tag.strip() in words:
                return ticket_type, "tag"
    for ticket_type, pattern in TYPE_KEYWORDS:
        # A keyword is weak evidence: it may choose among the plan's types but never causes a refusal.
        if ticket_type in plan.ticket_types and (pattern.search(subject) or pattern.search(opening)):
            return ticket_type, "keyword"
    return plan.default_ticket_type, "default"


def priority_of(subject: str, opening: str, plan: PlanSettings) -> tuple[str, str]:
    scheme = plan.priorities
    tagged = PRIORITY_TAG.search(subject)
    if tagged:
        level = tagged.group(1).upper()
        return (level if level in scheme else ACROSS_SCHEMES[level]), "tag"
    text = subject + "\n" + opening
    if affirmed(SYSTEM_DOWN, text):
        return scheme[0], "phrase"
    default = plan.effective_default_priority
    if affirmed(URGENT, text):
        return scheme[max(scheme.index(default) - 1, 0)], "phrase"
    return default, "default"


def requested_date(text: str, today: date) -> date | None:
    """The date the customer asks for: the first plausible one after "mantenimiento"/"maintenance" if any,
    else the first one in the text; a letter's own date heading (today) is not taken for a request."""
    found = sorted(_dates_in(text, today))
    plausible = [(position, day) for position, day in found if today <= day <= today + timedelta(days=731)]
    anchor = MAINTENANCE_WORD.search(text)
    after_anchor = [day for position, day in plausible if anchor and position > anchor.start()]
    if after_anchor:
        return after_anchor[0]
    future = [day for _, day in plausible if day > today]
    return future[0] if future else (plausible[0][1] if plausible else None)


def _dates_in(text: str, today: date) -> list[tuple[int, date]]:
    found: list[tuple[int, date]] = []
    for match in NUMERIC_DATE.finditer(text):
        year, month, day = (match.group(1), match.group(2), match.group(3)) if match.group(1) else (
            match.group(6), match.group(5), match.group(4))
        found.append((match.start(), _date(int(year), int(month), int(day))))
    for match in WORDY_DATE.finditer(text):
        groups = match.groups()
        if groups[0]:  # 15 de marzo (de 2026)
            day, month_name, year = groups[0], groups[1], groups[2]
        elif groups[3]:  # March 15(th), 2026
            month_name, day, year = groups[3], groups[4], groups[5]
        else:  # 15 March 2026
            day, month_name, year = groups[6], groups[7], groups[8]
        month = MONTHS.get(month_name)
        if month:
            found.append((match.start(), _date(int(year) if year else _next_year_for(today, month, int(day)), month, int(day))))
    return [(position, day) for position, day in found if day != date.min]


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        return date.min


def _next_year_for(today: date, month: int, day: int) -> int:
    """'15 de enero' written in December means next January."""
    return today.year + 1 if (month, day) < (today.month, today.day) else today.year


__all__ = ["Classification", "PRIORITY_SCHEMES", "classify", "fold"]
