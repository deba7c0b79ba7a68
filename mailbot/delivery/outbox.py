"""Deliver the outbox: due rows one at a time, each in its own transaction, retried with exponential backoff.

A row is locked (FOR UPDATE SKIP LOCKED on PostgreSQL) while it is sent, so two bot instances never send the same
row twice. A crash after the server accepted a message but before the commit sends it again with the same
Message-ID: delivery is at-least-once, and the shared Message-ID lets receiving systems drop the repeat.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import MaildirDelivery, OutboxSettings, Settings
from mailbot.db.engine import transaction
from mailbot.db.models import Case, OutboxMessage
from mailbot.delivery.transports import DeliveryError, MaildirTransport, Parcel, SmtpTransport, Transport
from mailbot.logs import fields
from mailbot.service.app import App

log = logging.getLogger(__name__)
PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass
class DeliveryReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    server_unreachable: str | None = None


def backoff(attempts: int, settings: OutboxSettings) -> timedelta:
    seconds = settings.backoff_initial_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def build_transport(settings: Settings) -> Transport:
    delivery = settings.delivery
    if isinstance(delivery, MaildirDelivery):
        return MaildirTransport(delivery)
    return SmtpTransport(delivery, delivery.resolve_password() if delivery.user else None)


def has_due(session: Session, now: datetime) -> bool:
    return session.scalar(_due(now).with_only_columns(OutboxMessage.id)) is not None


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
    )


async def deliver_due(app: App, transport: Transport) -> DeliveryReport:
    report = DeliveryReport()
    with app.sessions() as session:
        if not has_due(session, app.clock.now()):
            return report
    try:
        async with transport:
            while await _deliver_next(app, transport, report):
                pass
    except DeliveryError as error:
        report.server_unreachable = str(error)
        log.warning("delivery postponed: server unreachable", extra=fields(error=str(error)))
    return report


async def _deliver_next(app: App, transport: Transport, report: DeliveryReport) -> bool:
    """Send one due row; False when none is left or the server went away."""
    now = app.clock.now()
    with transaction(app.sessions) as session:
        row = session.scalars(_due(now).with_for_update(skip_locked=True)).first()
        if row is None:
            return False
        try:
            await transport.send(Parcel(row.envelope_from, (row.recipient,), row.raw))
        except DeliveryError as error:
            outcome = record_failure(session, row, error, now, app.settings.outbox)
            report.outcomes[outcome] += 1
            if error.connection:
                report.server_unreachable = str(error)
                return False
            return True
        row.status, row.sent_at, row.attempts, row.last_error = SENT, now, row.attempts + 1, None
        report.outcomes[SENT] += 1
        log.info("mail sent", extra=_row_fields(session, row))
    return True


def record_failure(session: Session, row: OutboxMessage, error: DeliveryError, now: datetime, settings: OutboxSettings) -> str:
    row.attempts += 1
    row.last_error = str(error)[:2000]
    if error.permanent or row.attempts >= settings.max_attempts:
        row.status = FAILED
        log.error("mail delivery failed permanently", extra=_row_fields(session, row, error=str(error)))
        return FAILED
    row.next_attempt_at = now + backoff(row.attempts, settings)
    log.warning(
        "mail delivery failed; will retry",
        extra=_row_fields(session, row, error=str(error), retry_at=row.next_attempt_at.isoformat()),
    )
    return "retry"


def _row_fields(session: Session, row: OutboxMessage, **extra: object) -> dict[str, dict[str, object]]:
    case_number = session.scalar(select(Case.number).where(Case.id == row.case_id)) if row.case_id else None
    return fields(
        outbox_id=row.id,
        message_id=row.message_id,
        kind=row.kind,
        recipient=row.recipient,
        case=case_number,
        attempts=row.attempts,
        **extra,
    )
