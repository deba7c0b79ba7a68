"""Build outgoing MIME messages whose headers cannot be injected and which thread in the customer's client."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from mailbot.outbound.templates import RenderedMail

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")
MAX_REFERENCES = 20  # long threads: keep the root and the newest ids (RFC 5322 §3.6.4 allows trimming)


def single_line(value: str) -> str:
    """Header text from mail or templates: CR, LF and other controls become spaces, so no header is injected."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", value).split())


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


def bracketed(message_id: str) -> str:
    return f"<{message_id}>"


def trimmed_references(references: tuple[str, ...], parent: str | None) -> tuple[str, ...]:
    chain = tuple(dict.fromkeys(references + ((parent,) if parent else ())))
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
    auto_submitted: str = "auto-replied"  # RFC 3834: "auto-replied" for answers, "auto-generated" for notices
    loop_marker: str | None = None  # X-Loop: our support address, so our own mail is recognised when it returns
    extra_headers: tuple[tuple[str, str], ...] = field(default=())


def compose(envelope: Envelope, content: RenderedMail) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = HeaderAddress(display_name=single_line(envelope.from_name), addr_spec=envelope.from_address)
    message["To"] = recipient_header(envelope)
    message["Reply-To"] = envelope.reply_to
    message["Subject"] = single_line(content.subject)
    message["Date"] = format_datetime(envelope.date)
    message["Message-ID"] = bracketed(envelope.message_id)
    if envelope.in_reply_to:
        message["In-Reply-To"] = bracketed(envelope.in_reply_to)
    references = trimmed_references(envelope.references, envelope.in_reply_to)
    if references:
        message["References"] = " ".join(bracketed(item) for item in references)
    message["Auto-Submitted"] = envelope.auto_submitted
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to us
    if envelope.loop_marker:
        message["X-Loop"] = envelope.loop_marker
    for name, value in envelope.extra_headers:
        message[name] = single_line(value)
    message.set_content(content.text, charset="utf-8")
    if content.html is not None:
        message.add_alternative(content.html, subtype="html", charset="utf-8")
    return message


def recipient_header(envelope: Envelope) -> HeaderAddress:
    try:
        return HeaderAddress(display_name=single_line(envelope.to_name), addr_spec=envelope.to_address)
    except (ValueError, IndexError):
        # An address the header model rejects (odd quoting) still deserves an answer: drop the name.
        return HeaderAddress(addr_spec=envelope.to_address)
