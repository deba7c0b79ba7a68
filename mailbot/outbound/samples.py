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
    }


def template_problems(settings: Settings, path: Path) -> list[str]:
    renderer = TemplateRenderer(settings.templates.path)
    problems: list[str] = []
    for kind in ReplyKind:
        for language in LANGUAGES:
            try:
                renderer.render(kind.value, language, sample_context(language))
            except (TemplateError, TemplateMissing) as error:
                where = getattr(error, "filename", None) or f"{language}/{kind.value}"
                problems.append(f"{path}: templates: {where}: {type(error).__name__}: {error}")
    return problems
