"""The retention purge: raw mail and file contents of long-closed cases, and old quarantine entries."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases.work import CLOSED
from mailbot.db.models import Case, CaseMessage, OutboxMessage, QuarantinedMessage, StoredAttachment
from mailbot.retention.policy import cutoff, is_case_raw_due, is_quarantine_due

DELIVERED = ("sent", "failed")  # an outbox row still pending or leased is never emptied under the sender


def retention_purge(app: App, *, dry_run: bool = False) -> Counter[str]:
    """Purge what the [retention] settings say is due, in one transaction; `dry_run` counts and changes nothing."""
    now = app.clock.now()
    retention = app.settings.retention
    with app.sessions() as session:
        done = purge_closed_cases(session, now, cutoff(now, retention.closed_case_raw_days))
        done.update(purge_quarantine(session, cutoff(now, retention.quarantine_days)))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return +done


def purge_closed_cases(session: Session, now: datetime, before: datetime | None) -> Counter[str]:
    done: Counter[str] = Counter()
    if before is None:
        return done
    candidates = session.scalars(select(Case).where(Case.status == CLOSED, Case.closed_at < before))
    for case in [case for case in candidates if is_case_raw_due(case.closed_at, case.raw_purged_at, before)]:
        done["raw_mail"] += purge_outbox_raw(session, case.id)
        done["attachment_contents"] += purge_attachment_contents(session, case.id, now)
        case.raw_purged_at = now
        done["cases"] += 1
    return done


def purge_outbox_raw(session: Session, case_id: int) -> int:
    """Empty the sent copies (raw is NOT NULL: an empty message stands for a purged one)."""
    result = session.execute(update(OutboxMessage).where(
        OutboxMessage.case_id == case_id, OutboxMessage.status.in_(DELIVERED), OutboxMessage.raw != b""
    ).values(raw=b"").execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_attachment_contents(session: Session, case_id: int, now: datetime) -> int:
    """Name, type and size stay (the case still says what was sent); the bytes go."""
    of_case = select(CaseMessage.id).where(CaseMessage.case_id == case_id).scalar_subquery()
    result = session.execute(update(StoredAttachment).where(
        StoredAttachment.case_message_id.in_(of_case), StoredAttachment.content.is_not(None)
    ).values(content=None, content_purged_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_quarantine(session: Session, before: datetime | None) -> Counter[str]:
    done: Counter[str] = Counter()
    if before is None:
        return done
    rows = session.execute(select(QuarantinedMessage.id, QuarantinedMessage.created_at)
                           .where(QuarantinedMessage.created_at < before))
    due = [row.id for row in rows if is_quarantine_due(row.created_at, before)]
    if due:
        session.execute(delete(QuarantinedMessage).where(QuarantinedMessage.id.in_(due)))
    done["quarantine_entries"] = len(due)
    return done
