"""Every string in the contact's language: each template and command error, rendered in Spanish, has no English word."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from mailbot.config import TICKET_TYPES
from mailbot.db.models import CaseEvent
from mailbot.domain.decisions import ReplyKind
from mailbot.outbound.labels import LABELS, command_error_text
from mailbot.outbound.samples import NOTICE_KINDS, notice_context, sample_command_errors, sample_context, sparse_context
from mailbot.outbound.templates import TemplateRenderer
from mailbot.policy.commands import CLOSE_REASONS, parse_engineer_message
from mailbot.sla.escalations import history_lines

STATUSES = ("open", "waiting", "closed")
CLOCKS = ("response", "resolution", "replacement")
PLAN_REFUSALS = (ReplyKind.QUOTA_EXCEEDED, ReplyKind.MAINTENANCE_TOO_SOON)
WHATS = ("reply", "escalation", "reopened", "after_close", "third_party", "assigned")

# The engineer's syntax: a #keyword and the one argument after it (#priority P7, #type problem|question|...),
# addresses, and case numbers such as CASE-2026-00001 are the same in every language.
SYNTAX = re.compile(r"#[a-z]+(?:[ \t]+[^\s#]+)?|\S+@\S+|\b[A-Z][A-Z0-9]*-[0-9][0-9A-Z-]*")
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[^\W\d_]+")

# Names in the samples (product, plan, account, people, places): not words of either language.
NAMES = {"acme", "helpdesk", "standard", "advanced", "ana", "maría", "maria", "zoe", "bogota", "cet", "rma", "sla"}
# Words both languages write the same way.
SHARED = {"a", "no", "plan", "error", "logs", "build", "p", "h", "min", "n"}
COMMON_ENGLISH = {
    "open", "waiting", "closed", "solved", "inactive", "duplicate", "unsupported", "contract", "needs", "priority",
    "unknown", "invalid", "status", "type", "reason", "command", "commands", "hours", "case", "customer", "engineer",
    "reply", "first", "response", "resolution", "target", "clock", "assigned", "nobody", "nothing", "yet", "the",
    "and", "of", "to", "is", "not", "must", "be", "one", "with", "from", "time", "positive", "argument", "takes",
    "text", "after", "known", "scheme", "this", "your", "you", "we", "please", "hello", "thanks", "ticket", "request",
    "question", "problem", "maintenance", "warranty", "escalate", "escalation", "account", "subject", "received",
    "support", "late", "missed", "reached", "none", "sample", "answer", "date", "month", "day", "monday", "december",
}
COMMON_SPANISH = {
    "el", "la", "los", "las", "del", "caso", "estado", "abierto", "cerrado", "resuelto", "prioridad", "tipo", "motivo",
    "cliente", "ingeniero", "respuesta", "hola", "gracias", "su", "sus", "que", "por", "para", "con", "sin", "una",
    "uno", "desconocido", "falta", "comando", "horas", "nadie", "nada", "todavía", "solicitud", "consulta", "problema",
    "reloj", "objetivo", "cuenta", "asunto", "recibida", "soporte", "hora", "lunes", "diciembre", "texto", "ejemplo",
}


def catalogue_words(language: str) -> set[str]:
    return {word.lower() for text in strings_of(LABELS[language]) for word in WORD.findall(text)}


def strings_of(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from strings_of(item)


def denylist(language: str) -> set[str]:
    """Words that must not appear in mail of `language`: the other catalogue's words and common words, less ours."""
    other, common = ("en", COMMON_ENGLISH) if language == "es" else ("es", COMMON_SPANISH)
    return (catalogue_words(other) | common) - catalogue_words(language) - SHARED - NAMES


def foreign_words(text: str, language: str) -> set[str]:
    words = {word.lower() for word in WORD.findall(SYNTAX.sub(" ", TAG.sub(" ", text)))}
    return words & denylist(language)


