"""Typed, immutable values for mail coming in: what the parse stage hands to policy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

MAX_THREAD_IDS = 50  # Message-IDs of a message's thread headers that are looked up


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: `email` is normalised (stripped, lower-cased: we match addresses case-insensitively); `name` is the decoded display name."""

    email: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    @property
    def local_part(self) -> str:
        return self.email.rpartition("@")[0]


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment; `content` is None when it was larger than the configured storage limit."""

    filename: str
    content_type: str
    size: int
    content: bytes | None = None

    @property
    def is_stored(self) -> bool:
        return self.content is not None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One received message, decoded. `headers` keeps every header (lower-cased name -> values in order)."""

    message_key: str  # Message-ID without angle brackets, or "sha256:<hex>" of the raw bytes when there is none
    message_id: str | None  # without angle brackets
    sender: Address | None  # the author: see parsing.parse.author (None when From names no single one)
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    delivered_to: tuple[str, ...]  # normalised addresses from Delivered-To / X-Original-To
    reply_to: tuple[Address, ...]
    subject: str  # decoded, single line
    date: datetime | None  # time-zone aware (UTC when the header gave no zone)
    text: str  # text/plain body, or text derived from HTML when there is no plain part
    html: str | None
    attachments: tuple[Attachment, ...]
    in_reply_to: tuple[str, ...]  # Message-IDs without angle brackets
    references: tuple[str, ...]  # Message-IDs without angle brackets, oldest first
    content_type: str  # top-level MIME type, lower case, e.g. "multipart/report"
    headers: tuple[tuple[str, str], ...] = field(default=())  # (lower-case name, decoded value), in order
    size: int = 0  # raw size in bytes
    defects: tuple[str, ...] = ()  # parser complaints worth showing an operator
    from_addresses: tuple[Address, ...] = ()  # every From: mailbox, in order
    sender_header: Address | None = None  # Sender: (RFC 5322 §3.6.2), when present

    @property
    def has_several_authors(self) -> bool:
        """From names several mailboxes and no Sender among them says which one sent it (RFC 5322 §3.6.2)."""
        return len(self.from_addresses) > 1 and self.sender is None

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive, or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)

    @property
    def content_digest(self) -> str:
        """SHA-256 of what the sender wrote (author, subject, date, text, files), not of the transport headers.

        Two copies of one message (delivered to support@ and to an alias) share it; a different message that
        reuses a Message-ID does not, so it is recorded and handled as its own message.
        """
        digest = hashlib.sha256()
        for part in (self.sender.email if self.sender else "", self.subject,
                     self.date.isoformat() if self.date else "", self.text):
            digest.update(part.encode("utf-8", "replace") + b"\0")
        for attachment in self.attachments:
            digest.update(f"{attachment.filename}\0{attachment.size}\0".encode("utf-8", "replace"))
        return digest.hexdigest()

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every address the message was sent to: To, Cc and the envelope's Delivered-To."""
        return tuple(a.email for a in self.to + self.cc) + self.delivered_to

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this message answers: In-Reply-To first, then References newest first, at most MAX_THREAD_IDS.

        Bounded because the lookup binds one parameter per id: a References header of 70,000 ids would exceed
        what the database driver accepts and make one message stop the mailbox. Real threads are answered by
        their newest ids (RFC 5322 §3.6.4: References ends with the parent's).
        """
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to[:MAX_THREAD_IDS])
        for message_id in reversed(self.references):
            if len(seen) >= MAX_THREAD_IDS:
                break
            seen.setdefault(message_id, None)
        return tuple(seen)[:MAX_THREAD_IDS]
