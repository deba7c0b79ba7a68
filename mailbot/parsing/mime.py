"""Walk a parsed MIME tree once: pick the text and HTML bodies, collect attachments (RFC 2045/2046/2183)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from mailbot.domain.messages import Attachment
from mailbot.parsing.charsets import decode_text, normalise_charset
from mailbot.parsing.headers import decode_encoded_words, recover_8bit, to_single_line

# message/* parts that are attached mail; the other message/* types (RFC 3464 delivery-status,
# RFC 8098 disposition-notification...) are machine reports, neither body nor attachment.
_ATTACHED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
# RFC 2046 §5.1.1 bchars, without the space a boundary may not end with, 1 to 70 of them.
_BOUNDARY_LINE = re.compile(r"^--([0-9A-Za-z'()+_,\-./:=?]{1,70})[ \t]*\r?$", re.MULTILINE)


@dataclass(slots=True)
class MimeContent:
    """What the walk found; the bodies are None when the message has no such part."""

    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # charset fallbacks and salvage steps, for the defects list


def extract_content(message: Message, max_stored_attachment_bytes: int) -> MimeContent:
    content = MimeContent()
    _walk(message, content, max_stored_attachment_bytes)
    return content


def decode_part_text(part: Message, content: MimeContent) -> str:
    """Decoded text of a leaf part, line endings normalised to \\n and NULs dropped (PostgreSQL rejects them)."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    declared = _param_or_none(part.get_content_charset, "charset", content)
    text, used = decode_text(data, declared)
    if declared and used != normalise_charset(declared):
        content.notes.append(f"charset {declared!r} unusable, decoded as {used}")
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark is an encoding artefact, not content
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _walk(part: Message, content: MimeContent, limit: int) -> None:
    content_type = part.get_content_type()
    if content_type in _ATTACHED_MESSAGE_TYPES:
        content.attachments.append(_attached_message(part, content, limit))
    elif part.get_content_maintype() == "message" and part.is_multipart():
        return  # a report such as message/delivery-status: for the policy layer, not the body
    elif part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                _walk(child, content, limit)
    elif part.get_content_maintype() == "multipart":
        _walk_salvaged(part, content, limit)
    else:
        _take_leaf(part, content, limit)


def _take_leaf(part: Message, content: MimeContent, limit: int) -> None:
    content_type = part.get_content_type()
    filename = part_filename(part, content)
    if part.get_content_disposition() == "attachment" or (filename and part.get_content_maintype() != "text"):
        content.attachments.append(_attachment(part, filename, limit))
    elif content_type == "text/plain" and content.text is None:
        content.text = decode_part_text(part, content)
    elif content_type == "text/html" and content.html is None:
        content.html = decode_part_text(part, content)
    elif filename or part.get_content_maintype() != "text":
        # A second named text part, or an unnamed image or binary: keep it as a file, never drop it.
        content.attachments.append(_attachment(part, filename, limit))


def _attachment(part: Message, filename: str, limit: int) -> Attachment:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    content_type = part.get_content_type()
    return Attachment(
        filename=filename or default_filename(content_type),
        content_type=content_type,
        size=len(data),
        content=data if len(data) <= limit else None,
    )


def _attached_message(part: Message, content: MimeContent, limit: int) -> Attachment:
    """An attached message is stored as its .eml bytes, re-serialised from the parsed tree."""
    inner = part.get_payload()
    data = b""
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        try:
            data = inner[0].as_bytes()
        except Exception:  # noqa: BLE001 - the generator chokes on some broken trees; keep the rest
            content.notes.append("attached message could not be re-serialised")
    return Attachment(
        filename=part_filename(part, content) or "message.eml",
        content_type=part.get_content_type(),
        size=len(data),
        content=data if len(data) <= limit else None,
    )


def _walk_salvaged(part: Message, content: MimeContent, limit: int) -> None:
    """A multipart whose declared boundary never occurs: re-read it with the boundary the body uses.

    If the body shows no boundary line at all, its text is kept as the plain body rather than lost.
    """
    body = part.get_payload()
    text = body if isinstance(body, str) else ""
    found = _BOUNDARY_LINE.search(text)
    if found is not None and found.group(1) != _param_or_none(part.get_boundary, "boundary", content):
        # The walk treats every multipart subtype alike, so "mixed" loses nothing.
        header = f'Content-Type: multipart/mixed; boundary="{found.group(1)}"\n\n'
        reparsed = message_from_bytes(header.encode("ascii") + text.encode("utf-8", "surrogateescape"))
        if reparsed.is_multipart():  # checked, so a salvage can never loop on itself
            content.notes.append("multipart boundary not found; recovered with the one the body uses")
            _walk(reparsed, content, limit)
            return
    content.notes.append("multipart without parts; body kept as text")
    if content.text is None:
        content.text = decode_part_text(part, content)


def part_filename(part: Message, content: MimeContent) -> str:
    """Filename from Content-Disposition or Content-Type, decoded (RFC 2231 by the parser, RFC 2047 here)."""
    try:
        raw = part.get_filename()
    except Exception:  # noqa: BLE001 - see _param_or_none
        content.notes.append("unreadable filename parameter")
        return ""
    if not raw:
        return ""
    # Outlook and others put RFC 2047 words in quoted filenames, which RFC 2047 §5 forbids but is common.
    return to_single_line(decode_encoded_words(recover_8bit(str(raw))))


def _param_or_none(read: Callable[[], object], name: str, content: MimeContent) -> str | None:
    """A Content-Type parameter, or None when the stdlib cannot read the parameter list.

    email.utils.decode_params raises TypeError on RFC 2231 continuations mixed with a plain
    "name*" (CPython sorts None against ints), so any parameter read is guarded.
    """
    try:
        value = read()
    except Exception:  # noqa: BLE001 - a broken parameter must not lose the message
        content.notes.append(f"unreadable {name} parameter")
        return None
    return value if isinstance(value, str) else None


def default_filename(content_type: str) -> str:
    extension = ".txt" if content_type == "text/plain" else mimetypes.guess_extension(content_type) or ".bin"
    return "attachment" + extension
