"""The policy as a table of small pure rules; the first rule that returns a decision decides.

Reading RULES top to bottom is reading the policy. Later capabilities (quotas, ticket types,
maintenance lead time) slot in as new rows before `open_case`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mailbot.config import TICKET_TYPES
from mailbot.domain.decisions import Decision, Outcome, PolicySettings, ReplyKind, Situation
from mailbot.domain.directory import SenderStanding, ThreadEvidence, ThreadMatch
from mailbot.policy import loops
from mailbot.policy.authentication import Boundary, is_sender_forged
from mailbot.policy.commands import parse_engineer_message
from mailbot.policy.prepaid_hours import time_command_problems
from mailbot.policy.conversation import SurveyAnswer, asks_for_escalation, is_short_thanks, own_words, parse_survey_answer
from mailbot.policy.quota import is_beyond_allowance
from mailbot.policy.scope import out_of_scope_phrases
from mailbot.policy.warranty import warranty_gap
from mailbot.wording import counted

Rule = Callable[[Situation, PolicySettings], Decision | None]


def ignore(rule: str, reason: str) -> Decision:
    return Decision(Outcome.IGNORED, rule, reason)


def own_mail(situation: Situation, settings: PolicySettings) -> Decision | None:
    if loops.is_own_mail(situation.message, settings.support_address, settings.own_message_id_domain):
        return ignore("own_mail", "our own message came back (Message-ID domain, X-Loop or From)")
    return None


def auto_submitted(situation: Situation, settings: PolicySettings) -> Decision | None:
    # Before thread_reply and unknown_sender: an out-of-office is neither the customer's answer nor a stranger.
    reason = loops.auto_reply_reason(situation.message)
    return ignore("auto_submitted", f"automatic reply: {reason}") if reason else None


def bulk_or_list(situation: Situation, settings: PolicySettings) -> Decision | None:
    if loops.is_bulk_or_list(situation.message):
        return ignore("bulk_or_list", "list or bulk mail (List-Id or Precedence)")
    return None


def delivery_report(situation: Situation, settings: PolicySettings) -> Decision | None:
    reason = loops.report_reason(situation.message)
    return ignore("delivery_report", f"bounce or receipt: {reason}") if reason else None


def several_authors(situation: Situation, settings: PolicySettings) -> Decision | None:
    # No reply at all, not even the unknown-sender text: which of the From mailboxes wrote is unknown, so any
    # answer may reach someone who never wrote (and one to all of them would copy strangers on each other).
    if situation.message.has_several_authors:
        count = len(situation.message.from_addresses)
        return ignore("several_authors", f"From has {count} addresses and no Sender among them (RFC 5322 §3.6.2)")
    return None


def no_sender(situation: Situation, settings: PolicySettings) -> Decision | None:
    if situation.message.sender is None or not situation.message.sender.email:
        return ignore("no_sender", "no usable From address")
    return None


def not_for_support(situation: Situation, settings: PolicySettings) -> Decision | None:
    addresses = (settings.support_address, *settings.support_aliases)
    if not loops.is_addressed_to(situation.message, addresses):
        return ignore("not_for_support", f"not addressed to {', '.join(addresses)} (To, Cc, Delivered-To)")
    return None


def forged_sender(situation: Situation, settings: PolicySettings) -> Decision | None:
    # No reply: it would go to the forged address, i.e. to someone who never wrote (backscatter).
    if is_sender_forged(situation.message, Boundary(settings.trusted_authserv_ids, settings.boundary_hosts)):
        return ignore("forged_sender", "Authentication-Results from a trusted server: sender authentication failed")
    return None


def belongs_to_thread(thread: ThreadMatch | None, sender: SenderStanding | None) -> bool:
    """A reference to the case's messages is proof; a quoted case number alone only from the case's own account."""
    if thread is None:
        return False
    same_account = sender is not None and sender.account_id == thread.account_id
    return thread.evidence is ThreadEvidence.REFERENCE or same_account


def within_reopen_window(thread: ThreadMatch, now: datetime, settings: PolicySettings) -> bool:
    return thread.closed_at is not None and now - thread.closed_at <= timedelta(days=settings.reopen_window_days)


def is_new_request(thread: ThreadMatch | None, sender: SenderStanding | None, now: datetime, settings: PolicySettings) -> bool:
    """Mail that would open a case (and so uses the quota): not a reply in a live or recently closed thread."""
    if thread is None or not belongs_to_thread(thread, sender):
        return True
    return thread.is_closed and not within_reopen_window(thread, now, settings)


def engineer_reply(situation: Situation, settings: PolicySettings) -> Decision | None:
    if situation.engineer is None:
        return None
    thread = situation.thread
    if thread is None or not thread.via_notice:
        if situation.sender is not None:
            return None  # an engineer who is also a customer's designated contact, writing as the customer
        # From: alone is forgeable: only a reply to a notice we sent to this very address acts on a case.
        where = "outside any case thread" if thread is None else f"about {thread.case_number} but not in reply to its notice"
        return ignore("engineer_without_case", f"engineer {situation.engineer.email} wrote {where}")
    # The case's plan bounds #priority (its scheme) and #type (its ticket types); without a plan, any of them.
    plan = situation.case_plan
    priorities = plan.priorities if plan else ("P1", "P2", "P3", "P4")
    parsed = parse_engineer_message(own_words(situation.message.text), priorities, dict(settings.engineer_names),
                                    plan.ticket_types if plan else TICKET_TYPES)
    parsed = replace(parsed, errors=parsed.errors + tuple(time_command_problems(parsed.commands, situation.prepaid_hours)))
    if parsed.errors:
        return Decision(Outcome.APPENDED, "engineer_command_errors", f"{counted(len(parsed.errors), 'invalid command')} in {thread.case_number}",
                        ReplyKind.ENGINEER_COMMAND_ERRORS, engineer_message=parsed)
    return Decision(Outcome.APPENDED, "engineer_reply", f"engineer {situation.engineer.email} in {thread.case_number}",
                    engineer_message=parsed)


def thread_reply(situation: Situation, settings: PolicySettings) -> Decision | None:
    thread = situation.thread
    if thread is None or not belongs_to_thread(thread, situation.sender):
        return None
    text = situation.message.text
    account_contact = situation.sender is not None and situation.sender.account_id == thread.account_id
    if not account_contact:
        # Someone else in the thread (a colleague not designated, a manager, an outsider): heard, never obeyed.
        return Decision(Outcome.APPENDED, "third_party_reply", f"{situation.message.sender.email if situation.message.sender else '?'}"
                        f" wrote in {thread.case_number}; passed to the engineers, no effect on the case")
    if thread.is_closed:
        answer = parse_survey_answer(text, settings.survey_aspects)
        if answer is not None and thread.survey_pending:
            return survey_decision(thread, answer)
        if is_short_thanks(text) or answer is not None:
            # Thanks, or a second rating (one per case): recorded, never a reason to reopen.
            return Decision(Outcome.APPENDED, "thanks_after_close", f"thanks on closed {thread.case_number}: not reopened")
        if within_reopen_window(thread, situation.now, settings):
            return Decision(Outcome.APPENDED, "reopen", f"reply within {settings.reopen_window_days} days reopens {thread.case_number}",
                            reopen=True)
        return None  # too late: a new case that refers to the old one
    if asks_for_escalation(text):
        return Decision(Outcome.APPENDED, "escalation_request", f"customer asks to escalate {thread.case_number}",
                        ReplyKind.ESCALATION_RECEIVED, escalation=True)
    return Decision(Outcome.APPENDED, "thread_reply", f"reply in the thread of {thread.case_number} ({thread.evidence})")


def survey_decision(thread: ThreadMatch, answer: SurveyAnswer) -> Decision:
    """A complete answer is thanked; an incomplete one is corrected once, then recorded as far as it is valid."""
    understood = " ".join(f"{aspect}={rating}" for aspect, rating in answer.ratings) or "nothing valid"
    if answer.is_complete or thread.survey_corrected:
        partial = "" if answer.is_complete else " (after a correction, kept as far as valid)"
        return Decision(Outcome.APPENDED, "survey_answer", f"rated {thread.case_number}: {understood}{partial}",
                        ReplyKind.SURVEY_THANKS, survey=answer)
    return Decision(Outcome.APPENDED, "survey_correction", f"incomplete rating of {thread.case_number}: {understood};"
                    f" missing {', '.join(answer.missing) or '-'}", ReplyKind.SURVEY_CORRECTION, survey=answer)


def unknown_sender(situation: Situation, settings: PolicySettings) -> Decision | None:
    if situation.sender is None:
        return Decision(
            Outcome.REFUSED, "unknown_sender", "sender is not a designated contact", ReplyKind.UNKNOWN_SENDER
        )
    return None


def no_valid_contract(situation: Situation, settings: PolicySettings) -> Decision | None:
    sender = situation.sender
    if sender is None:
        return None
    # Contract dates are the customer's calendar dates, so "today" is taken in the account's zone.
    today = local_today(situation, settings)
    if not sender.has_valid_contract(today):
        return Decision(
            Outcome.REFUSED,
            "no_valid_contract",
            f"account {sender.account_key} has no contract valid on {today.isoformat()}",
            ReplyKind.NO_CONTRACT,
        )
    return None


def ticket_type_not_allowed(situation: Situation, settings: PolicySettings) -> Decision | None:
    plan, found = situation.plan, situation.classification
    if plan is None or found is None or found.ticket_type in plan.ticket_types:
        return None
    return Decision(
        Outcome.REFUSED,
        "ticket_type_not_allowed",
        f"ticket type {found.ticket_type} ({found.type_source}) is not in the plan ({', '.join(plan.ticket_types)})",
        ReplyKind.TYPE_NOT_ALLOWED,
    )


def no_valid_warranty(situation: Situation, settings: PolicySettings) -> Decision | None:
    """An RMA needs hardware warranty on the customer's calendar day (seed 001: one year unless the contract says more)."""
    found, sender = situation.classification, situation.sender
    if sender is None or found is None or found.ticket_type != "rma":
        return None
    today = local_today(situation, settings)
    gap = warranty_gap(sender.warranty, today)
    if gap is None:
        return None
    cover = sender.warranty
    span = f" ({cover.starts_on or '…'} to {cover.ends_on or '…'})" if cover else ""
    return Decision(Outcome.REFUSED, "no_valid_warranty", f"RMA: account {sender.account_key} warranty {gap.value}{span}"
                    f" on {today.isoformat()}", ReplyKind.NO_WARRANTY)


