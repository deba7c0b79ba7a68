"""Reading what people wrote in a case's thread: their own words, thanks, ratings, escalation requests."""

from __future__ import annotations

import re

from mailbot.policy.classify import fold

QUOTE_HEADER = re.compile(
    r"^\s*(?:-{2,}\s*(?:original|mensaje original|forwarded)|_{5,}"
    r"|(?:el|on)\b.{0,200}\b(?:escribi[oó]|wrote)\s*:?\s*$"
    r"|(?:de|from|enviado|sent)\s*:\s)",
    re.IGNORECASE,
)
SIGNATURE = re.compile(r"^(?:-- ?|enviado desde mi .*|sent from my .*)$", re.IGNORECASE)
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
RATING = re.compile(r"^\s*(?:mi\s+(?:nota|calificaci[oó]n)\s+es\s+|rating\s*:?\s*|nota\s*:?\s*)?([1-5])(\s*/\s*5)?(?!\d|[.,]\d)(\s*[-–—:.,)!]?)\s*(.*)$",
                    re.IGNORECASE | re.DOTALL)
# After a bare digit, the comment must read like an opinion ("4 muy bien"), not a report ("3 servidores caídos").
OPINION_START = frozenset(
    "muy bien mal buen bueno buena malo mala regular excelente perfecto genial rapido rapida lento lenta correcto "
    "aceptable estrellas puntos de sobre gracias good great bad poor excellent ok okay fine fast slow quick stars points "
    "out of thanks very nice".split()
)
ESCALATION = re.compile(r"\b(?:escalar|escalen|escale|escalarlo|escalenlo|escalate|escalated)\b")
NOT_WANTED = re.compile(r"\b(?:no|not|sin|nunca|never|don't|dont)\b[^.,;!?\n]{0,25}$")
MAX_THANKS_CHARACTERS = 120


def own_words(text: str) -> str:
    """What the writer typed above the quoted history and the signature."""
    kept: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if QUOTE_HEADER.match(line) or SIGNATURE.match(line.rstrip("\n")) or starts_trailing_quote(lines, index):
            break
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def starts_trailing_quote(lines: list[str], index: int) -> bool:
    """A '>' line begins the quoted history only if every later non-blank line is quoted too."""
    if not lines[index].lstrip().startswith(">"):
        return False
    return all(line.lstrip().startswith(">") for line in lines[index:] if line.strip())


def is_short_thanks(text: str) -> bool:
    """'Gracias, ya funciona!' or 'Thanks a lot' (the reply to a solved case that must not reopen it)."""
    words = fold(own_words(text)).strip()
    if not words or len(words) > MAX_THANKS_CHARACTERS:
        return False
    lines = [WORD.findall(line) for line in words.splitlines() if WORD.findall(line)]
    if not lines:
        return False
    # The first lines say thanks in polite words only; a short last line may be the writer's name
    # (written with capitals, as names are), never "sigue sin funcionar".
    last_original = [line for line in own_words(text).splitlines() if line.strip()][-1]
    looks_like_name = all(word[:1].isupper() for word in last_original.split()) and len(last_original.split()) <= 3
    body = lines[:-1] if len(lines) > 1 and looks_like_name and not set(lines[-1]) <= POLITE else lines
    tokens = [token for line in body for token in line]
    return bool(set(tokens) & ACKNOWLEDGING) and all(token in POLITE for token in tokens)


def parse_rating(text: str) -> tuple[int, str] | None:
    """A survey answer: the first line starts with a digit 1-5; the rest is the comment."""
    words = own_words(text).strip()
    match = RATING.match(words)
    if match is None:
        return None
    comment = match.group(4).strip()
    separated = bool(match.group(2) or match.group(3).strip() or "\n" in match.group(3))
    first_word = fold(comment).split()[0].strip(".,!:;") if comment else ""
    if comment and not separated and first_word not in OPINION_START:
        return None
    return int(match.group(1)), comment


def asks_for_escalation(text: str) -> bool:
    """'Por favor, escalar el caso' / 'please escalate'; not 'no hace falta escalar' nor 'privilege escalation'."""
    words = fold(own_words(text))
    return any(not NOT_WANTED.search(words[max(0, match.start() - 40):match.start()]) for match in ESCALATION.finditer(words))
