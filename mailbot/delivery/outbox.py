"""Deliver the outbox: due rows one at a time, each in its own transaction, retried with exponential backoff.

A row is locked (FOR UPDATE SKIP LOCKED on PostgreSQL) while it is sent, so two bot instances never send the same
row twice. A crash after the server accepted a message but before the commit sends it again with the same
Message-ID: delivery is at-least-once, and the shared Message-ID lets receiving systems drop the repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from mailbot.auth.credentials import Credentials, build_credentials
from mailbot.config import MaildirDelivery, OutboxSettings, Settings
from mailbot.db.engine import transaction
from mailbot.db.models import Case, OutboxMessage
from mailbot.errors import ServerRefused
from mailbot.delivery.transports import DeliveryError, MaildirTransport, Parcel, PartialDelivery, SmtpTransport, Transport
from mailbot.logs import fields
from mailbot.app import App

log = logging.getLogger(__name__)
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
UNREACHABLE, REFUSED = "unreachable", "refused"  # delivery rounds that never got to a message
SENDING_LEASE = timedelta(minutes=10)  # longer than any SMTP conversation
RECORD_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
T = TypeVar("T")


@dataclass
class DeliveryReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    server_unreachable: str | None = None
    refused: ServerRefused | None = None  # the server refused us (login, certificate): the operator must act

    @property
    def undelivered(self) -> bool:
        """Mail that should have gone out did not: the server was down or refused us, or a message failed for good."""
        return bool(self.server_unreachable or self.refused or self.outcomes[FAILED])


def backoff(attempts: int, settings: OutboxSettings) -> timedelta:
    seconds = settings.backoff_initial_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def build_transport(settings: Settings, credentials: Credentials | None = None) -> Transport:
    """`credentials` (kept by the app, so OAuth2 tokens outlive one delivery round) or new ones from settings."""
    delivery = settings.delivery
    if isinstance(delivery, MaildirDelivery):
        return MaildirTransport(delivery)
    return SmtpTransport(delivery, credentials or build_credentials(delivery))


def has_due(session: Session, now: datetime) -> bool:
    return session.scalar(_due(now).with_only_columns(OutboxMessage.id)) is not None


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.next_attempt_at, OutboxMessage.id)
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
    except ServerRefused as error:
        report.refused = error
        app.metrics.delivery_attempt(REFUSED)  # once per round that could not log in: no message was tried
        noted = note_on_due_rows(app, f"not sent: {error}")
        log.error("delivery refused by the server", extra=fields(server=error.server, error=error.reason, hint=error.hint,
                                                                 waiting=noted))
    except DeliveryError as error:
        report.server_unreachable = str(error)
        app.metrics.delivery_attempt(UNREACHABLE)  # once per round that could not connect
        noted = note_on_due_rows(app, f"not sent yet: {error}")
        log.warning("delivery postponed: server unreachable", extra=fields(error=str(error), waiting=noted))
    return report


def note_on_due_rows(app: App, error: str) -> int:
    """Say on every waiting row why it did not go out; attempts are the message's own, so they stay as they are."""
    now = app.clock.now()
    with transaction(app.sessions) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .values(last_error=error[:2000])
        )
    return int(result.rowcount or 0)