def maintenance_too_soon(situation: Situation, settings: PolicySettings) -> Decision | None:
    plan, found = situation.plan, situation.classification
    if plan is None or found is None or found.ticket_type != "maintenance" or found.requested_date is None:
        return None
    earliest = local_today(situation, settings) + timedelta(days=plan.maintenance_lead_days)
    if found.requested_date >= earliest:
        return None
    return Decision(
        Outcome.REFUSED,
        "maintenance_too_soon",
        f"maintenance requested for {found.requested_date}, earliest is {earliest} ({plan.maintenance_lead_days} days ahead)",
        ReplyKind.MAINTENANCE_TOO_SOON,
    )


def monthly_quota(situation: Situation, settings: PolicySettings) -> Decision | None:
    plan = situation.plan
    if plan is None or plan.requests_per_month is None or situation.requests_this_month < plan.requests_per_month:
        return None
    return Decision(
        Outcome.REFUSED,
        "monthly_quota",
        f"{situation.requests_this_month} of {plan.requests_per_month} requests this month already used",
        ReplyKind.QUOTA_EXCEEDED,
    )


def local_today(situation: Situation, settings: PolicySettings) -> date:
    zone = (situation.sender.account_timezone if situation.sender else None) or settings.default_timezone
    return situation.now.astimezone(ZoneInfo(zone)).date()


