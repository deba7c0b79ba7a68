"""Parse stage: raw message bytes -> a decoded, typed InboundMessage (mail-parser, checked by the stdlib)."""

from mailbot.parsing.parse import UnparseableMessage, parse_message

__all__ = ["UnparseableMessage", "parse_message"]
