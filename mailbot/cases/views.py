"""Read-only views of cases, the inbound log and the quarantine, as plain dicts for tables and JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from mailbot.app import App
from mailbot.cases.prepaid_hours import case_entries
from mailbot.db.models import Account, Case, CaseEvent, CaseMessage, Contact, InboundRecord, OutboxMessage, QuarantinedMessage
from mailbot.policy.clock_readings import ClockReading, business_span, is_breached, read_clock
from mailbot.policy.conversation import own_words
from mailbot.sla.escalations import clock_state

CASE_STATUSES = ("open", "waiting", "closed")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What `cases list` narrows to; empty fields do not filter. Values are checked by the command beforehand."""

    statuses: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # account keys
    plans: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()  # engineers' addresses
    opened_since: datetime | None = None
    breached: bool = False  # an SLA clock missed or overdue now
    limit: int | None = None


def list_cases(session: Session, statuses: tuple[str, ...] = (), limit: int | None = None, *,
               app: App | None = None, narrowed: CaseFilter | None = None) -> list[dict[str, Any]]:
    """Newest first. `narrowed` filters; its `breached` needs `app` (the calendars and the clock)."""
    narrowed = narrowed or CaseFilter(statuses=statuses, limit=limit)
    query = (
        select(Case, Account.key, Account.name, Contact.email)
        .join(Account, Case.account_id == Account.id)
        .outerjoin(Contact, Case.contact_id == Contact.id)
        .order_by(Case.opened_at.desc(), Case.id.desc())
    )
    if narrowed.statuses:
        query = query.where(Case.status.in_(narrowed.statuses))
    if narrowed.accounts:
        query = query.where(func.lower(Account.key).in_([key.lower() for key in narrowed.accounts]))
    if narrowed.plans:
        query = query.where(Account.plan_name.in_(narrowed.plans))
    if narrowed.priorities:
        query = query.where(Case.priority.in_(narrowed.priorities))
    if narrowed.assignees:
        query = query.where(func.lower(Case.assigned_to).in_([email.lower() for email in narrowed.assignees]))
    if narrowed.opened_since is not None:
        query = query.where(Case.opened_at >= narrowed.opened_since)
    if narrowed.breached:
        # Breach depends on business calendars and now: judged here, in Python, on the rows the SQL filters kept.
        assert app is not None, "--breached needs the app's calendars and clock"
        query = query.options(selectinload(Case.account))
        rows = [row for row in session.execute(query) if is_breached(clock_readings(app, row[0], app.clock.now()))]
        return [_summary(*row) for row in rows[:narrowed.limit]]
    if narrowed.limit:
        query = query.limit(narrowed.limit)
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


def show_case(app: App, session: Session, number: str) -> dict[str, Any] | None:
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
    now, zone = app.clock.now(), case_zone(app, case)
    summary = _summary(case, case.account.key, case.account.name, case.contact.email if case.contact else None)
    outbox = {row.id: row for row in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))}
    managers = manager_addresses(app, case.account)
    summary["messages"] = [_message_view(message, outbox.get(message.outbox_id or -1), zone, managers)
                           for message in case.messages]
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
    # Times as the customer was told them (the account's zone), next to the UTC ones above.
    summary.update({
        "timezone": zone.key, "opened_at_local": local_time(case.opened_at, zone),
        "closed_at_local": local_time(case.closed_at, zone) if case.closed_at else None,
        "clocks": [clock_view(reading, zone) for reading in clock_readings(app, case, now)],
        "rma_started_at_local": local_time(case.rma_started_at, zone) if case.rma_started_at else None,
        "replacement_due_local": local_time(case.replacement_due, zone) if case.replacement_due else None,
        "read_at": now.isoformat(timespec="seconds"),
    })
    summary["prepaid_hours"] = [{**entry, "at_local": local_time(datetime.fromisoformat(str(entry["at"])), zone)}
                                for entry in case_entries(session, case.id)]
    summary["events"] = [
        {"at": event.at.isoformat(), "at_local": local_time(event.at, zone), "actor": event.actor, "kind": event.kind,
         "detail": event.detail}
        for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    ]
    return summary


