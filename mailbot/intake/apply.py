"""Carry out a decision inside the caller's transaction: inbound record, case change and outbox rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.config import EngineerSettings, PlanSettings
from mailbot.db.models import Account, Case, CaseMessage, InboundRecord, StoredAttachment
from mailbot.db.outgoing import CaseCopy, queue_outgoing
from mailbot.db.row_ids import take_ids
from mailbot.db.write_behind import add_row, insert_loaded
from mailbot.db.queries import allocate_case_number
from mailbot.domain.messages import Attachment
from mailbot.domain.decisions import Decision, Outcome, ReplyKind, Situation
from mailbot.outbound.replies import OutgoingMail
from mailbot.policy.commands import EngineerMessage
from mailbot.policy.decide import is_replyable
from mailbot.policy.warranty import WarrantyCover
from mailbot.app import App
from mailbot.cases.work import CaseWork, describe_survey
from mailbot.sla.escalations import escalate_locked, managers_told, reschedule

CASE_OPEN = "open"


@dataclass(frozen=True, slots=True)
class Applied:
    inbound_id: int
    case_number: str | None
    reply_message_id: str | None


def apply_decision(
    app: App, session: Session, decision: Decision, situation: Situation, source: str, source_ref: str
) -> Applied:
    case = case_for(app, session, decision, situation)
    inbound_id = add_row(session, InboundRecord, inbound_record(decision, situation, source, source_ref, case))
    entry = add_case_message(session, case, situation, inbound_id) if case is not None else None
    # The answer to "escalar" says who was told, so the escalation is carried out before it is written.
    escalation_first = decision.reply is ReplyKind.ESCALATION_RECEIVED and case is not None and entry is not None
    if escalation_first:
        assert case is not None and entry is not None
        carry_out(app, session, decision, situation, case, entry, inbound_id)
    reply_id = None
    if decision.reply is not None:
        errors = decision.engineer_message.errors if decision.engineer_message else ()
        cc = colleagues_in_copy(situation) if decision.reply is ReplyKind.ACKNOWLEDGMENT else ()
        extra = managers_told(app, session, case, situation.now, app.replies.language_for(situation.sender)) \
            if escalation_first and case is not None else None
        outgoing = app.replies.reply(decision.reply, situation, case, {**case_flags(decision, situation), **(extra or {})},
                                     cc=cc, command_errors=errors, survey=decision.survey)
        queue(app, session, outgoing, inbound_id, case, situation.now, internal=situation.engineer is not None)
        reply_id = outgoing.message_id
    if case is not None and entry is not None and not escalation_first:
        carry_out(app, session, decision, situation, case, entry, inbound_id)
    return Applied(inbound_id, case.number if case else None, reply_id)


def case_flags(decision: Decision, situation: Situation) -> dict[str, Any]:
    """What policy noticed about a new case, for its acknowledgment and the engineers' notice."""
    return {"beyond_maintenance_allowance": decision.beyond_maintenance_allowance, "out_of_scope": list(decision.out_of_scope),
            "maintenances_per_year": situation.plan.maintenances_per_year if situation.plan else None}


def colleagues_in_copy(situation: Situation) -> tuple[str, ...]:
    """The account's other designated contacts the customer put in To or Cc: they stay in the thread (no one else)."""
    sender = situation.sender
    message = situation.message
    if sender is None or message.sender is None:
        return ()
    written_to = {address.email for address in message.to + message.cc} - {message.sender.email}
    return tuple(sorted(address for address in written_to & sender.account_contacts if is_replyable(address)))


def carry_out(app: App, session: Session, decision: Decision, situation: Situation, case: Case, entry: CaseEntry,
              inbound_id: int) -> None:
    """What the decision means for the case beyond recording the message: notices, relays, state changes."""
    opened_now = decision.outcome is Outcome.CASE_OPENED
    work = CaseWork(app, session, case, situation.now, opened_now=opened_now)
    sender = entry.sender
    carry_out_decision(app, session, decision, situation, case, entry, inbound_id, work, sender)
    session.flush()
    if not opened_now:  # a new case was scheduled when opened: its notices move no clock
        reschedule(app, session, case, situation.now)  # priority, first response or closing may move the SLA clock