async def _deliver_next(app: App, transport: Transport, report: DeliveryReport) -> bool:
    """Send one due row; False when none is left or the server went away.

    The row is claimed in a short transaction (a lease), sent with no transaction open, and the result
    recorded in a second one: the database is never locked during an SMTP conversation.
    """
    claimed = claim_next(app, app.clock.now())
    if claimed is None:
        return False
    row_id, parcel = claimed
    partial: str | None = None
    failure: DeliveryError | None
    try:
        await transport.send(parcel)
    except PartialDelivery as refused:
        partial = str(refused)
        failure = None
    except DeliveryError as error:
        failure = error
    except Exception as error:  # noqa: BLE001 - e.g. an address aiosmtplib cannot encode: retrying cannot help
        failure = DeliveryError(f"unsendable: {type(error).__name__}: {error}", permanent=True)
    else:
        failure = None
    if failure is None:
        await _recorded(lambda: _record_sent(app, row_id, partial))
        report.outcomes[SENT] += 1
        app.metrics.delivery_attempt(SENT)
        return True
    outcome = await _recorded(lambda: _record_failed(app, row_id, failure))
    report.outcomes[outcome] += 1
    app.metrics.delivery_attempt(outcome)
    if failure.during_data:
        # Lost on this message, not before it: the others go on in a new session. If even the new session
        # cannot be had, the server is down and the round ends as unreachable (the caller's DeliveryError).
        await transport.reconnect()
        return True
    if failure.connection:
        report.server_unreachable = str(failure)
        return False
    return True


async def _recorded(record: Callable[[], T]) -> T:
    """Write a delivery's result, riding out a short database outage (a dropped or terminated connection).

    Giving up at once would leave the row leased as "sending" until SENDING_LEASE runs out, and then send it
    again: a few quick retries keep the receipt exact in the common case of a connection that is replaced.
    """
    for delay in RECORD_RETRY_DELAYS:
        try:
            return record()
        except (OperationalError, InterfaceError) as error:
            log.warning("recording a delivery result failed; retrying",
                        extra=fields(error=str(error).splitlines()[0], retry_in_seconds=delay))
            await asyncio.sleep(delay)
    return record()


def _record_sent(app: App, row_id: int, partial: str | None) -> None:
    with transaction(app.sessions) as session:
        row = session.get_one(OutboxMessage, row_id)
        row.status, row.sent_at, row.attempts, row.last_error = SENT, app.clock.now(), row.attempts + 1, partial
        log.info("mail sent", extra=_row_fields(session, row, refused=partial))


def _record_failed(app: App, row_id: int, failure: DeliveryError) -> str:
    with transaction(app.sessions) as session:
        return record_failure(session, session.get_one(OutboxMessage, row_id), failure, app.clock.now(), app.settings.outbox)


def claim_next(app: App, now: datetime) -> tuple[int, Parcel] | None:
    with transaction(app.sessions) as session:
        row = session.scalars(_due(now).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        # A crash while sending leaves the lease to expire; the row is then due again (at-least-once).
        row.status, row.next_attempt_at = SENDING, now + SENDING_LEASE
        return row.id, Parcel(row.envelope_from, tuple(item.strip() for item in row.recipient.split(",") if item.strip()), row.raw)


def record_failure(session: Session, row: OutboxMessage, error: DeliveryError, now: datetime, settings: OutboxSettings) -> str:
    row.last_error = str(error)[:2000]
    if error.connection and not error.during_data:
        # The server, not this message, is the problem: the message stays due without using up its attempts,
        # and the caller paces the reconnects (`mailbot run` with a capped backoff, cron with its schedule).
        # A connection lost during this message's DATA is not this case: it counts below like any failure.
        row.status, row.next_attempt_at = PENDING, now
        return "postponed"
    row.attempts += 1
    if error.permanent or row.attempts >= settings.max_attempts:
        row.status = FAILED
        log.error("mail delivery failed permanently", extra=_row_fields(session, row, error=str(error)))
        return FAILED
    row.status, row.next_attempt_at = PENDING, now + backoff(row.attempts, settings)
    log.warning(
        "mail delivery failed; will retry",
        extra=_row_fields(session, row, error=str(error), retry_at=row.next_attempt_at.isoformat()),
    )
    return "retry"


def retry_failed(session: Session, now: datetime, ids: tuple[int, ...] = ()) -> int:
    """Give failed messages a fresh set of attempts (after the operator fixed the cause)."""
    query = select(OutboxMessage).where(OutboxMessage.status == FAILED)
    if ids:
        query = query.where(OutboxMessage.id.in_(ids))
    rows = list(session.scalars(query))
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
    return len(rows)


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