def open_case(situation: Situation, settings: PolicySettings) -> Decision | None:
    thread = situation.thread
    beyond, phrases = is_beyond_maintenance_allowance(situation), out_of_scope(situation)
    notes = "".join((f"; beyond the {situation.plan.maintenances_per_year if situation.plan else 0} included maintenances"
                     " this contract year" if beyond else "",
                     f"; out of scope? ({', '.join(phrases)})" if phrases else ""))
    flags = {"beyond_maintenance_allowance": beyond, "out_of_scope": phrases}
    if thread is not None and belongs_to_thread(thread, situation.sender):
        return Decision(Outcome.CASE_OPENED, "open_case", f"reply to {thread.case_number}, closed too long ago: new case{notes}",
                        ReplyKind.ACKNOWLEDGMENT, related_case_id=thread.case_id, **flags)
    return Decision(Outcome.CASE_OPENED, "open_case", f"entitled request{notes}", ReplyKind.ACKNOWLEDGMENT, **flags)


def is_beyond_maintenance_allowance(situation: Situation) -> bool:
    plan, found = situation.plan, situation.classification
    if plan is None or found is None or found.ticket_type != "maintenance":
        return False
    return is_beyond_allowance(situation.maintenances_this_year, plan.maintenances_per_year)


def out_of_scope(situation: Situation) -> tuple[str, ...]:
    plan = situation.plan
    if plan is None or not plan.flag_out_of_scope:
        return ()
    return out_of_scope_phrases(situation.message.subject, situation.message.text, plan.out_of_scope_phrases)


RULES: tuple[tuple[str, Rule], ...] = (
    ("own_mail", own_mail),
    ("auto_submitted", auto_submitted),
    ("bulk_or_list", bulk_or_list),
    ("delivery_report", delivery_report),
    ("several_authors", several_authors),  # before no_sender, whose reason it makes precise
    ("no_sender", no_sender),
    ("not_for_support", not_for_support),
    ("forged_sender", forged_sender),
    ("engineer_reply", engineer_reply),  # engineers' mail never opens cases nor meets customer rules
    ("thread_reply", thread_reply),
    ("unknown_sender", unknown_sender),
    ("no_valid_contract", no_valid_contract),
    ("ticket_type_not_allowed", ticket_type_not_allowed),
    ("no_valid_warranty", no_valid_warranty),  # after the type: a plan without RMA says so, not "no warranty"
    ("maintenance_too_soon", maintenance_too_soon),
    ("monthly_quota", monthly_quota),  # last of the refusals: refused mail never uses the quota
    ("open_case", open_case),
)
