"""RFC 8601 Authentication-Results: has our own receiving server found the From: domain forged?"""

from __future__ import annotations

import re

from mailbot.domain.messages import InboundMessage

RESULT_PATTERN = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", re.IGNORECASE)


def authserv_id(header_value: str) -> str:
    """The first token of the header, before any version number (RFC 8601 §2.2)."""
    return header_value.split(";", 1)[0].strip().split()[0].lower() if header_value.strip() else ""


def method_results(header_value: str) -> dict[str, set[str]]:
    results: dict[str, set[str]] = {}
    for method, result in RESULT_PATTERN.findall(header_value.split(";", 1)[-1]):
        results.setdefault(method.lower(), set()).add(result.lower())
    return results


def is_sender_forged(message: InboundMessage, trusted_ids: tuple[str, ...]) -> bool:
    """True when a trusted server says DMARC failed, or (with no DMARC verdict) SPF failed and no DKIM passed.

    Only results stamped by our own servers count: anyone can write an Authentication-Results header.
    """
    trusted = {value.lower() for value in trusted_ids}
    for value in message.header_values("authentication-results"):
        if authserv_id(value) not in trusted:
            continue
        results = method_results(value)
        if "fail" in results.get("dmarc", set()):
            return True
        if "dmarc" not in results and "fail" in results.get("spf", set()) and "pass" not in results.get("dkim", set()):
            return True
    return False
