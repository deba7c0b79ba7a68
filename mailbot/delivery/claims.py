"""The outbox as delivery sees it: due rows claimed in batches under a lease, what became of each recorded.

A claim locks its rows (FOR UPDATE SKIP LOCKED on PostgreSQL) and leases them ("sending" until SENDING_LEASE
ends), so two bot instances never take the same row, and the database is never locked during an SMTP
conversation. A row is recorded as sent only after the server accepted it: a crash before that sends it again,
with the same Message-ID, once its lease runs out (at-least-once). Sent rows are recorded together, in one
statement; failures one by one, since each has its own retry and backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.config import OutboxSettings
from mailbot.db.engine import transaction
from mailbot.db.models import Case, OutboxMessage
from mailbot.delivery.transports import DeliveryError, Parcel
from mailbot.logs import fields

log = logging.getLogger(__name__)
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
SENDING_LEASE = timedelta(minutes=10)  # longer than any SMTP conversation
CLAIM_BATCH = 20  # rows per claim: one round trip (and one lock) for many messages, few rows leased ahead
# A delivery round's claims when the queue is deep. On SQLite each claim waits for ingest's write lock (a batch's
# transaction): 20 rows a wait left delivery at a fifth of ingest's pace; this many keep up with it.
DEEP_CLAIM = 100
OUTBOX = OutboxMessage.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased row, with what its log lines need: no SELECT only to write one."""

    row_id: int
    parcel: Parcel
    message_id: str
    kind: str
    recipient: str
    case_number: str | None
    attempts: int  # before this attempt
    due_at: datetime  # when it was due: a row handed back keeps its place in the queue

    def log_fields(self, attempts: int, **extra: object) -> dict[str, dict[str, object]]:
        return fields(outbox_id=self.row_id, message_id=self.message_id, kind=self.kind, recipient=self.recipient,
                      case=self.case_number, attempts=attempts, **extra)


@dataclass(frozen=True, slots=True)
class Sent:
    """A message the server accepted (`refused`: the recipients it refused while accepting the others)."""

    claimed: Claimed
    at: datetime
    refused: str | None = None


def backoff(attempts: int, settings: OutboxSettings) -> timedelta:
    seconds = settings.backoff_initial_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def _is_due(now: datetime, skipped: Collection[int]):  # type: ignore[no-untyped-def]
    """Pending rows whose time has come, and rows whose lease ran out (their sender died)."""
    condition = OutboxMessage.status.in_((PENDING, SENDING)) & (OutboxMessage.next_attempt_at <= now)
    return condition & OutboxMessage.id.not_in(skipped) if skipped else condition


def has_due(session: Session, now: datetime, skipped: Collection[int] = ()) -> bool:
    return session.scalar(select(OutboxMessage.id).where(_is_due(now, skipped)).limit(1)) is not None


def due_count(session: Session, now: datetime, up_to: int, skipped: Collection[int] = ()) -> int:
    """How many rows are due, counting no further than `up_to` (the index stops there)."""
    due = select(OutboxMessage.id).where(_is_due(now, skipped)).limit(up_to).subquery()
    return int(session.scalar(select(func.count()).select_from(due)) or 0)


def _claim_query(now: datetime, limit: int, skipped: Collection[int]):  # type: ignore[no-untyped-def]
    # status = pending with the claim's ORDER BY reads ix_outbox_claim in order: no sort, however long the queue.
    query = (
        select(OutboxMessage.id, OutboxMessage.envelope_from, OutboxMessage.recipient, OutboxMessage.raw,
               OutboxMessage.message_id, OutboxMessage.kind, OutboxMessage.attempts, OutboxMessage.next_attempt_at,
               Case.number)
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    return query.where(OutboxMessage.id.not_in(skipped)) if skipped else query


def claim_due(app: App, now: datetime, limit: int = CLAIM_BATCH, skipped: Collection[int] = (),
              sent: Sequence[Sent] = ()) -> list[Claimed]:
    """Lease up to `limit` due rows in queue order (priority, then due time); `skipped`: rows not to take.

    `sent`: messages the server accepted since the last claim, recorded in the same transaction (one lock, one
    commit for both); each gets its log line once committed.
    """
    with transaction(app.sessions) as session:
        _record_sent_in(session, sent)
        _requeue_expired_leases(session, now)
        rows = session.execute(_claim_query(now, limit, skipped)).all()
        if rows:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in rows]))
                            .values(status=SENDING, next_attempt_at=now + SENDING_LEASE)
                            .execution_options(synchronize_session=False))
    _log_sent(sent)
    return [_claimed(row) for row in rows]


