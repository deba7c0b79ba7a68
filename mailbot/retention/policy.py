"""What is due for purging, and how an erased person's traces are rewritten: pure functions over plain values."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

ERASED = "(erased)"  # what stands where an erased person's address, name or words were


def cutoff(now: datetime, days: int | None) -> datetime | None:
    """The moment before which things are due; None when the setting keeps them forever."""
    if days is None:
        return None
    return now - timedelta(days=days)


def is_case_raw_due(closed_at: datetime | None, raw_purged_at: datetime | None, before: datetime | None) -> bool:
    """A case closed before the cutoff whose raw mail has not been purged since it (last) closed."""
    if before is None or closed_at is None or closed_at >= before:
        return False
    return raw_purged_at is None or raw_purged_at < closed_at  # reopened and closed again after a purge


def is_quarantine_due(created_at: datetime, before: datetime | None) -> bool:
    return before is not None and created_at < before


def normalized_address(email: str) -> str:
    return email.strip().lower()


def address_hash(email: str) -> str:
    """What the erasure log keeps instead of the address: enough to answer "was X erased?", not to read X."""
    return hashlib.sha256(normalized_address(email).encode("utf-8")).hexdigest()


def traces(email: str, name: str) -> tuple[str, ...]:
    """The strings that identify the person in free text: the address, and the full name when it is one."""
    found = [normalized_address(email)]
    if len(name.strip()) >= 3:
        found.append(" ".join(name.split()))
    return tuple(found)


def has_trace(text: str, needles: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(needle.lower() in lowered for needle in needles)


def without_traces(text: str, needles: tuple[str, ...]) -> str:
    """The text with every case-insensitive occurrence of the person's address or name replaced by ERASED."""
    for needle in needles:
        text = re.sub(re.escape(needle), ERASED, text, flags=re.IGNORECASE)
    return text


def has_raw_trace(raw: bytes, needles: tuple[str, ...]) -> bool:
    """Raw mail carries the address as ASCII (RFC 5322 addresses); names may be encoded, so the address decides."""
    lowered = raw.lower()
    return any(needle.lower().encode("utf-8") in lowered for needle in needles)

