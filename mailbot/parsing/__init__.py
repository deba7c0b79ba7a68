"""Parse stage: raw message bytes -> a decoded, typed InboundMessage (stdlib email parser, compat32)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailbot.parsing.parse import UnparseableMessage, parse_message

__all__ = ["UnparseableMessage", "parse_message"]


def __getattr__(name: str) -> Any:
    # PEP 562: the parse stage (mail-parser, BeautifulSoup) loads when it is used, not whenever a light helper of
    # this package is (the directory file only needs parsing.addresses to check an address).
    if name in __all__:
        from mailbot.parsing import parse

        return getattr(parse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
