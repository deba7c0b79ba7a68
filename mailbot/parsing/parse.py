"""The parse stage: raw RFC 5322 bytes in, a decoded InboundMessage out, or UnparseableMessage."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timezone
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import parsedate_to_datetime

from mailparser.dates import parse_mail_date

from mailbot.domain.messages import Address, InboundMessage
from mailbot.parsing.addresses import parse_address_list, strip_msgid
from mailbot.parsing.headers import decode_header_text, recover_8bit, to_single_line, unfold
from mailbot.parsing.html_text import html_to_text
from mailbot.parsing.mime import MimeContent, extract_content

MAX_MESSAGE_KEY_LENGTH = 995  # RFC 5322 §2.1.1: no line may exceed 998 octets, "Message-ID: <" included


class UnparseableMessage(Exception):
    """The bytes are not a mail message we can read; the text says why. Quarantine the raw bytes."""


def parse_message(raw: bytes, *, max_stored_attachment_bytes: int) -> InboundMessage:
    """Parse one message. Every failure, ours or the parsers', comes out as UnparseableMessage."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise UnparseableMessage(f"expected bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise UnparseableMessage("empty message")
    try:
        # compat32, not policy.default: we read raw_items() and decode them ourselves, so the header registry's
        # parsing on every get() would be work thrown away, and compat32 re-serialises attached messages as sent.
        message = message_from_bytes(data, policy=compat32)
        if not message.keys():
            raise UnparseableMessage("no header section: not an RFC 5322 message")
        return _build(data, message, max_stored_attachment_bytes)
    except UnparseableMessage:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure (RecursionError on deep MIME too) must reach the quarantine
        raise UnparseableMessage(f"parser failed: {type(exc).__name__}: {exc}") from exc


def _build(raw: bytes, message: Message, limit: int) -> InboundMessage:
    headers = tuple((name.lower(), decode_header_text(value)) for name, value in message.raw_items())
    content = extract_content(message, limit)
    message_id = _message_id(_first_raw(message, "message-id"))
    from_addresses = parse_address_list(_raw_values(message, "from"))
    sender_header = _first_address(_raw_values(message, "sender"))
    sender = author(from_addresses, sender_header)
    return InboundMessage(
        message_key=_message_key(message_id, raw),
        message_id=message_id,
        sender=sender,
        to=parse_address_list(_raw_values(message, "to")),
        cc=parse_address_list(_raw_values(message, "cc")),
        delivered_to=_delivered_to(message),
        reply_to=parse_address_list(_raw_values(message, "reply-to")),
        subject=decode_header_text(_first_raw(message, "subject") or ""),
        date=_date(_first_raw(message, "date")),
        text=_text_body(content),
        html=content.html,
        attachments=tuple(content.attachments),
        in_reply_to=strip_msgid(_first_raw(message, "in-reply-to")),
        references=strip_msgid(" ".join(_raw_values(message, "references"))),
        content_type=message.get_content_type(),
        headers=headers,
        size=len(raw),
        defects=_defects(message, content, sender, len(from_addresses)),
        from_addresses=from_addresses,
        sender_header=sender_header,
    )


def author(from_addresses: tuple[Address, ...], sender_header: Address | None) -> Address | None:
    """The one mailbox the message is from: the single From address, or Sender when it is one of several.

    RFC 5322 §3.6.2: a From with several mailboxes must come with a Sender naming the one that sent it. Without
    it (or with a Sender that is none of them) nobody is the author: taking the first would let "ana@customer,
    mallory@elsewhere" act as Ana, and any reply would reach an address that may never have written.
    """
    if len(from_addresses) == 1:
        return from_addresses[0]
    if sender_header is None:
        return None
    return next((found for found in from_addresses if found.email == sender_header.email), None)


def _raw_values(message: Message, name: str) -> list[str]:
    """Every occurrence of a header as sent, with 8-bit octets decoded (RFC 6532 UTF-8 Message-IDs and addresses).

    The stdlib parser keeps such octets as surrogate escapes, which no database can store.
    """
    return [recover_8bit(str(value)) for key, value in message.raw_items() if key.lower() == name]


def _first_raw(message: Message, name: str) -> str | None:
    values = _raw_values(message, name)
    return values[0] if values else None


def _message_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    ids = strip_msgid(raw)
    if ids:
        return ids[0]
    cleaned = to_single_line(unfold(raw)).strip("<>").strip()
    return cleaned or None


def _is_usable_message_key(message_id: str | None) -> bool:
    """A Message-ID can key storage when it is one printable token short enough to fit a header line."""
    return (
        bool(message_id)
        and len(message_id or "") <= MAX_MESSAGE_KEY_LENGTH
        and all(char.isprintable() and not char.isspace() for char in message_id or "")
    )


def _message_key(message_id: str | None, raw: bytes) -> str:
    if message_id is not None and _is_usable_message_key(message_id):
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _first_address(values: list[str]) -> Address | None:
    addresses = parse_address_list(values)
    return addresses[0] if addresses else None


def _delivered_to(message: Message) -> tuple[str, ...]:
    """Envelope recipients that MTAs record (Delivered-To by Postfix/qmail, X-Original-To by Postfix)."""
    values = _raw_values(message, "delivered-to") + _raw_values(message, "x-original-to")
    return tuple(address.email for address in parse_address_list(values))  # already normalised, deduplicated


def _date(raw: str | None) -> datetime | None:
    """Date header as an aware UTC datetime; mail-parser's reader first, the stdlib's for what it refuses.

    mail-parser's reader is the one part of that library we keep: it reads obsolete RFC 5322 §4.3 syntax (comments
    anywhere, two-digit years, military zones, a wrong weekday, a leap second) that email.utils refuses or misreads.
    RFC 5322 §3.3 makes the zone mandatory; a date without one is taken as UTC.
    """
    if not raw:
        return None
    read = parse_mail_date(raw).value
    if read is not None:
        return read
    try:
        parsed = parsedate_to_datetime(decode_header_text(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _text_body(content: MimeContent) -> str:
    if content.text is not None:
        return content.text
    return html_to_text(content.html) if content.html else ""


def _defects(message: Message, content: MimeContent, sender: Address | None, from_count: int) -> tuple[str, ...]:
    """Short names of what the parsers complained about, plus our own recovery notes, once each."""
    found: list[str] = [type(defect).__name__ for part in message.walk() for defect in part.defects]
    found.extend(content.notes)
    if sender is None and from_count > 1:
        found.append("From has several addresses and no Sender among them: no single author")
    elif sender is None:
        found.append("no usable From address")
    return _unique(found)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
