"""Mailbox checkpoints: UIDVALIDITY + last UID per source, locked per message so two workers never overlap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mailbot.db.models import MailboxCheckpoint


@dataclass(frozen=True, slots=True)
class Position:
    """Where a source stands: everything with uid <= last_uid under this uidvalidity is handled."""

    uidvalidity: int
    last_uid: int

    def covers(self, uidvalidity: int, uid: int) -> bool:
        return uid > 0 and uidvalidity == self.uidvalidity and uid <= self.last_uid


def locked_checkpoint(session: Session, source: str, now: datetime) -> MailboxCheckpoint:
    """The source's checkpoint row, created if missing, locked until the transaction ends: one statement.

    The upsert's no-op update takes the row lock on PostgreSQL as SELECT ... FOR UPDATE would (SQLite's writer
    already holds the database's lock from BEGIN IMMEDIATE), and RETURNING hands back the row as it now is.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(MailboxCheckpoint).values(source=source, uidvalidity=0, last_uid=0, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[MailboxCheckpoint.source], set_={"uidvalidity": MailboxCheckpoint.uidvalidity}
    ).returning(MailboxCheckpoint)
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


def read_position(session: Session, source: str) -> Position | None:
    row = session.get(MailboxCheckpoint, source)
    return None if row is None else Position(row.uidvalidity, row.last_uid)


def advance(checkpoint: MailboxCheckpoint, uidvalidity: int, uid: int, now: datetime) -> None:
    if uid <= 0:
        return  # sources without UIDs (Maildir) only use the row as a lock
    if checkpoint.uidvalidity != uidvalidity:
        checkpoint.uidvalidity, checkpoint.last_uid = uidvalidity, 0
    checkpoint.last_uid = max(checkpoint.last_uid, uid)
    checkpoint.updated_at = now


def restart_for_uidvalidity(checkpoint: MailboxCheckpoint, uidvalidity: int, now: datetime) -> bool:
    """A new UIDVALIDITY voids every UID we know: start the folder over (Message-ID dedup stops repeats)."""
    if checkpoint.uidvalidity == uidvalidity:
        return False
    checkpoint.uidvalidity, checkpoint.last_uid, checkpoint.updated_at = uidvalidity, 0, now
    return True


def mailbox_checkpoints(session: Session, mailbox_key: str) -> dict[str, Position]:
    """The mailbox's own checkpoint and those of its shares ("KEY#index/count", `mailbot run --workers`)."""
    rows = session.execute(
        select(MailboxCheckpoint.source, MailboxCheckpoint.uidvalidity, MailboxCheckpoint.last_uid).where(
            or_(MailboxCheckpoint.source == mailbox_key,
                MailboxCheckpoint.source.startswith(mailbox_key + "#", autoescape=True))  # keys hold "%40"
        )
    )
    return {source: Position(uidvalidity, last_uid) for source, uidvalidity, last_uid in rows}


def raise_checkpoint(session: Session, source: str, to: Position, now: datetime) -> bool:
    """Move a checkpoint forward to `to` (a position proven handled), creating it; never moves one back."""
    checkpoint = locked_checkpoint(session, source, now)
    if checkpoint.uidvalidity == to.uidvalidity and checkpoint.last_uid >= to.last_uid:
        return False
    checkpoint.uidvalidity, checkpoint.last_uid, checkpoint.updated_at = to.uidvalidity, to.last_uid, now
    return True