def carry_out_decision(app: App, session: Session, decision: Decision, situation: Situation, case: Case,
                       entry: CaseEntry, inbound_id: int, work: CaseWork, sender: str) -> None:
    if decision.outcome is Outcome.CASE_OPENED:
        if decision.beyond_maintenance_allowance:
            work.event("mailbot", "beyond_maintenance_allowance")
        if decision.out_of_scope:
            work.event("mailbot", "out_of_scope", ", ".join(decision.out_of_scope))
        work.notify_new_case(situation.message.text, sender, inbound_id, entry.attachments, case_flags(decision, situation))
        return
    if decision.rule == "engineer_reply" and decision.engineer_message is not None and situation.engineer is not None:
        handle_engineer_reply(app, session, work, decision.engineer_message, situation.engineer, entry.attachments,
                              written_at(situation))
    elif decision.rule == "thread_reply":
        work.resume_if_waiting(sender)
        work.forward_customer_message(situation.message.text, sender, "reply", inbound_id, entry.attachments)
    elif decision.rule == "survey_answer" and decision.survey is not None:
        work.record_survey(decision.survey, sender)
    elif decision.rule == "survey_correction" and decision.survey is not None:
        case.survey_corrected_at = situation.now
        work.event(sender, "survey_correction", describe_survey(decision.survey))
    elif decision.rule == "thanks_after_close":
        work.event(sender, "thanks")
        work.forward_customer_message(situation.message.text, sender, "after_close", inbound_id)
    elif decision.rule == "third_party_reply":
        work.forward_customer_message(situation.message.text, sender, "third_party", inbound_id)
    elif decision.rule == "reopen":
        work.reopen(sender)
        work.forward_customer_message(situation.message.text, sender, "reopened", inbound_id)
    elif decision.rule == "escalation_request":
        case.escalation_requested_at = situation.now
        work.event(sender, "escalation_requested")
        work.resume_if_waiting(sender)
        work.forward_customer_message(situation.message.text, sender, "escalation", inbound_id)
        session.flush()
        escalate_locked(app, session, case, situation.now, customer_request=True)


def handle_engineer_reply(app: App, session: Session, work: CaseWork, message: EngineerMessage,
                          engineer: EngineerSettings, attachments: Sequence[Attachment], written_at: datetime) -> None:
    """Commands first (priority, type, ...), then the answer goes out, then a close or reopen takes effect."""
    late = ("close", "reopen")
    work.apply_commands(tuple(c for c in message.commands if c.name not in late), engineer.email, written_at)
    if work.escalation_requested:
        session.flush()
        escalate_locked(app, session, work.case, work.now, customer_request=True)
    if message.body.strip() and not message.internal:
        work.relay_to_customer(engineer, message.body.strip(), attachments)
    work.apply_commands(tuple(c for c in message.commands if c.name in late), engineer.email)


def written_at(situation: Situation) -> datetime:
    """The message's Date, unless it claims to be later than its arrival (a wrong clock, or a lie)."""
    date = situation.message.date
    return date if date is not None and date <= situation.now else situation.now


def inbound_record(decision: Decision, situation: Situation, source: str, source_ref: str,
                   case: Case | None) -> dict[str, Any]:
    message = situation.message
    reason = decision.reason
    if decision.reply_suppressed_by:
        reason += f"; reply withheld by {decision.reply_suppressed_by}"
    if message.message_id and message.message_key != message.message_id and not message.message_key.startswith("sha256:"):
        reason += "; its Message-ID was seen before with other content"
    return {
        "message_key": message.message_key, "message_id": message.message_id, "content_digest": message.content_digest,
        "source": source, "source_ref": source_ref, "sender": message.sender.email if message.sender else "",
        "subject": message.subject, "received_at": situation.now, "outcome": decision.outcome.value,
        "rule": decision.rule, "reason": reason, "case_id": case.id if case is not None else None,
    }


