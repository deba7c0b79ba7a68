"""Carry out a decision inside the caller's transaction: inbound record, case change and outbox rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.db.models import Case, CaseMessage, InboundRecord, OutboxMessage, StoredAttachment
from mailbot.db.queries import allocate_case_number
from mailbot.domain.decisions import Decision, Outcome, Situation
from mailbot.domain.messages import InboundMessage
from mailbot.outbound.replies import OutgoingMail
from mailbot.service.app import App

CASE_OPEN = "open"


@dataclass(frozen=True, slots=True)
class Applied:
    inbound_id: int
    case_number: str | None
    reply_message_id: str | None


def apply_decision(
    app: App, session: Session, decision: Decision, situation: Situation, source: str, source_ref: str
) -> Applied:
    record = inbound_record(decision, situation, source, source_ref)
    session.add(record)
    session.flush()
    case = case_for(app, session, decision, situation)
    if case is not None:
        record.case_id = case.id
        add_case_message(session, case, situation.message, record.id, situation.now)
    reply_id = None
    if decision.reply is not None:
        outgoing = app.replies.reply(decision.reply, situation, case)
        queue(app, session, outgoing, record.id, case, situation.now)
        reply_id = outgoing.message_id
    return Applied(record.id, case.number if case else None, reply_id)


def inbound_record(decision: Decision, situation: Situation, source: str, source_ref: str) -> InboundRecord:
    message = situation.message
    reason = decision.reason
    if decision.reply_suppressed_by:
        reason += f"; reply withheld by {decision.reply_suppressed_by}"
    return InboundRecord(
        message_key=message.message_key,
        message_id=message.message_id,
        source=source,
        source_ref=source_ref,
        sender=message.sender.email if message.sender else "",
        subject=message.subject,
        received_at=situation.now,
        outcome=decision.outcome.value,
        rule=decision.rule,
        reason=reason,
    )


def case_for(app: App, session: Session, decision: Decision, situation: Situation) -> Case | None:
    if decision.outcome is Outcome.CASE_OPENED:
        return open_case(app, session, situation)
    if decision.outcome is Outcome.APPENDED and situation.thread is not None:
        case = session.get(Case, situation.thread.case_id)
        if case is not None:
            case.updated_at = situation.now
        return case
    return None


def open_case(app: App, session: Session, situation: Situation) -> Case:
    sender = situation.sender
    assert sender is not None, "policy opens cases only for designated contacts"
    year = situation.now.astimezone(app.replies.zone_for(sender)).year
    found = situation.classification
    priority = found.priority if found else None
    targets = app.catalog.targets(situation.plan, priority, situation.now) if situation.plan and priority else None
    case = Case(
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
    )
    session.add(case)
    session.flush()
    return case


def add_case_message(session: Session, case: Case, message: InboundMessage, inbound_id: int, now: datetime) -> None:
    entry = CaseMessage(
        case_id=case.id,
        direction="in",
        message_id=message.message_key,
        sender=message.sender.email if message.sender else "",
        recipients=", ".join(message.recipients),
        subject=message.subject,
        body_text=message.text,
        created_at=now,
        inbound_id=inbound_id,
    )
    entry.attachments = [
        StoredAttachment(
            filename=item.filename, content_type=item.content_type, size=item.size, content=item.content
        )
        for item in message.attachments
    ]
    session.add(entry)


def queue(app: App, session: Session, outgoing: OutgoingMail, inbound_id: int, case: Case | None, now: datetime) -> None:
    row = OutboxMessage(
        message_id=outgoing.message_id,
        kind=outgoing.kind,
        case_id=case.id if case else None,
        inbound_id=inbound_id,
        recipient=outgoing.recipient,
        envelope_from=app.settings.outbox.envelope_from or app.settings.support.address,
        subject=outgoing.subject,
        raw=outgoing.raw,
        is_auto_reply=True,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if case is not None:
        session.add(
            CaseMessage(
                case_id=case.id,
                direction="out",
                message_id=outgoing.message_id,
                sender=app.settings.support.address,
                recipients=outgoing.recipient,
                subject=outgoing.subject,
                body_text=outgoing.body_text,
                created_at=now,
                outbox_id=row.id,
            )
        )