def _requeue_expired_leases(session: Session, now: datetime) -> None:
    # A sender that died left its rows "sending"; when the lease ends they queue again at the time the lease ended
    # (the order the claim always gave them). Few rows are ever leased, so this costs an index probe.
    session.execute(update(OutboxMessage).where(OutboxMessage.status == SENDING, OutboxMessage.next_attempt_at <= now)
                    .values(status=PENDING).execution_options(synchronize_session=False))


def _claimed(row) -> Claimed:  # type: ignore[no-untyped-def]
    recipients = tuple(item.strip() for item in row.recipient.split(",") if item.strip())
    return Claimed(row_id=row.id, parcel=Parcel(row.envelope_from, recipients, row.raw), message_id=row.message_id,
                   kind=row.kind, recipient=row.recipient, case_number=row.number, attempts=row.attempts,
                   due_at=row.next_attempt_at)


_RECORD_SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("row_id"))
    .values(status=SENT, sent_at=bindparam("at"), attempts=OUTBOX.c.attempts + 1, last_error=bindparam("refused"))
)
_HAND_BACK = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.status == SENDING)
    .values(status=PENDING, next_attempt_at=bindparam("due_at"))
)


def record_sent(app: App, sent: Iterable[Sent]) -> None:
    """One transaction, one executemany for every accepted message; each gets its log line once committed."""
    done = list(sent)
    if not done:
        return
    with transaction(app.sessions) as session:
        _record_sent_in(session, done)
    _log_sent(done)


def _record_sent_in(session: Session, sent: Sequence[Sent]) -> None:
    if sent:
        session.execute(_RECORD_SENT, [{"row_id": item.claimed.row_id, "at": item.at, "refused": item.refused}
                                       for item in sent])


def _log_sent(sent: Iterable[Sent]) -> None:
    for item in sent:
        log.info("mail sent", extra=item.claimed.log_fields(item.claimed.attempts + 1, refused=item.refused))


def hand_back(app: App, unsent: Iterable[Claimed]) -> None:
    """Rows claimed but never handed to the server: due again at once, in their old place in the queue."""
    rows = [{"row_id": item.row_id, "due_at": item.due_at} for item in unsent]
    if rows:
        with transaction(app.sessions) as session:
            session.execute(_HAND_BACK, rows)


def record_failed(app: App, claimed: Claimed, failure: DeliveryError) -> str:
    with transaction(app.sessions) as session:
        row = session.get_one(OutboxMessage, claimed.row_id)
        return record_failure(session, row, failure, app.clock.now(), app.settings.outbox, claimed.case_number)


def record_failure(session: Session, row: OutboxMessage, error: DeliveryError, now: datetime, settings: OutboxSettings,
                   case_number: str | None = None) -> str:
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
        log.error("mail delivery failed permanently", extra=_row_fields(row, case_number, error=str(error)))
        return FAILED
    row.status, row.next_attempt_at = PENDING, now + backoff(row.attempts, settings)
    log.warning("mail delivery failed; will retry",
                extra=_row_fields(row, case_number, error=str(error), retry_at=row.next_attempt_at.isoformat()))
    return "retry"


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


def retry_failed(session: Session, now: datetime, ids: tuple[int, ...] = ()) -> int:
    """Give failed messages a fresh set of attempts (after the operator fixed the cause)."""
    query = select(OutboxMessage).where(OutboxMessage.status == FAILED)
    if ids:
        query = query.where(OutboxMessage.id.in_(ids))
    rows = list(session.scalars(query))
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
    return len(rows)


def _row_fields(row: OutboxMessage, case_number: str | None, **extra: object) -> dict[str, dict[str, object]]:
    return fields(outbox_id=row.id, message_id=row.message_id, kind=row.kind, recipient=row.recipient,
                  case=case_number, attempts=row.attempts, **extra)
