"""Reading what people wrote in a case's thread: their own words, thanks, ratings, escalation requests."""

from __future__ import annotations

import re

from mailbot.policy.classify import fold

QUOTE_HEADER = re.compile(
    r"^\s*(?:>|-{2,}\s*(?:original|mensaje original|forwarded)|_{5,}"
    r"|(?:el|on)\b.{0,200}\b(?:escribi[oó]|wrote)\s*:?\s*$"
    r"|(?:de|from|enviado|sent)\s*:\s)",
    re.IGNORECASE,
)
SIGNATURE = re.compile(r"^\s*(?:--\s*|—\s*|enviado desde mi|sent from my)\s*", re.IGNORECASE)
ACKNOWLEDGING = frozenset(
    "gracias thanks thank thx ty perfecto perfect ok okay vale genial great excelente excellent recibido received "
    "entendido understood listo solucionado solved resuelto funciona works agradezco agradecemos".split()
)
POLITE = ACKNOWLEDGING | frozenset(
    "muchas muchisimas mil muy many much so a lot you your todos ti usted de nuevo again acuerdo agreed todo bien all good "
    "it now ya por for everything help su la ayuda saludos regards un saludo best cheers y and very hola hi hello buenos "
    "buenas dias tardes noches dear the estimados estimado equipo team".split()
)
WORD = re.compile(r"[a-z]+")
RATING = re.compile(r"^\s*(?:mi\s+(?:nota|calificaci[oó]n)\s+es\s+|rating\s*:?\s*|nota\s*:?\s*)?([1-5])(?:\s*/\s*5)?(?!\d|[.,]\d)\s*(.*)$",
                    re.IGNORECASE | re.DOTALL)
ESCALATION = re.compile(r"\b(?:escalar|escalen|escalado|escalamiento|escalate|escalation)\b")
MAX_THANKS_CHARACTERS = 120


def own_words(text: str) -> str:
    """What the writer typed above the quoted history and the signature."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if QUOTE_HEADER.match(line) or SIGNATURE.match(line):
            break
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def is_short_thanks(text: str) -> bool:
    """'Gracias, ya funciona!' or 'Thanks a lot' (the reply to a solved case that must not reopen it)."""
    words = fold(own_words(text)).strip()
    if not words or len(words) > MAX_THANKS_CHARACTERS:
        return False
    lines = [WORD.findall(line) for line in words.splitlines() if WORD.findall(line)]
    if not lines:
        return False
    # The first lines say thanks in polite words only; a short last line may be the writer's name.
    body = lines[:-1] if len(lines) > 1 and len(lines[-1]) <= 3 and not set(lines[-1]) <= POLITE else lines
    tokens = [token for line in body for token in line]
    return bool(set(tokens) & ACKNOWLEDGING) and all(token in POLITE for token in tokens)


def parse_rating(text: str) -> tuple[int, str] | None:
    """A survey answer: the first line starts with a digit 1-5; the rest is the comment."""
    words = own_words(text).strip()
    match = RATING.match(words)
    if match is None:
        return None
    comment = match.group(2).strip().lstrip("-–—:.,) ").strip()
    return int(match.group(1)), comment


def asks_for_escalation(text: str) -> bool:
    return ESCALATION.search(fold(own_words(text))) is not None
