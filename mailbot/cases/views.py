"""Read-only views of cases, the inbound log and the quarantine, as plain dicts for tables and JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from mailbot.cases.prepaid_hours import case_entries
from mailbot.db.models import Account, Case, CaseEvent, CaseMessage, Contact, InboundRecord, OutboxMessage, QuarantinedMessage


def list_cases(session: Session, statuses: tuple[str, ...] = (), limit: int | None = None) -> list[dict[str, Any]]:
    query = (
        select(Case, Account.key, Account.name, Contact.email)
        .join(Account, Case.account_id == Account.id)
        .outerjoin(Contact, Case.contact_id == Contact.id)
        .order_by(Case.opened_at.desc(), Case.id.desc())
    )
    if statuses:
        query = query.where(Case.status.in_(statuses))
    if limit:
        query = query.limit(limit)
    return [_summary(*row) for row in session.execute(query)]


def _summary(case: Case, account_key: str, account_name: str, contact_email: str | None) -> dict[str, Any]:
    return {
        "number": case.number,
        "status": case.status,
        "account": account_key,
        "account_name": account_name,
        "contact": contact_email,
        "subject": case.subject,
        "ticket_type": case.ticket_type,
        "priority": case.priority,
        "language": case.language,
        "opened_at": case.opened_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "first_response_due": case.first_response_due.isoformat() if case.first_response_due else None,
        "resolution_due": case.resolution_due.isoformat() if case.resolution_due else None,
    }


def show_case(session: Session, number: str) -> dict[str, Any] | None:
    case = session.scalars(
        select(Case)
        .where(func.upper(Case.number) == number.strip().strip("[]").upper())
        .options(
            selectinload(Case.messages).selectinload(CaseMessage.attachments),
            selectinload(Case.account),
            selectinload(Case.contact),
        )
    ).one_or_none()
    if case is None:
        return None
    summary = _summary(case, case.account.key, case.account.name, case.contact.email if case.contact else None)
    outbox = {row.id: row for row in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))}
    summary["messages"] = [_message_view(message, outbox.get(message.outbox_id or -1)) for message in case.messages]
    summary["plan"] = case.account.plan_name
    summary.update({
        "assigned_to": case.assigned_to, "first_response_at": _iso(case.first_response_at), "close_reason": case.close_reason,
        "survey_rating": case.survey_rating, "survey_comment": case.survey_comment, "remote_hours": case.remote_hours,
        "survey_ratings": {row.aspect: row.rating for row in case.survey_ratings},
        "escalation_requested_at": _iso(case.escalation_requested_at),
        "warranty_option": case.warranty_option,
        "warranty_ends_on": case.warranty_ends_on.isoformat() if case.warranty_ends_on else None,
        "rma_started_at": _iso(case.rma_started_at), "replacement_due": _iso(case.replacement_due),
    })
    summary["prepaid_hours"] = case_entries(session, case.id)
    summary["events"] = [
        {"at": event.at.isoformat(), "actor": event.actor, "kind": event.kind, "detail": event.detail}
        for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    ]
    return summary


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _message_view(message: CaseMessage, outbox: OutboxMessage | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "direction": message.direction,
        "at": message.created_at.isoformat(),
        "message_id": message.message_id,
        "from": message.sender,
        "to": message.recipients,
        "subject": message.subject,
        "text": message.body_text,
        "attachments": [
            {"filename": item.filename, "content_type": item.content_type, "size": item.size, "stored": item.content is not None}
            for item in message.attachments
        ],
    }
    if outbox is not None:
        view["delivery"] = {
            "status": outbox.status,
            "attempts": outbox.attempts,
            "next_attempt_at": outbox.next_attempt_at.isoformat() if outbox.status == "pending" else None,
            "sent_at": outbox.sent_at.isoformat() if outbox.sent_at else None,
            "last_error": outbox.last_error,
        }
    return view


def list_outbox(session: Session, statuses: tuple[str, ...] = (), limit: int = 50) -> list[dict[str, Any]]:
    query = (
        select(OutboxMessage, Case.number)
        .outerjoin(Case, OutboxMessage.case_id == Case.id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(OutboxMessage.status.in_(statuses))
    return [
        {
            "id": row.id,
            "status": row.status,
            "attempts": row.attempts,
            "kind": row.kind,
            "recipient": row.recipient,
            "case": number,
            "subject": row.subject,
            "message_id": row.message_id,
            "created_at": row.created_at.isoformat(),
            "next_attempt_at": row.next_attempt_at.isoformat() if row.status in ("pending", "sending") else None,
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "last_error": row.last_error,
        }
        for row, number in session.execute(query)
    ]


def list_quarantine(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id.desc()))
    return [
        {
            "id": row.id,
            "at": row.created_at.isoformat(),
            "source": row.source,
            "source_ref": row.source_ref,
            "message_key": row.message_key,
            "size": len(row.raw),
            "error": row.error,
        }
        for row in rows
    ]


def quarantined_raw(session: Session, item_id: int) -> bytes | None:
    row = session.get(QuarantinedMessage, item_id)
    return None if row is None else row.raw


def recent_inbound(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.scalars(select(InboundRecord).order_by(InboundRecord.id.desc()).limit(limit))
    return [
        {
            "at": row.received_at.isoformat(),
            "message_id": row.message_id,
            "sender": row.sender,
            "subject": row.subject,
            "outcome": row.outcome,
            "rule": row.rule,
            "reason": row.reason,
        }
        for row in rows
    ]


def list_inbound(session: Session, since: datetime | None, outcomes: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    """Every message the bot saw (newest first), with its outcome, the rule that decided and the case it touched."""
    query = (
        select(InboundRecord, Case.number)
        .outerjoin(CaseMessage, (CaseMessage.inbound_id == InboundRecord.id) & (CaseMessage.direction == "in"))
        .outerjoin(Case, Case.id == CaseMessage.case_id)
        .order_by(InboundRecord.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(InboundRecord.received_at >= since)
    if outcomes:
        query = query.where(InboundRecord.outcome.in_(outcomes))
    return [inbound_row(row, number) for row, number in session.execute(query)]


def inbound_detail(session: Session, inbound_id: int) -> dict[str, Any] | None:
    found = session.execute(
        select(InboundRecord, Case.number)
        .outerjoin(CaseMessage, (CaseMessage.inbound_id == InboundRecord.id) & (CaseMessage.direction == "in"))
        .outerjoin(Case, Case.id == CaseMessage.case_id)
        .where(InboundRecord.id == inbound_id)
    ).first()
    if found is None:
        return None
    row, number = found
    return {**inbound_row(row, number), "message_key": row.message_key, "source": row.source}


def inbound_row(row: InboundRecord, case_number: str | None) -> dict[str, Any]:
    return {
        "id": row.id, "at": row.received_at.isoformat(), "message_id": row.message_id, "sender": row.sender,
        "subject": row.subject, "outcome": row.outcome, "rule": row.rule, "reason": row.reason, "case": case_number,
        "source_ref": row.source_ref,
    }
