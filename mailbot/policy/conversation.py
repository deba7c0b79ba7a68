"""Reading what people wrote in a case's thread: their own words, thanks, ratings, escalation requests."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
# The first line of a survey answer: an optional "rating:", one or more numbers of one or two digits separated by
# spaces, commas, semicolons or slashes ("5 4 5 5", "5,4,5,5", "5/4/5/5", "3/5"), then the comment. "4.5" and "2026"
# are no answer (a decimal, a year), whereas 0, 6 and 10 are answers out of range that the customer is asked to fix.
RATING = re.compile(
    r"^\s*(?:mi\s+(?:nota|calificaci[oó]n|valoraci[oó]n)\s+es\s*:?\s*|(?:ratings?|nota|calificaci[oó]n|valoraci[oó]n)\s*:?\s*)?"
    r"(\d{1,2}(?:\s*[,;/]\s*\d{1,2}|[ \t]+\d{1,2})*)(?!\d|[.,]\d)(\s*[-–—:.,)!]?)\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
NUMBER = re.compile(r"\d{1,2}")
OUT_OF_FIVE = re.compile(r"^\d{1,2}\s*/\s*5$")  # "3/5" is three out of five, not two aspects
LOWEST_RATING, HIGHEST_RATING = 1, 5
OVERALL = "overall"  # the aspect a single number rates
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


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """What a reply to the closure survey says, aspect by aspect (aspects named by their configured keys)."""

    ratings: tuple[tuple[str, int], ...]  # (aspect, 1-5) understood, in the survey's order
    missing: tuple[str, ...] = ()  # aspects asked for and not rated validly
    out_of_range: tuple[int, ...] = ()  # numbers written outside 1-5, as written
    surplus: tuple[int, ...] = ()  # numbers beyond the last aspect
    comment: str = ""

    @property
    def is_complete(self) -> bool:
        return not (self.missing or self.out_of_range or self.surplus)

    @property
    def overall(self) -> int | None:
        return dict(self.ratings).get(OVERALL)


def parse_survey_answer(text: str, aspects: tuple[str, ...]) -> SurveyAnswer | None:
    """A survey answer: the first line holds one number (the overall rating) or one per aspect; the rest is the comment.

    None when the reply does not start like an answer ("3 servidores caídos", "gracias", "4.5").
    """
    words = own_words(text).strip()
    match = RATING.match(words)
    if match is None:
        return None
    written, comment = match.group(1), match.group(3).strip()
    numbers = [int(number) for number in NUMBER.findall(written)]
    if OUT_OF_FIVE.match(written):
        numbers = numbers[:1]
    separated = bool("/" in written or match.group(2).strip() or "\n" in match.group(2))
    first_word = fold(comment).split()[0].strip(".,!:;") if comment else ""
    # After a single bare number the comment must read like an opinion; a row of numbers is an answer anyway.
    if len(numbers) == 1 and comment and not separated and first_word not in OPINION_START:
        return None
    if len(numbers) == 1:
        return rated_overall(numbers[0], comment)
    return rated_by_aspect(numbers, aspects, comment)


def is_valid_rating(number: int) -> bool:
    return LOWEST_RATING <= number <= HIGHEST_RATING


def rated_overall(number: int, comment: str) -> SurveyAnswer:
    if is_valid_rating(number):
        return SurveyAnswer(((OVERALL, number),), comment=comment)
    return SurveyAnswer((), missing=(OVERALL,), out_of_range=(number,), comment=comment)


def rated_by_aspect(numbers: list[int], aspects: tuple[str, ...], comment: str) -> SurveyAnswer:
    """The n-th number rates the n-th aspect; out-of-range numbers leave their aspect missing."""
    given = dict(zip(aspects, numbers))
    return SurveyAnswer(
        ratings=tuple((aspect, number) for aspect, number in given.items() if is_valid_rating(number)),
        missing=tuple(aspect for aspect in aspects if not is_valid_rating(given.get(aspect, 0))),
        out_of_range=tuple(number for number in numbers[:len(aspects)] if not is_valid_rating(number)),
        surplus=tuple(numbers[len(aspects):]),
        comment=comment,
    )


def asks_for_escalation(text: str) -> bool:
    """'Por favor, escalar el caso' / 'please escalate'; not 'no hace falta escalar' nor 'privilege escalation'."""
    words = fold(own_words(text))
    return any(not NOT_WANTED.search(words[max(0, match.start() - 40):match.start()]) for match in ESCALATION.finditer(words))
