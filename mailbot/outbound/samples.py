"""Render every template with sample values, so a broken template is found by check-config, not by a customer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from mailbot.config import Settings
from mailbot.domain.decisions import ReplyKind
from mailbot.outbound.templates import TemplateMissing, TemplateRenderer

LANGUAGES = ("es", "en")


def sample_context(language: str) -> dict[str, Any]:
    return {
        "language": language,
        "support_name": "Support",
        "support_address": "support@example.com",
        "case_number": "CASE-2026-00001",
        "original_subject": "Sample subject",
        "sender_address": "customer@example.com",
        "contact_name": "Ana",
        "account_name": "ACME",
        "received_at": "2026-11-23 09:00 CET",
        "today": "2026-11-23",
        "last_contract_end": "2026-10-31",
        "next_contract_start": None,
        "plan_name": "Standard",
        "priority": "P2",
        "priority_label": "P2",
        "ticket_type": "problem",
        "ticket_type_label": "problem",
        "first_response_due": "Tuesday 24 November 2026, 09:00 (Bogota time)",
        "resolution_due": None,
        "missing_details": ["version and build"],
        "upgrade_hint": "Advanced",
        "allowed_types": ["problem", "question"],
        "requests_per_month": 3,
        "requests_used": 3,
        "quota_resets_on": "Tuesday 1 December 2026",
        "maintenance_lead_days": 8,
        "earliest_maintenance_date": "Tuesday 1 December 2026",
        "requested_date": "Friday 27 November 2026",
        "command_errors": ["#frobnicate: unknown command"],
    }


NOTICE_KINDS = ("engineer_new_case", "engineer_customer_message", "customer_relay", "closure_notice", "inactivity_reminder",
                "escalation_notice")


def notice_context(language: str) -> dict[str, Any]:
    return {
        **sample_context(language), "subject": "Sample subject", "contact": "ana@example.com", "status": "open",
        "assigned_to": None, "close_reason": "solved", "customer_text": "Text", "customer": "ana@example.com",
        "attachments_left_out": [], "attachments_left_out_more": 0, "what": "reply", "body": "Answer", "engineer_name": "María", "duplicate_of": None,
        "survey": True,
        "close_after_days": 5,
        "for_manager": False,
        "clock": "response", "threshold": "100%", "level": "N2", "level_title": "Support lead", "breached": True,
        "breach_at": "Tuesday 24 November 2026, 09:00 (Bogota time)", "late_by": "1 h 00 min", "customer_request": False,
        "history": ["2026-11-24 08:00 maria: #priority P1"],
    }


OPTIONAL_KEYS = (
    "case_number", "priority", "priority_label", "ticket_type", "first_response_due", "resolution_due", "upgrade_hint",
    "requests_per_month", "maintenance_lead_days", "earliest_maintenance_date", "requested_date", "last_contract_end",
    "next_contract_start",
)


def sparse_context(language: str) -> dict[str, Any]:
    """The same keys with nothing known: no plan, no case, no dates."""
    return {**sample_context(language), **dict.fromkeys(OPTIONAL_KEYS), "missing_details": [], "allowed_types": []}


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
