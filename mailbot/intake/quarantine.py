"""The quarantine's rows, written in the ingest transaction: a message that cannot be handled is kept, never lost."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from mailbot.db.models import InboundRecord, QuarantinedMessage
from mailbot.sources.base import FetchedMail


def quarantine_key(mail: FetchedMail, message_key: str | None) -> str:
    """The message's key, or the raw bytes' hash when it was never parsed."""
    return message_key or "sha256:" + hashlib.sha256(mail.raw).hexdigest()


def add_to_quarantine(session: Session, source_key: str, mail: FetchedMail, key: str, error: str,
                      now: datetime) -> None:
    """The raw mail kept with its error, and the inbound log's line saying where it went."""
    session.add(QuarantinedMessage(source=source_key, source_ref=mail.source_ref, message_key=key, raw=mail.raw,
                                   error=error, created_at=now))
    session.add(
        InboundRecord(
            message_key=key,
            message_id=None if key.startswith("sha256:") else key,  # so `inbound list` shows which mail it was
            source=source_key,
            source_ref=mail.source_ref,
            received_at=now,
            outcome="quarantined",
            rule="quarantine",
            reason=error[:2000],
        )
    )


def take_out_of_quarantine(session: Session, mail: FetchedMail, now: datetime) -> None:
    """A released message leaves the quarantine in the transaction that records its new outcome."""
    if mail.released_from is None:
        return
    item = session.get(QuarantinedMessage, mail.released_from, with_for_update=True)
    if item is None or item.released_at is not None:
        raise LookupError(f"quarantined message {mail.released_from} was released meanwhile")
    item.released_at = now
    session.execute(delete(InboundRecord).where(InboundRecord.message_key == item.message_key,
                                                InboundRecord.outcome == "quarantined"))
    session.flush()