def case_zone(app: App, case: Case) -> ZoneInfo:
    """The account's time zone: the one its contacts were told their deadlines in."""
    return ZoneInfo(case.account.timezone or app.settings.support.default_timezone)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'2026-11-24 16:00 CET': minutes are what people read; the zone's abbreviation says which clock."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def manager_addresses(app: App, account: Account) -> frozenset[str]:
    """People above the engineers: escalation levels, the monthly report's readers, the account's TAM and CAM."""
    escalation = app.settings.escalation
    people = [person.email for level in escalation.levels.values() for person in level.people]
    return frozenset(email.lower() for email in [*people, *escalation.monthly_report_to, account.tam_email or "",
                                                 account.cam_email or ""] if email)


def message_author(message: CaseMessage, managers: frozenset[str]) -> str:
    """customer, engineer, manager or bot. The database says customer for anyone who is not an engineer or the bot."""
    if message.author in ("engineer", "bot"):
        return message.author
    if message.sender.lower() in managers or (message.direction == "in" and message.internal):
        return "manager"  # an internal inbound message not from an engineer answers an escalation notice
    return "customer"


def unique_addresses(addresses: str) -> str:
    """'a@x, A@x, b@y' -> 'a@x, b@y': the same mailbox named twice (To and Cc, Delivered-To) is one recipient."""
    seen: dict[str, str] = {}
    for address in addresses.split(","):
        if address.strip():
            seen.setdefault(address.strip().lower(), address.strip())
    return ", ".join(seen.values())


def clock_readings(app: App, case: Case, now: datetime) -> list[ClockReading]:
    """The response, resolution and (RMA) replacement clocks that have a target, read as the escalations count them."""
    state, calendar = clock_state(app, case)
    waiting_since = case.waiting_since if state.waiting else None
    readings = []
    if case.first_response_due is not None:
        # Closing a case unanswered stops its response clock too (as the escalations see it).
        readings.append(read_clock("response", case.opened_at, case.first_response_due, case.first_response_at or case.closed_at,
                                   now, calendar, paused=state.paused, waiting_since=waiting_since))
    if case.resolution_due is not None:
        readings.append(read_clock("resolution", case.opened_at, case.resolution_due, case.closed_at, now, calendar,
                                   paused=state.paused, waiting_since=waiting_since))
    replacement = state.replacement  # None unless an RMA under a known warranty option
    if replacement is not None and case.replacement_due is not None:
        # Seed 001: the replacement counts from the RMA's start and does not wait on the customer.
        readings.append(read_clock("replacement", replacement.started_at, case.replacement_due, case.closed_at, now,
                                   replacement.calendar))
    return readings


def clock_view(reading: ClockReading, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "clock": reading.clock, "state": reading.state, "due": reading.due.isoformat(), "due_local": local_time(reading.due, zone),
        "stopped_at": _iso(reading.stopped_at), "calendar": reading.calendar,
        "business_minutes_left": int(reading.business_left.total_seconds() // 60),
        "business_minutes_late": int(reading.business_late.total_seconds() // 60),
        "business_minutes_taken": int(reading.business_taken.total_seconds() // 60),
        "business_left": business_span(reading.business_left), "business_late": business_span(reading.business_late),
        "business_taken": business_span(reading.business_taken),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _message_view(message: CaseMessage, outbox: OutboxMessage | None, zone: ZoneInfo, managers: frozenset[str]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "direction": message.direction,
        "at": message.created_at.isoformat(),
        "at_local": local_time(message.created_at, zone),
        "author": message_author(message, managers),
        "visibility": "internal" if message.internal else "customer-visible",
        "message_id": message.message_id,
        "from": message.sender,
        "to": unique_addresses(message.recipients),
        "subject": message.subject,
        "text": message.body_text,
        "own_words": own_words(message.body_text),  # without the quoted history and the signature
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