def case_for(app: App, session: Session, decision: Decision, situation: Situation) -> Case | None:
    if decision.outcome is Outcome.CASE_OPENED:
        return open_case(app, session, situation, decision.related_case_id)
    if decision.outcome is Outcome.APPENDED and situation.thread is not None:
        case = session.get(Case, situation.thread.case_id)
        if case is not None:
            case.updated_at = situation.now
        return case
    return None


def open_case(app: App, session: Session, situation: Situation, related_case_id: int | None = None) -> Case:
    sender = situation.sender
    assert sender is not None, "policy opens cases only for designated contacts"
    year = situation.now.astimezone(app.replies.zone_for(sender)).year
    found = situation.classification
    priority = found.priority if found else None
    targets = app.catalog.targets(situation.plan, priority, situation.now) if situation.plan and priority else None
    [case_id] = take_ids(session, Case, 1)
    case = Case(
        id=case_id,
        number=allocate_case_number(session, app.numbering, year),
        account_id=sender.account_id,
        contact_id=sender.contact_id,
        subject=situation.message.subject,
        status=CASE_OPEN,
        language=app.replies.language_for(sender),
        opened_at=situation.now,
        updated_at=situation.now,
        ticket_type=found.ticket_type if found else None,
        priority=priority,
        first_response_due=targets.first_response_due if targets else None,
        resolution_due=targets.resolution_due if targets else None,
        related_case_id=related_case_id,
        paused_seconds=0,  # the column's default, needed before the INSERT by the SLA clock
    )
    if case.ticket_type == "rma":
        start_rma(app, case, situation.plan, sender.warranty, situation.now)
    # Its first escalation threshold goes into the INSERT; the account is in the session already (the directory's).
    case.account = session.get_one(Account, sender.account_id)
    reschedule(app, session, case, situation.now, opened_now=True)
    insert_loaded(session, case)
    return case


def start_rma(app: App, case: Case, plan: PlanSettings | None, cover: WarrantyCover | None, now: datetime) -> None:
    """Seed 001: the warranty process (and its replacement time) starts when the support case starts an RMA."""
    if cover is None:
        return
    case.warranty_option, case.warranty_ends_on = cover.option, cover.ends_on
    case.rma_started_at = now
    case.replacement_due = app.catalog.replacement_due(plan, cover.option, now)


@dataclass(frozen=True, slots=True)
class CaseEntry:
    """The message as its case recorded it."""

    id: int
    sender: str
    attachments: tuple[Attachment, ...]


def add_case_message(session: Session, case: Case, situation: Situation, inbound_id: int) -> CaseEntry:
    message = situation.message
    sender = message.sender.email if message.sender else ""
    entry_id = add_row(session, CaseMessage, {
        "case_id": case.id, "direction": "in", "message_id": message.message_key, "sender": sender,
        "recipients": ", ".join(message.recipients), "subject": message.subject, "body_text": message.text,
        "created_at": situation.now, "inbound_id": inbound_id, "outbox_id": None,
        # An engineer's own message never reaches the customer (its relayed copy does), so it is internal;
        # so is a manager's answer to an escalation notice.
        "author": "engineer" if situation.engineer else "customer",
        "internal": situation.engineer is not None or bool(situation.thread and situation.thread.via_notice),
    })
    for item in message.attachments:
        add_row(session, StoredAttachment, {"case_message_id": entry_id, "filename": item.filename,
                                            "content_type": item.content_type, "size": item.size,
                                            "content": item.content, "content_purged_at": None})
    return CaseEntry(entry_id, sender, message.attachments)


def queue(app: App, session: Session, outgoing: OutgoingMail, inbound_id: int, case: Case | None, now: datetime,
          *, internal: bool = False) -> None:
    copy = CaseCopy(app.settings.support.address, outgoing.body_text, "bot", internal) if case is not None else None
    queue_outgoing(session, message_id=outgoing.message_id, kind=outgoing.kind, recipient=outgoing.recipient,
                   envelope_from=app.settings.outbox.envelope_from or app.settings.support.address,
                   subject=outgoing.subject, raw=outgoing.raw, is_auto_reply=True, priority=0, now=now,
                   inbound_id=inbound_id, case_id=case.id if case else None, copy=copy)
