"""Predicates that recognise mail which must never get an automatic reply (RFC 3834 and common practice)."""

from __future__ import annotations

from mailbot.domain.messages import InboundMessage

BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
AUTO_REPLY_MARKERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress-reply")
REPORT_TYPES = frozenset({"multipart/report", "message/delivery-status", "message/disposition-notification"})


def is_auto_submitted(message: InboundMessage) -> bool:
    """RFC 3834 §5: any Auto-Submitted value other than "no" marks machine-sent mail."""
    value = message.header("auto-submitted")
    if value is not None and value.split(";")[0].strip().lower() != "no":
        return True
    return any(message.header(name) is not None for name in AUTO_REPLY_MARKERS)


def is_bulk_or_list(message: InboundMessage) -> bool:
    precedence = (message.header("precedence") or "").strip().lower()
    return precedence in BULK_PRECEDENCE or message.header("list-id") is not None


def is_delivery_report(message: InboundMessage) -> bool:
    """Bounces and receipts: report MIME types (RFC 6522) or a daemon sender."""
    if message.content_type in REPORT_TYPES:
        return True
    if (message.header("return-path") or "").strip() == "<>":
        return True
    return message.sender is not None and message.sender.local_part in DAEMON_LOCAL_PARTS


OWN_MESSAGE_ID_PREFIX = "mailbot."  # outbound.compose.new_message_id writes it


def is_own_message_id(message_id: str, id_domain: str) -> bool:
    lowered = message_id.lower()
    return lowered.startswith(OWN_MESSAGE_ID_PREFIX) and lowered.endswith("@" + id_domain)


def is_own_mail(message: InboundMessage, support_address: str, id_domain: str) -> bool:
    """Our own messages coming back: our Message-ID domain, our X-Loop, or From our own address."""
    if message.message_id and is_own_message_id(message.message_id, id_domain):
        return True
    loops = {value.strip().lower() for value in message.header_values("x-loop")}
    if support_address in loops:
        return True
    return message.sender is not None and message.sender.email == support_address


def is_addressed_to(message: InboundMessage, addresses: tuple[str, ...]) -> bool:
    recipients = set(message.recipients)
    return any(address in recipients for address in addresses)
