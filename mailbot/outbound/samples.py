"""Render every template with sample values, so a broken template is found by check-config, not by a customer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError

from mailbot.config import Settings
from mailbot.domain.decisions import ReplyKind
from mailbot.outbound.labels import case_labels, closed_because, command_error_text, label, labels, long_local_date, long_local_time
from mailbot.outbound.templates import TemplateMissing, TemplateRenderer
from mailbot.outbound.survey import survey_context
from mailbot.policy.commands import CommandError, parse_engineer_message
from mailbot.policy.conversation import SurveyAnswer
from mailbot.support_settings import DEFAULT_SURVEY_ASPECTS
from mailbot.policy.prepaid_hours import CardBalance, CardTerms, time_command_problems

LANGUAGES = ("es", "en")


SAMPLE_MOMENT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SAMPLE_ZONE = ZoneInfo("America/Bogota")
# Lines that between them cause every command error the catalogue has (tests check none is missing).
SAMPLE_COMMAND_LINES = ("#frobnicate", "#priority P7", "#priority A1", "#type bug", "#type request", "#assign zoe",
                        "#close quizás", "#close duplicate", "#close solved 12", "#time 5x", "#time 0h", "#internal 12")
SAMPLE_PRIORITIES = ("P1", "P2", "P3", "P4")
SAMPLE_TICKET_TYPES = ("problem", "question")  # a plan without requests: "#type request" is refused
# What customers and operators write is theirs to choose; samples use each language so only our words are tested.
SAMPLE_TEXT = {"es": {"subject": "Asunto de ejemplo", "text": "Texto", "body": "Respuesta", "title": "Jefa de sistemas",
                      "out_of_scope": "capacitacion", "level": "Responsable de soporte"},
               "en": {"subject": "Sample subject", "text": "Text", "body": "Answer", "title": "IT manager",
                      "out_of_scope": "training", "level": "Support lead"}}


def sample_command_errors() -> tuple[CommandError, ...]:
    engineers = {"maria": "maria@example.com"}
    text = "\n".join(SAMPLE_COMMAND_LINES)
    parsed = parse_engineer_message(text, SAMPLE_PRIORITIES, engineers, SAMPLE_TICKET_TYPES)
    card = CardBalance(CardTerms("C-1", date(2026, 1, 1), date(2026, 12, 31), 10.0), 9.0)
    return parsed.errors + tuple(time_command_problems(parse_engineer_message("#time 2h", SAMPLE_PRIORITIES, engineers).commands,
                                                       card))


# An answer with every flaw a correction names: one rating understood, one out of range, one extra number.
SAMPLE_SURVEY_ANSWER = SurveyAnswer(ratings=(("response_time", 5), ("communication", 4), ("overall", 5)),
                                    missing=("solution_quality",), out_of_range=(6,), surplus=(3,))


def sample_context(language: str, ticket_type: str = "problem") -> dict[str, Any]:
    words, sample = labels(language), SAMPLE_TEXT.get(language, SAMPLE_TEXT["en"])
    return {
        "language": language,
        "support_name": "Helpdesk",
        "support_address": "support@example.com",
        "case_number": "CASE-2026-00001",
        "original_subject": sample["subject"],
        "sender_address": "customer@example.com",
        "contact_name": "Ana",
        "account_name": "ACME",
        "received_at": "2026-11-23 09:00 CET",
        "today": "2026-11-23",
        "last_contract_end": "2026-10-31",
        "next_contract_start": None,
        "plan_name": "Standard",
        "priority": "P2",
        "priority_label": label(language, "priorities", "P2"),
        "ticket_type": ticket_type,
        "ticket_type_label": label(language, "ticket_types", ticket_type),
        "first_response_due": long_local_time(SAMPLE_MOMENT, SAMPLE_ZONE, language),
        "resolution_due": None,
        "missing_details": list(words["details"].values()),
        "upgrade_hint": "Advanced",
        "allowed_types": list(words["ticket_types"].values()),
        "requests_per_month": 3,
        "requests_used": 3,
        "quota_resets_on": long_local_date(date(2026, 12, 1), language),
        "maintenance_lead_days": 8,
        "maintenances_per_year": 2,
        "beyond_maintenance_allowance": True,
        "out_of_scope": [sample["out_of_scope"]],
        "earliest_maintenance_date": long_local_date(date(2026, 12, 1), language),
        "requested_date": long_local_date(date(2026, 11, 27), language),
        "command_errors": [command_error_text(error, language) for error in sample_command_errors()],
        **survey_context(DEFAULT_SURVEY_ASPECTS, language, SAMPLE_SURVEY_ANSWER),
        "prepaid_hours_remaining": "2.5", "prepaid_hours_granted": "10",
        "prepaid_hours_expires_on": long_local_date(date(2026, 12, 31), language),
        "managers_told": [sample["level"]],  # escalation_received: the levels told (empty: none is configured)
        **sample_warranty_context(language),
    }


SAMPLE_EXCLUSIONS = {
    "es": ("daños eléctricos", "infección de virus informáticos"),
    "en": ("electrical damage", "computer virus infection"),
}


def sample_warranty_context(language: str) -> dict[str, Any]:
    return {
        "warranty_option": "Extended", "warranty_ends_on": long_local_date(date(2027, 3, 31), language),
        "warranty_starts_on": long_local_date(date(2026, 4, 1), language), "warranty_gap": "expired",
        "replacement_due": long_local_time(SAMPLE_MOMENT, SAMPLE_ZONE, language),
        "replacement_span": labels(language)["replacement_span"]["business"].format(hours=8),
        "warranty_delivery_area": "Bogotá", "warranty_exclusions": list(SAMPLE_EXCLUSIONS.get(language, SAMPLE_EXCLUSIONS["en"])),
    }


NOTICE_KINDS = ("engineer_new_case", "engineer_customer_message", "customer_relay", "closure_notice", "inactivity_reminder",
                "escalation_notice", "prepaid_hours_statement",
                "tam_meeting_reminder")


def notice_context(language: str, status: str = "open", close_reason: str = "solved", clock: str = "response",
                   ticket_type: str = "problem") -> dict[str, Any]:
    sample = SAMPLE_TEXT.get(language, SAMPLE_TEXT["en"])
    return {
        **sample_context(language, ticket_type), "subject": sample["subject"], "contact": "ana@example.com",
        "status": status, "assigned_to": None, "close_reason": close_reason,
        **case_labels(language, status, close_reason, "P2", ticket_type),
        "closed_because": closed_because(close_reason, "CASE-2026-00002", language),
        "customer_text": sample["text"], "customer": "ana@example.com",
        "attachments_left_out": [], "attachments_left_out_more": 0, "what": "reply", "body": sample["body"],
        "engineer_name": "María", "contact_name": "Ana", "contact_title": sample["title"],
        "contact_phone": "+57 1 555 0100 ext. 204", "duplicate_of": "CASE-2026-00002" if close_reason == "duplicate" else None,
        "survey": True,
        **survey_context(DEFAULT_SURVEY_ASPECTS, language),
        "close_after_days": 5,
        "for_manager": False,
        "clock": clock, "clock_label": label(language, "clocks", clock), "threshold": "100%", "level": "N2",
        "level_title": "", "breached": True,
        "breach_at": long_local_time(SAMPLE_MOMENT, SAMPLE_ZONE, language), "late_by": "1 h 00 min",
        "customer_request": False,
        "history": ["2026-11-24 08:00 maria: #priority P1"],
        "statement": "exhausted", "hours_granted": "10", "hours_used": "11", "hours_remaining": "0", "hours_overdrawn": "1",
        "hours_expires_on": long_local_date(date(2026, 12, 31), language), "contract_reference": "C-1", "low_at_percent": 25,
        "recent_debits": [{"at": long_local_time(SAMPLE_MOMENT, SAMPLE_ZONE, language), "hours": "1.5",
                           "case_number": "CASE-2026-00001", "engineer": "maria@example.com", "overdraft": True}],
        # tam_meeting_reminder
        "account_key": "acme", "every_months": 6, "due_date": long_local_date(date(2026, 7, 1), language),
        "contract": "ACME-2026",
        "contacts": ["Ana <ana@example.com>"],
    }


OPTIONAL_KEYS = (
    "case_number", "priority", "priority_label", "ticket_type", "first_response_due", "resolution_due", "upgrade_hint",
    "requests_per_month", "maintenance_lead_days", "earliest_maintenance_date", "requested_date", "last_contract_end",
    "next_contract_start", "prepaid_hours_remaining", "prepaid_hours_granted", "prepaid_hours_expires_on", "maintenances_per_year",
    "next_contract_start", "warranty_option", "warranty_ends_on", "warranty_starts_on", "warranty_gap", "replacement_due",
    "replacement_span", "warranty_delivery_area",
)


def sparse_context(language: str) -> dict[str, Any]:
    """The same keys with nothing known: no plan, no case, no dates."""
    return {**sample_context(language), **dict.fromkeys(OPTIONAL_KEYS), "missing_details": [], "allowed_types": [],
            **survey_context(DEFAULT_SURVEY_ASPECTS, language),
            "beyond_maintenance_allowance": False, "out_of_scope": [],
            "managers_told": [],
            "warranty_exclusions": []}


def template_problems(settings: Settings, path: Path) -> list[str]:
    renderer = TemplateRenderer(settings.templates.path)
    problems: list[str] = []
    for kind in ReplyKind:
        for language in LANGUAGES:
            for context in (sample_context(language), sparse_context(language)):
                try:
                    renderer.render(kind.value, language, context)
                except (TemplateError, TemplateMissing) as error:
                    where = getattr(error, "filename", None) or f"{language}/{kind.value}"
                    problem = f"{path}: templates: {where}: {type(error).__name__}: {error}"
                    if problem not in problems:
                        problems.append(problem)
    for kind in NOTICE_KINDS:
        for language in LANGUAGES:
            try:
                renderer.render(kind, language, notice_context(language))
            except (TemplateError, TemplateMissing) as error:
                problems.append(f"{path}: templates: {language}/{kind}: {type(error).__name__}: {error}")
    return problems