def contexts(language: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every kind of mail with every status, close reason, type, clock and command error it can show."""
    for kind in ReplyKind:
        for ticket_type in TICKET_TYPES:
            yield kind.value, sample_context(language, ticket_type)
        # Nothing known about the plan; the case number is kept, as every kind that names it has one, and the
        # refusals that quote a plan's figures are left out, as they are only sent when the plan is known.
        if kind not in PLAN_REFUSALS:
            yield kind.value, {**sparse_context(language), "case_number": "CASE-2026-00001"}
    for gap in ("expired", "not_started", "none"):
        yield ReplyKind.NO_WARRANTY.value, {**sample_context(language, "rma"), "warranty_gap": gap}
    for kind in NOTICE_KINDS:
        for status in STATUSES:
            yield kind, notice_context(language, status=status)
        for reason in CLOSE_REASONS:
            yield kind, notice_context(language, status="closed", close_reason=reason)
        for ticket_type in TICKET_TYPES:
            yield kind, notice_context(language, ticket_type=ticket_type)
        for clock in CLOCKS:
            for breached in (True, False):
                yield kind, {**notice_context(language, clock=clock), "breached": breached}
        for what in WHATS:
            yield kind, {**notice_context(language), "what": what}
        yield kind, {**notice_context(language), "customer_request": True, "for_manager": True, "survey": False}


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_template_speaks_only_its_language(language: str) -> None:
    renderer = TemplateRenderer()
    found: dict[str, set[str]] = {}
    for kind, context in contexts(language):
        mail = renderer.render(kind, language, context)
        words = foreign_words("\n".join((mail.subject, mail.text, mail.html or "")), language)
        if words:
            found.setdefault(kind, set()).update(words)
    assert found == {}


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_command_error_speaks_its_language(language: str) -> None:
    errors = {command_error_text(error, language) for error in sample_command_errors()}
    assert {text: foreign_words(text, language) for text in errors if foreign_words(text, language)} == {}


def test_the_samples_cause_every_command_error() -> None:
    assert {error.key for error in sample_command_errors()} == set(LABELS["en"]["command_errors"])


def test_spanish_mail_that_was_seen_with_english_words() -> None:
    error = parse_engineer_message("#priority P7\nHola", ("P1", "P2"), {}).errors[0]
    assert command_error_text(error, "es") == "#priority P7: falta una prioridad: P1, P2"
    text = TemplateRenderer().render("engineer_customer_message", "es", notice_context("es", status="open")).text
    assert "Estado:     abierto" in text


def test_english_wording_is_unchanged() -> None:
    error = parse_engineer_message("#priority P7\nHi", ("P1", "P2"), {}).errors[0]
    assert command_error_text(error, "en") == "#priority P7: needs a priority: P1, P2"
    closure = TemplateRenderer().render("closure_notice", "en", notice_context("en", close_reason="inactive")).text
    assert "is now closed because we did not hear back from you." in closure


def shape(value: Any) -> Any:
    """Keys, lengths and {placeholders}: what two catalogues must share, whatever their words."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return len(value)
    return sorted({name for _, name, _, _ in string.Formatter().parse(value) if name})


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    assert set(LABELS) == {"es", "en"}
    assert shape(LABELS["es"]) == shape(LABELS["en"])


def test_escalation_history_uses_the_catalogue() -> None:
    at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    events = [CaseEvent(at=at, actor="maria", kind="#priority", detail="P1"),
              CaseEvent(at=at, actor="mailbot", kind="closed", detail="solved"),
              CaseEvent(at=at, actor="mailbot", kind="clock_paused", detail="waiting on the customer"),
              CaseEvent(at=at, actor="mailbot", kind="escalated", detail="response 100% -> N2")]
    assert history_lines(events, "es") == ["2026-11-24 08:00 maria: #priority P1", "2026-11-24 08:00 mailbot: cerrado resuelto",
                                           "2026-11-24 08:00 mailbot: reloj en pausa: esperando al cliente",
                                           "2026-11-24 08:00 mailbot: escalado primera respuesta 100% -> N2"]
