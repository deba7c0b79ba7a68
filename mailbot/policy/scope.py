"""Whether a request reads as something support does not cover (seed 001): a hint for the engineer, never a refusal.

Seed 001: "no cubre aspectos como desarrollo, implementación, afinamiento, monitoreo, administración,
capacitación". Phrases are matched in the customer's own words (subject and opening lines), accents folded,
and not when a denial comes right before ("no es una capacitación").
"""

from __future__ import annotations

import re
from functools import lru_cache

from mailbot.policy.classify import fold, own_text

# Phrases that say "please do this work for us", not "this is broken". Kept to clear wording: a flag that fires
# on every mail mentioning "implementación" would teach engineers to ignore it.
DEFAULT_PHRASES: tuple[str, ...] = (
    # development
    "desarrollar", "desarrollo a medida", "nuevo desarrollo", "un desarrollo", "develop a", "custom development",
    "new development", "write a script", "hacer un script",
    # implementation
    "implementar", "implementacion de", "implementation of", "implement a", "implement the", "puesta en marcha",
    # tuning
    "afinamiento", "afinar", "tuning", "optimizar el rendimiento", "performance tuning", "fine-tune", "fine tune",
    # monitoring
    "monitoreo", "monitorear", "monitorizar", "monitoring", "monitor our",
    # administration
    "administrar", "administracion de", "administer", "administration of", "crear usuarios", "create users",
    # training
    "capacitacion", "capacitar", "formacion para", "training", "train our",
)
OPENING_LINES = 15
# "no es una capacitación", "this is not a training question": a denial up to two words before the phrase.
DENIED = re.compile(r"\b(?:no|not|ni|nor|sin|without|never|nunca|isn't|isnt)\W+(?:\w+\W+){0,2}$")


def out_of_scope_phrases(subject: str, text: str, phrases: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The configured (or default) phrases the customer affirms in the subject and first lines, in list order."""
    words = fold(subject) + "\n" + "\n".join(own_text(fold(text)).splitlines()[:OPENING_LINES])
    return tuple(folded for folded, pattern in compiled(DEFAULT_PHRASES if phrases is None else tuple(phrases))
                 if folded.split()[0] in words and is_affirmed(pattern, words))  # most phrases are not there at all


@lru_cache(maxsize=64)
def compiled(phrases: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each phrase folded (once, in list order, blanks left out) with its pattern: built once per plan's list,
    not once per message (folding and compiling ~40 phrases cost more than matching them)."""
    folded = dict.fromkeys(fold(phrase).strip() for phrase in phrases)
    return tuple((phrase, phrase_pattern(phrase)) for phrase in folded if phrase)


def phrase_pattern(folded: str) -> re.Pattern[str]:
    """From a word start, open at the end on purpose: Spanish verbs take clitics ("administrarlo", "capacitarnos")."""
    return re.compile(r"\b" + r"\s+".join(map(re.escape, folded.split())))


def is_affirmed(pattern: re.Pattern[str], text: str) -> bool:
    return any(not DENIED.search(text[max(0, match.start() - 30):match.start()]) for match in pattern.finditer(text))
