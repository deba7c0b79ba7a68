"""Queue a message the bot sends: its outbox row and, for a case's mail, the case's copy (written behind)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.db.models import CaseMessage, OutboxMessage
from mailbot.db.write_behind import add_row


@dataclass(frozen=True, slots=True)
class CaseCopy:
    """How the case's thread shows the message."""

    sender: str
    body_text: str
    author: str
    internal: bool


def queue_outgoing(session: Session, *, message_id: str, kind: str, recipient: str, envelope_from: str, subject: str,
                   raw: bytes, is_auto_reply: bool, priority: int, now: datetime, inbound_id: int | None,
                   case_id: int | None = None, copy: CaseCopy | None = None) -> None:
    """Pending delivery from `now`."""
    outbox_id = add_row(session, OutboxMessage, {
        "message_id": message_id, "kind": kind, "case_id": case_id, "inbound_id": inbound_id, "recipient": recipient,
        "envelope_from": envelope_from, "subject": subject, "raw": raw, "is_auto_reply": is_auto_reply,
        "priority": priority, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
    })
    if copy is not None:
        assert case_id is not None, "a copy belongs to a case"
        add_row(session, CaseMessage, {
            "case_id": case_id, "direction": "out", "message_id": message_id, "sender": copy.sender,
            "recipients": recipient, "subject": subject, "body_text": copy.body_text, "created_at": now,
            "outbox_id": outbox_id, "author": copy.author, "internal": copy.internal,
        })
