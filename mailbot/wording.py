"""Counted nouns for messages people read: "1 account created", "2 accounts created"."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`count` and the noun in the right number; `plural` for nouns that do not just take an s."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
