"""Turn a policy decision's reply into a finished outgoing message: template, language, headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from collections.abc import Mapping
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from mailbot.config import ALWAYS_OPEN, SupportSettings, WarrantyOption
from mailbot.support_settings import DEFAULT_SURVEY_ASPECTS, SurveyAspect
from mailbot.config_base import in_language
from mailbot.domain.decisions import ReplyKind, Situation
from mailbot.domain.directory import SenderStanding
from mailbot.outbound.compose import Envelope, as_bytes, compose, new_message_id, single_line
from mailbot.outbound.labels import command_error_text, labels, long_local_date, long_local_time
from mailbot.outbound.survey import survey_context
from mailbot.outbound.templates import TemplateRenderer
from mailbot.policy.commands import CommandError
from mailbot.policy.conversation import SurveyAnswer
from mailbot.policy.missing_info import missing_details
from mailbot.policy.prepaid_hours import format_hours
from mailbot.policy.quota import next_month_start
from mailbot.policy.warranty import warranty_gap

DATE_TIME_FORMAT = "%Y-%m-%d %H:%M %Z"


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    message_id: str  # without brackets
    kind: str
    recipient: str
    subject: str
    body_text: str
    raw: bytes


class ReplyComposer:
    def __init__(self, support: SupportSettings, renderer: TemplateRenderer,
                 survey_aspects: tuple[SurveyAspect, ...] = DEFAULT_SURVEY_ASPECTS,
                 round_the_clock: frozenset[str] = frozenset({ALWAYS_OPEN})) -> None:
        self._support = support
        self._survey_aspects = survey_aspects
        self._round_the_clock = round_the_clock  # calendars that count every hour (a replacement "every day")
        self._renderer = renderer
        self.renderer = renderer
        self._products = support.products

    def reply(self, kind: ReplyKind, situation: Situation, case: CaseFacts | None,
              extra: Mapping[str, Any] | None = None, *, cc: tuple[str, ...] = (),
              command_errors: tuple[CommandError, ...] = (), survey: SurveyAnswer | None = None) -> OutgoingMail:
        case_number = case.number if case else None
        message, sender = situation.message, situation.sender
        assert message.sender is not None, "policy never replies to a message without a sender"
        engineer_language = situation.engineer.language if situation.engineer else None
        language = engineer_language or self.language_for(sender)
        context = {**self.context(kind, situation, case, language), **survey_context(self._survey_aspects, language, survey),
                   **(extra or {}),
                   "command_errors": [command_error_text(error, language) for error in command_errors]}
        content = self._renderer.render(kind.value, language, context)
        message_id = new_message_id(self._support.id_domain)
        envelope = Envelope(
            from_address=self._support.address,
            from_name=self._support.display_name,
            to_address=message.sender.email,
            to_name=sender.contact_name if sender else message.sender.name,
            reply_to=self._support.address,
            message_id=message_id,
            date=situation.now,
            in_reply_to=message.message_id,
            references=message.references,
            loop_marker=self._support.address,
            extra_headers=(("X-Mailbot-Case", case_number),) if case_number else (),
            cc=cc,
        )
        composed = compose(envelope, content)
        return OutgoingMail(
            message_id=message_id,
            kind=kind.value,
            recipient=", ".join((message.sender.email, *cc)),
            subject=single_line(content.subject),
            body_text=content.text,
            raw=as_bytes(composed),
        )

    def language_for(self, sender: SenderStanding | None) -> str:
        return (sender.language if sender and sender.language else None) or self._support.default_language

    def zone_for(self, sender: SenderStanding | None) -> ZoneInfo:
        return ZoneInfo((sender.timezone if sender and sender.timezone else None) or self._support.default_timezone)

    def context(self, kind: ReplyKind, situation: Situation, case: CaseFacts | None, language: str) -> dict[str, Any]:
        case_number = case.number if case else None
        message, sender = situation.message, situation.sender
        assert message.sender is not None
        zone = self.zone_for(sender)
        received = (message.date or situation.now) if message.date and message.date <= situation.now else situation.now
        today = situation.now.astimezone(zone).date()
        return {
            "language": language,
            "support_name": self._support.display_name,
            "support_address": self._support.address,
            "case_number": case_number,
            "original_subject": message.subject,
            "sender_address": message.sender.email,
            "contact_name": sender.contact_name if sender else message.sender.name,
            "account_name": sender.account_name if sender else "",
            "received_at": local_time(received, zone),
            "today": today.isoformat(),
            "last_contract_end": last_contract_end(sender, today),
            "next_contract_start": next_contract_start(sender, today),
            **plan_context(situation, case, language, zone, today, self._products),
            **warranty_context(situation, case, language, zone, today, self._round_the_clock),
        }


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(DATE_TIME_FORMAT)


class CaseFacts(Protocol):
    """What a reply may say about the case it concerns (the Case row satisfies it)."""

    number: str
    priority: str | None
    ticket_type: str | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    replacement_due: datetime | None  # an RMA's replacement target
    warranty_option: str | None
    warranty_ends_on: date | None


def plan_context(
    situation: Situation, case: CaseFacts | None, language: str, zone: ZoneInfo, today: date, products: tuple[str, ...]
) -> dict[str, Any]:
    """Entitlement facts for the templates: targets, what is missing, quota, allowed types, maintenance dates."""
    plan, found = situation.plan, situation.classification
    words = labels(language)
    ticket_type = (case.ticket_type if case else None) or (found.ticket_type if found else None)
    context: dict[str, Any] = {
        "plan_name": (in_language(plan.display_name, language) if plan else None)
        or (situation.sender.plan_name if situation.sender else ""),
        "priority": case.priority if case else (found.priority if found else None),
        "priority_label": words["priorities"].get(case.priority if case and case.priority else "", ""),
        "ticket_type": ticket_type,
        "ticket_type_label": words["ticket_types"].get(ticket_type or "", ticket_type or ""),
        "first_response_due": long_local_time(case.first_response_due, zone, language) if case and case.first_response_due else None,
        "resolution_due": long_local_time(case.resolution_due, zone, language) if case and case.resolution_due else None,
        "missing_details": [words["details"][detail] for detail in missing_details(situation.message, ticket_type or "", products)]
        if case else [],
        "upgrade_hint": in_language(plan.upgrade_hint, language) if plan else None,
    }
    # Every key is always there (None when it does not apply): templates never hit an undefined name.
    context["allowed_types"] = [words["ticket_types"][name] for name in plan.ticket_types] if plan else []
    context["requests_per_month"] = plan.requests_per_month if plan else None
    context["requests_used"] = situation.requests_this_month
    context["quota_resets_on"] = long_local_date(next_month_start(today), language)
    context["maintenance_lead_days"] = plan.maintenance_lead_days if plan else None
    context["maintenances_per_year"] = plan.maintenances_per_year if plan else None
    context["beyond_maintenance_allowance"] = False  # the decision's, passed in `extra` for new cases
    context["out_of_scope"] = []
    context["earliest_maintenance_date"] = (
        long_local_date(today + timedelta(days=plan.maintenance_lead_days), language) if plan else None
    )
    card = situation.prepaid_hours
    context["prepaid_hours_remaining"] = format_hours(max(card.remaining, 0.0)) if card else None
    context["prepaid_hours_granted"] = format_hours(card.terms.granted) if card else None
    context["prepaid_hours_expires_on"] = long_local_date(card.terms.expires_on, language) if card else None
    context["requested_date"] = (
        long_local_date(found.requested_date, language) if found is not None and found.requested_date else None
    )
    return context


def warranty_context(situation: Situation, case: CaseFacts | None, language: str, zone: ZoneInfo, today: date,
                     round_the_clock: frozenset[str]) -> dict[str, Any]:
    """An RMA's warranty: option, end, replacement target and exclusions (acknowledgment), or why there is none."""
    plan, sender, found = situation.plan, situation.sender, situation.classification
    ticket_type = (case.ticket_type if case else None) or (found.ticket_type if found else None)
    warranty = plan.warranty if plan else None
    cover = sender.warranty if sender else None
    option_name = (case.warranty_option if case else None) or (cover.option if cover else None)
    option = warranty.options.get(option_name or "") if warranty else None
    ends_on = (case.warranty_ends_on if case else None) or (cover.ends_on if cover else None)
    is_rma = ticket_type == "rma"
    gap = warranty_gap(cover, today) if is_rma else None
    return {
        "warranty_option": (in_language(option.display_name, language) if option and option.display_name else None)
        or option_name,
        "warranty_ends_on": long_local_date(ends_on, language) if ends_on else None,
        "warranty_starts_on": long_local_date(cover.starts_on, language) if cover and cover.starts_on else None,
        "warranty_gap": gap.value if gap else None,
        "replacement_due": long_local_time(case.replacement_due, zone, language) if case and case.replacement_due else None,
        "replacement_span": replacement_span(option, option.calendar in round_the_clock, language) if option else None,
        "warranty_delivery_area": in_language(warranty.delivery_area, language) if warranty and warranty.delivery_area else None,
        "warranty_exclusions": [in_language(item, language) for item in warranty.exclusions] if warranty and is_rma else [],
    }


def replacement_span(option: WarrantyOption, round_the_clock: bool, language: str) -> str:
    """'8 business hours' or '24 hours, every day': how the target is counted."""
    hours = f"{option.replacement.total_seconds() / 3600:g}"
    return labels(language)["replacement_span"]["always" if round_the_clock else "business"].format(hours=hours)


def last_contract_end(sender: SenderStanding | None, today: date) -> str | None:
    ended = [term.ends_on for term in (sender.contracts if sender else ()) if term.ends_on and term.ends_on < today]
    return max(ended).isoformat() if ended else None


def next_contract_start(sender: SenderStanding | None, today: date) -> str | None:
    future = [term.starts_on for term in (sender.contracts if sender else ()) if term.starts_on > today]
    return min(future).isoformat() if future else None
