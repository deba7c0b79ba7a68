"""Build outgoing MIME messages whose headers cannot be injected and which thread in the customer's client."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.mime.application import MIMEApplication
from email.utils import format_datetime, formataddr

from mailbot.outbound.filenames import safe_attachment_name
from mailbot.outbound.templates import RenderedMail
from mailbot.outbound.wire import SPACE_FOLDING, WIRE_POLICY, encoded_words, quoted_printable

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")
MAX_REFERENCES = 20  # long threads: keep the root and the newest ids (RFC 5322 §3.6.4 allows trimming)
# RFC 5322 §2.1.1: no line over 998 octets, and 78 recommended. Plain text folds only at whitespace, so a longer
# run without spaces goes out as RFC 2047 encoded-words, which can be split anywhere (each at most 75 characters).
MAX_PLAIN_WORD = 66
MAX_ID_LENGTH = 900  # a msg-id cannot be folded (RFC 5322 §3.6.4): longer ones from mail are left out of ours
CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]{0,62}/[A-Za-z0-9][\w.+-]{0,62}")  # RFC 2045 type/subtype, no parameters


def single_line(value: str) -> str:
    """Header text from mail or templates: CR, LF and other controls become spaces, so no header is injected."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", value).split())


from mailbot.policy.loops import OWN_MESSAGE_ID_PREFIX


def new_message_id(domain: str) -> str:
    # The prefix tells our own mail apart from people's mail on the same domain (their clients use it too).
    return f"{OWN_MESSAGE_ID_PREFIX}{uuid.uuid4().hex}@{domain}"


def bracketed(message_id: str) -> str:
    return f"<{message_id}>"


def trimmed_references(references: tuple[str, ...], parent: str | None) -> tuple[str, ...]:
    chain = tuple(item for item in dict.fromkeys(references + ((parent,) if parent else ())) if len(item) <= MAX_ID_LENGTH)
    if len(chain) <= MAX_REFERENCES:
        return chain
    return (chain[0],) + chain[-(MAX_REFERENCES - 1):]


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who an outgoing message is from and to, and what it answers."""

    from_address: str
    from_name: str
    to_address: str
    to_name: str
    reply_to: str
    message_id: str  # without brackets
    date: datetime
    in_reply_to: str | None = None  # without brackets
    references: tuple[str, ...] = ()
    auto_submitted: str | None = "auto-replied"  # RFC 3834; None for a person's words relayed by us
    cc: tuple[str, ...] = ()
    loop_marker: str | None = None  # X-Loop: our support address, so our own mail is recognised when it returns
    extra_headers: tuple[tuple[str, str], ...] = field(default=())


def compose(envelope: Envelope, content: RenderedMail, attachments: tuple[tuple[str, str, bytes], ...] = ()) -> Message:
    """The finished message. Built with the compat32 API: several times faster than EmailMessage's header registry.

    Every header value is one ASCII line (encoded-words for anything else) that SPACE_FOLDING folds at its spaces.
    """
    message = with_attachments(body(content), attachments)
    message["From"] = address_header(envelope.from_name, envelope.from_address)
    message["To"] = address_header(envelope.to_name, envelope.to_address)
    if envelope.cc:
        message["Cc"] = ", ".join(envelope.cc)
    message["Reply-To"] = envelope.reply_to
    message["Subject"] = header_text(content.subject)
    message["Date"] = format_datetime(envelope.date)
    message["Message-ID"] = bracketed(envelope.message_id)
    if envelope.in_reply_to and len(envelope.in_reply_to) <= MAX_ID_LENGTH:
        message["In-Reply-To"] = bracketed(envelope.in_reply_to)
    references = trimmed_references(envelope.references, envelope.in_reply_to)
    if references:
        message["References"] = " ".join(bracketed(item) for item in references)
    if envelope.auto_submitted:
        message["Auto-Submitted"] = envelope.auto_submitted
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to us
    if envelope.loop_marker:
        message["X-Loop"] = envelope.loop_marker
    for name, value in envelope.extra_headers:
        message[name] = header_text(value)
    return message


def as_bytes(message: Message) -> bytes:
    return message.as_bytes(policy=WIRE_POLICY)


def body(content: RenderedMail) -> Message:
    text = text_part(content.text, "plain")
    if content.html is None:
        return text
    return multipart("alternative", [text, text_part(content.html, "html")])


def text_part(text: str, subtype: str) -> Message:
    """The headers MIMEText writes, with a quoted-printable body (readable in a raw view, unlike base64)."""
    part = Message(policy=SPACE_FOLDING)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["MIME-Version"] = "1.0"
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(quoted_printable(text))
    return part


def multipart(subtype: str, parts: list[Message]) -> Message:
    """A multipart whose boundary is chosen here, so the generator need not search the parts for a safe one.

    "=_" can occur neither in quoted-printable (an "=" there is followed by hex digits or a line end) nor in
    base64 (padding ends a line), the only encodings our parts use; the random part tells nested ones apart.
    """
    message = Message(policy=SPACE_FOLDING)
    message["Content-Type"] = f'multipart/{subtype}; boundary="=_{uuid.uuid4().hex}"'
    message["MIME-Version"] = "1.0"
    for part in parts:
        message.attach(part)
    return message


def with_attachments(content: Message, attachments: tuple[tuple[str, str, bytes], ...]) -> Message:
    """(filename, content type, bytes) parts after the body, e.g. the customer's files in an engineer's notice."""
    if not attachments:
        return content
    mixed = multipart("mixed", [content])
    for filename, content_type, data in attachments:
        part = MIMEApplication(data, policy=SPACE_FOLDING)
        part.replace_header("Content-Type", content_type if CONTENT_TYPE.fullmatch(content_type) else "application/octet-stream")
        name = safe_attachment_name(filename)
        # RFC 2231 (filename*=utf-8''...) for anything not ASCII; the name's cap keeps the line under 998 octets.
        part.add_header("Content-Disposition", "attachment", filename=name if name.isascii() else ("utf-8", "", name))
        mixed.attach(part)
    return mixed


def header_text(value: str) -> str:
    """Plain ASCII stays as is; anything else becomes RFC 2047 encoded words. Always one logical line."""
    line = single_line(value)
    if is_plain_header_text(line):
        return line
    return encoded_words(line)


def is_plain_header_text(line: str) -> bool:
    """ASCII that folds at its spaces. Text that looks like an encoded-word would be decoded by the reader (RFC 2047 §6.1)."""
    return line.isascii() and "=?" not in line and all(len(word) <= MAX_PLAIN_WORD for word in line.split(" "))


def address_header(name: str, address: str) -> str:
    """`Name <address>`; a display name that is not plain ASCII goes as encoded-words, as many as it needs."""
    display = single_line(name)
    if is_plain_header_text(display):
        return formataddr((display, address))  # quoted where RFC 5322 needs it
    address.encode("ascii")  # as formataddr does: an address must be ASCII here (no SMTPUTF8)
    return f"{encoded_words(display)} <{address}>"
