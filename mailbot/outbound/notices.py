"""Mail about a case that is not a direct answer: notices to engineers, relays and closure notices to customers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.config import SupportSettings
from mailbot.outbound.compose import Envelope, as_bytes, compose, new_message_id, single_line
from mailbot.outbound.replies import OutgoingMail
from mailbot.outbound.templates import TemplateRenderer


@dataclass(frozen=True, slots=True)
class ThreadHeaders:
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Addressee:
    email: str
    name: str = ""
    cc: tuple[str, ...] = ()


class Notices:
    def __init__(self, support: SupportSettings, renderer: TemplateRenderer) -> None:
        self._support = support
        self._renderer = renderer

    def build(
        self,
        kind: str,
        language: str,
        context: Mapping[str, Any],
        to: Addressee,
        now: datetime,
        *,
        case_number: str,
        thread: ThreadHeaders = ThreadHeaders(),
        from_name: str | None = None,
        auto_submitted: str | None = "auto-generated",
        attachments: tuple[tuple[str, str, bytes], ...] = (),
    ) -> OutgoingMail:
        support = self._support
        content = self._renderer.render(kind, language, {
            "language": language, "support_name": support.display_name, "support_address": support.address,
            "case_number": case_number, **context,
        })
        message_id = new_message_id(support.id_domain)
        envelope = Envelope(
            from_address=support.address, from_name=from_name or support.display_name,
            to_address=to.email, to_name=to.name, reply_to=support.address, message_id=message_id, date=now,
            in_reply_to=thread.in_reply_to, references=thread.references, auto_submitted=auto_submitted,
            loop_marker=support.address, extra_headers=(("X-Mailbot-Case", case_number),), cc=to.cc,
        )
        return OutgoingMail(
            message_id=message_id, kind=kind, recipient=", ".join((to.email, *to.cc)),
            subject=single_line(content.subject), body_text=content.text,
            raw=as_bytes(compose(envelope, content, attachments)),
        )
