"""Build realistic raw customer mail for tests."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from datetime import datetime, timezone


def customer_mail(
    *,
    sender: str = "ana@acme.test",
    sender_name: str = "Ana García",
    to: str = "support@example.test",
    subject: str = "El sistema no arranca",
    body: str = "Buenos días, el sistema no arranca tras actualizar.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"{sender_name} <{sender}>" if sender_name else sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc))
    message["Message-ID"] = f"<{message_id or uuid.uuid4().hex + '@acme.test'}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{item}>" for item in references)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment:
        filename, content_type, content = attachment
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
