"""Parse stage: raw message bytes -> a decoded, typed InboundMessage (stdlib email parser, compat32)."""

from mailbot.parsing.parse import UnparseableMessage, parse_message

__all__ = ["UnparseableMessage", "parse_message"]
