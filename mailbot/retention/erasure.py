"""`contact forget`: erase one person's address, name, words and raw mail everywhere; keep the case statistics."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, String, Table, delete, func, select, update
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.directory.snapshot import bump_directory_version
from mailbot.db.models import (
    AlertSend,
    Base,
    Case,
    CaseEvent,
    CaseMessage,
    Contact,
    Erasure,
    InboundRecord,
    OutboxMessage,
    QuarantinedMessage,
    StoredAttachment,
)
from mailbot.retention.policy import ERASED, address_hash, has_raw_trace, has_trace, normalized_address, traces, without_traces

UNSENT = ("pending", "sending", "failed")  # emptied, so never sent: the bot must not write to a forgotten person
CANCELLED = "cancelled"


@dataclass(frozen=True)
class ErasureReport:
    counts: dict[str, int]
    earlier: tuple[datetime, ...]  # earlier erasures of the same address

    @property
    def erased_anything(self) -> bool:
        return any(self.counts.values())


def forget_contact(app: App, email: str) -> ErasureReport:
    """One transaction: all of it, or (on an error) nothing; a second run finds nothing and records nothing."""
    address = normalized_address(email)
    now = app.clock.now()
    with app.sessions() as session:
        earlier = tuple(session.scalars(select(Erasure.at).where(Erasure.address_hash == address_hash(address))
                                        .order_by(Erasure.at)))
        counts = +erase_person(session, address, now)
        if counts:
            session.add(Erasure(at=now, address_hash=address_hash(address), counts=json.dumps(dict(sorted(counts.items())))))
        session.commit()
    return ErasureReport(dict(sorted(counts.items())), earlier)


def erase_person(session: Session, address: str, now: datetime) -> Counter[str]:
    done: Counter[str] = Counter()
    contact = session.scalars(select(Contact).where(func.lower(Contact.email) == address)).one_or_none()
    needles = traces(address, contact.name if contact else "")
    if contact is not None:
        session.execute(update(Case).where(Case.contact_id == contact.id).values(contact_id=None))
        session.delete(contact)
        session.flush()
        bump_directory_version(session)
        done["contacts"] += 1
    done.update(erase_messages(session, address, now))
    done.update(erase_inbound(session, address))
    done["survey_comments"] += erase_survey_comments(session, address)
    done["alert_sends"] += int(session.execute(delete(AlertSend).where(func.lower(AlertSend.recipient) == address))
                               .rowcount or 0)  # type: ignore[attr-defined]
    done.update(erase_raw_mail(session, needles, now))
    done["other_fields"] += erase_text_traces(session, needles)
    return done


def erase_messages(session: Session, address: str, now: datetime) -> Counter[str]:
    """Their messages keep direction, time and author kind (for the case's history and SLA), not who or what."""
    done: Counter[str] = Counter()
    messages = list(session.scalars(select(CaseMessage).where(func.lower(CaseMessage.sender) == address)))
    for message in messages:
        if is_opening_message(session, message):
            session.execute(update(Case).where(Case.id == message.case_id).values(subject=ERASED))
        message.sender, message.subject, message.body_text = ERASED, ERASED, ""
        for attachment in message.attachments:
            attachment.filename, attachment.content, attachment.content_purged_at = ERASED, None, now
            done["attachments"] += 1
    done["messages"] += len(messages)
    return done


def is_opening_message(session: Session, message: CaseMessage) -> bool:
    first = session.scalar(select(func.min(CaseMessage.id)).where(CaseMessage.case_id == message.case_id))
    return first == message.id


def erase_inbound(session: Session, address: str) -> Counter[str]:
    """Inbound records keep outcome and rule (the audit log's shape); what the bot queued about them loses its copy."""
    done: Counter[str] = Counter()
    records = list(session.scalars(select(InboundRecord).where(func.lower(InboundRecord.sender) == address)))
    for record in records:
        record.sender, record.subject = ERASED, ERASED
    done["inbound_records"] += len(records)
    ids = [record.id for record in records]
    about = (OutboxMessage.inbound_id.in_(ids)) | (func.lower(OutboxMessage.recipient) == address)
    for row in session.scalars(select(OutboxMessage).where(about)):
        if normalized_address(row.recipient) == address:
            row.recipient = ERASED
        row.subject = ERASED
        empty_outbox_copy(row)
        done["outbox_messages"] += 1
    return done


def empty_outbox_copy(row: OutboxMessage) -> None:
    row.raw = b""
    if row.status in UNSENT:
        row.status, row.last_error = CANCELLED, "erased by contact forget"


def erase_survey_comments(session: Session, address: str) -> int:
    """The rating is a statistic and stays; the comment is their words."""
    answered = select(CaseEvent.case_id).where(CaseEvent.kind == "survey", func.lower(CaseEvent.actor) == address)
    result = session.execute(update(Case).where(Case.id.in_(answered), Case.survey_comment.is_not(None))
                             .values(survey_comment=None).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def erase_raw_mail(session: Session, needles: tuple[str, ...], now: datetime) -> Counter[str]:
    """Any raw copy that still names them (a colleague's mail in Cc, a notice quoting them) goes too."""
    done: Counter[str] = Counter()
    for row_id, raw in session.execute(select(OutboxMessage.id, OutboxMessage.raw).where(OutboxMessage.raw != b"")).all():
        if has_raw_trace(raw, needles):
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            empty_outbox_copy(row)
            done["outbox_messages"] += 1
    quarantined = [row_id for row_id, raw in session.execute(select(QuarantinedMessage.id, QuarantinedMessage.raw)).all()
                   if has_raw_trace(raw, needles)]
    if quarantined:
        session.execute(delete(QuarantinedMessage).where(QuarantinedMessage.id.in_(quarantined)))
    done["quarantine_entries"] += len(quarantined)
    files = [row_id for row_id, content in session.execute(
        select(StoredAttachment.id, StoredAttachment.content).where(StoredAttachment.content.is_not(None))).all()
        if has_raw_trace(content, needles)]
    if files:
        session.execute(update(StoredAttachment).where(StoredAttachment.id.in_(files))
                        .values(content=None, content_purged_at=now).execution_options(synchronize_session=False))
    done["attachments"] += len(files)
    return done


def erase_text_traces(session: Session, needles: tuple[str, ...]) -> int:
    """Every other text column of every table (recipient lists, event details, assignees...): the traces replaced."""
    session.flush()
    changed = 0
    for table in Base.metadata.sorted_tables:
        key = next(iter(table.primary_key.columns))
        for column in text_columns(table):
            matches = (func.lower(column).contains(needle.lower(), autoescape=True) for needle in needles)
            condition = next(matches)
            for more in matches:
                condition = condition | more
            for row_id, value in session.execute(select(key, column).where(condition)).all():
                if value is not None and has_trace(value, needles):
                    session.execute(update(table).where(key == row_id).values({column.name: without_traces(value, needles)}))
                    changed += 1
    return changed


def text_columns(table: Table) -> list[Column[str]]:
    return [column for column in table.columns if isinstance(column.type, String) and not column.primary_key]
