"""A batch's first look: what the inbound log and the outbox say of all its messages, read in one round trip.

Each message used to ask on its own (is it recorded? how many auto-replies has its sender had this hour? is its
file handled?). The batch asks once, before its first message, under the checkpoint's lock. An answer read then
holds for a message only while no earlier message of the batch could have changed it: one under the same key or
file, or one from or to the same address (its auto-replies count against that address). Such a message, one tried
again, and one released from the quarantine (its record is deleted first) ask again inside the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.db.queries import BatchLook, FirstLook, batch_first_look
from mailbot.domain.messages import InboundMessage
from mailbot.sources.base import FetchedMail


@dataclass
class BatchView:
    look: BatchLook
    touched: set[str] = field(default_factory=set)  # keys, addresses and files earlier messages of the batch used

    @classmethod
    def read(cls, session: Session, source: str, items: list[tuple[FetchedMail, InboundMessage]],
             since: datetime) -> "BatchView":
        keys = [message.message_key for _mail, message in items]
        senders = [message.sender.email for _mail, message in items if message.sender]
        files = [mail.source_ref for mail, _message in items if mail.uid == 0]
        return cls(batch_first_look(session, keys, senders, source, files, since))

    def first_look(self, mail: FetchedMail, message: InboundMessage) -> FirstLook | None:
        """The batch's answer for this message, or None where it must ask again."""
        sender = message.sender.email if message.sender else ""
        if mail.released_from is not None or message.message_key in self.touched or sender in self.touched:
            return None
        return self.look.first_look(message.message_key, sender)

    def knows_file(self, mail: FetchedMail) -> bool | None:
        """Whether a source without UIDs handled this file already; None where it must ask again."""
        if mail.released_from is not None or f"file:{mail.source_ref}" in self.touched:
            return None
        return mail.source_ref in self.look.known_files

    def passed(self, mail: FetchedMail, message: InboundMessage) -> None:
        """The message has been tried (whatever came of it): later ones ask again for what it may have changed."""
        self.touched.add(message.message_key)
        self.touched.add(f"file:{mail.source_ref}")
        self.touched.update(address.email for address in (*message.to, *message.cc, *message.reply_to))
        if message.sender:
            self.touched.add(message.sender.email)
