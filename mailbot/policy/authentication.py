"""RFC 8601 Authentication-Results and RFC 8617 ARC: has our own receiving boundary found the author forged?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase

from mailbot.domain.messages import InboundMessage

# Microsoft 365 writes its results with no authserv-id at all ("Authentication-Results: spf=pass ..."), against
# RFC 8601 §2.2. Such headers are named by this stand-in, which no real authserv-id can spell (`<` is not allowed).
MISSING_AUTHSERV_ID = "<none>"
METHODS = frozenset({"dmarc", "dkim", "spf", "compauth"})
COMMENT = re.compile(r"\([^()]*\)")
RESINFO = re.compile(r"^\s*([a-z0-9-]+)\s*=\s*([a-z]+)(.*)$", re.IGNORECASE | re.DOTALL)
PROPERTY = re.compile(r"([a-z0-9-]+(?:\.[a-z0-9-]+)?)\s*=\s*([^\s;]+)", re.IGNORECASE)
ARC_INSTANCE = re.compile(r"^\s*i\s*=\s*(\d+)\s*;(.*)$", re.IGNORECASE | re.DOTALL)
RECEIVED_FROM = re.compile(r"^\s*from\s+([^\s;]+)", re.IGNORECASE)
RECEIVED_BY = re.compile(r"\bby\s+([^\s;]+)", re.IGNORECASE)
# Boundaries that write their results just *below* their own Received line, one header per message (Gmail's shape);
# everyone else prepends them above it (Postfix milters, Exchange Online), as RFC 8601 §5 expects.
RESULTS_BELOW_OWN_RECEIVED = frozenset({"mx.google.com"})


class Verdict(Enum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"  # no evidence either way


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One `method=result prop=value ...` of a header, lower-cased, comments removed."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def property(self, name: str) -> str:
        return next((value for key, value in self.properties if key == name), "")


# Verdicts the boundary computed itself win, in this order: Microsoft's composite verdict (it already weighs
# ARC from forwarders it trusts), then DMARC (it knows the domain's alignment policy). Only without them do we
# look at DKIM and SPF alignment ourselves (see verdict_of). Within a method, fail before pass: two copies that
# disagree mean one was forged, and a forger gains nothing by writing "pass".
DECISIVE_RESULTS: tuple[tuple[str, str, Verdict], ...] = (
    ("compauth", "fail", Verdict.FAIL),
    ("compauth", "pass", Verdict.PASS),
    ("dmarc", "fail", Verdict.FAIL),
    ("dmarc", "pass", Verdict.PASS),
)


def authserv_id(header_value: str) -> str:
    """The first token of the header, before any version number (RFC 8601 §2.2); MISSING_AUTHSERV_ID when absent."""
    head = header_value.split(";", 1)[0].strip()
    if not head:
        return ""
    first = head.split()[0]
    return MISSING_AUTHSERV_ID if "=" in first else first.lower()


def is_trusted(identifier: str, trusted_ids: tuple[str, ...]) -> bool:
    """Trusted ids may be shell-style patterns (`*.example.com`) for boundaries made of many named hosts."""
    return bool(identifier) and any(fnmatchcase(identifier, pattern.strip().lower()) for pattern in trusted_ids)


def parse_results(header_value: str) -> tuple[MethodResult, ...]:
    body = header_value if authserv_id(header_value) == MISSING_AUTHSERV_ID else header_value.partition(";")[2]
    found: list[MethodResult] = []
    for segment in COMMENT.sub(" ", body).split(";"):
        match = RESINFO.match(segment)
        if match is None or match[1].lower() not in METHODS:
            continue
        properties = tuple((key.lower(), value.strip('"').lower()) for key, value in PROPERTY.findall(match[3]))
        found.append(MethodResult(match[1].lower(), match[2].lower(), properties))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Boundary:
    """Whose word counts: the authserv-ids of our receiving servers, and their host names as Received lines show them."""

    authserv_ids: tuple[str, ...]
    hosts: tuple[str, ...] = ()  # patterns; none known: every trusted block counts wherever it is (less strict)


def received_hosts(value: str) -> tuple[str, str]:
    """The `from` and `by` hosts of a Received line (RFC 5321 §4.4), lower-cased; "" where a clause is absent."""
    text = value
    while COMMENT.search(text):  # comments nest: "(mail.example.org. [192.0.2.1] (may be forged))"
        text = COMMENT.sub(" ", text)
    sender, receiver = RECEIVED_FROM.match(text), RECEIVED_BY.search(text)
    return ((sender[1].lower().rstrip(".") if sender else ""),
            (receiver[1].lower().rstrip(".") if receiver else ""))


def entry_hop(headers: tuple[tuple[str, str], ...], boundary_hosts: tuple[str, ...]) -> int | None:
    """The index of the topmost Received line by which one of our boundary hosts took the message from outside.

    Headers are only ever prepended, so whatever our boundary wrote after that hop sits above it, and everything
    below it came with the message. The topmost one is ours: a forger's copy can only be lower.
    """
    if not boundary_hosts:
        return None
    for index, (name, value) in enumerate(headers):
        if name != "received":
            continue
        sender, receiver = received_hosts(value)
        if sender and is_trusted(receiver, boundary_hosts) and not is_trusted(sender, boundary_hosts):
            return index
    return None


def boundary_results(headers: tuple[tuple[str, str], ...], boundary: Boundary) -> tuple[str, ...]:
    """The Authentication-Results our boundary added: above its entry hop, or the one just below it (Gmail)."""
    entry = entry_hop(headers, boundary.hosts)
    if entry is None:
        return trusted_block(headers, boundary.authserv_ids)
    above = trusted_block(headers[:entry], boundary.authserv_ids)
    if above:
        return above
    for name, value in headers[entry + 1:]:
        if name == "received":
            break
        if name == "authentication-results" and is_trusted(authserv_id(value), boundary.authserv_ids):
            # Only the first: a second copy of the same id below it is the message's own, written by a forger.
            return (value,) if authserv_id(value) in RESULTS_BELOW_OWN_RECEIVED else ()
    return ()


def trusted_block(headers: tuple[tuple[str, str], ...], trusted_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The topmost contiguous Authentication-Results headers carrying a trusted authserv-id.

    RFC 8601 §5: the receiving boundary prepends its own results; anything below them arrived with the message
    (an earlier hop, a forwarder, or a forger, possibly under the same id, as every Microsoft 365 tenant and
    every Gmail hop share one). So the block ends at the next Received hop or at a header with another id.
    """
    block: list[str] = []
    for name, value in headers:
        if name == "authentication-results" and is_trusted(authserv_id(value), trusted_ids):
            block.append(value)
        elif block and name in ("authentication-results", "received"):
            break
    return tuple(block)


def arc_evidence(headers: tuple[tuple[str, str], ...], trusted_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The ARC-Authentication-Results of the newest ARC set, when a trusted authserv-id wrote it.

    RFC 8617 §4.2.1: each sealer adds instance i = previous + 1, so our own boundary, the last to seal, holds the
    highest instance; a trusted id at a lower instance was written before it and proves nothing. Two sets with
    one instance make the chain invalid (§5.1.1).
    """
    sets: list[tuple[int, str]] = []
    for name, value in headers:
        match = ARC_INSTANCE.match(value) if name == "arc-authentication-results" else None
        if match is not None:
            sets.append((int(match[1]), match[2]))
    if not sets:
        return ()
    highest = max(instance for instance, _ in sets)
    newest = [value for instance, value in sets if instance == highest]
    if len(newest) != 1 or not is_trusted(authserv_id(newest[0]), trusted_ids):
        return ()
    return (newest[0],)


def is_aligned(domain: str, author_domain: str) -> bool:
    """Relaxed alignment (RFC 7489 §3.1), approximated: one domain is the other or a subdomain of it.

    The shorter side must have two labels at least, so a signature by a bare top-level domain never aligns.
    """
    domain, author_domain = domain.rpartition("@")[2].strip(".").lower(), author_domain.strip(".").lower()
    if not domain or not author_domain:
        return False
    shorter, longer = sorted((domain, author_domain), key=len)
    return "." in shorter and (longer == shorter or longer.endswith("." + shorter))


def has_result(results: tuple[MethodResult, ...], method: str, result: str) -> bool:
    return any(found.method == method and found.result == result for found in results)


def verdict_of(results: tuple[MethodResult, ...], author_domain: str) -> Verdict:
    for method, result, verdict in DECISIVE_RESULTS:
        if has_result(results, method, result):
            return verdict
    for found in results:
        if found.result == "pass" and found.method == "dkim" and is_aligned(
                found.property("header.d") or found.property("header.i"), author_domain):
            return Verdict.PASS
        if found.result == "pass" and found.method == "spf" and is_aligned(found.property("smtp.mailfrom"), author_domain):
            return Verdict.PASS
    # Reached only when no aligned DKIM signature passed: an SPF failure then stands (a signature by another
    # domain vouches for that domain, not for the author's).
    if has_result(results, "spf", "fail"):
        return Verdict.FAIL
    return Verdict.NONE


def authentication_verdict(message: InboundMessage, boundary: Boundary) -> Verdict:
    """Our boundary's verdict on the author: the A-R it added, or its ARC set when it left no A-R.

    Authentication-Results-Original (Exchange's copy of an earlier hop's results) is never read: it is not ours.
    """
    evidence = boundary_results(message.headers, boundary) or arc_evidence(message.headers, boundary.authserv_ids)
    results = tuple(found for value in evidence for found in parse_results(value))
    return verdict_of(results, message.sender.domain if message.sender else "")


def is_sender_forged(message: InboundMessage, boundary: Boundary) -> bool:
    """True when our boundary says the author's domain failed authentication.

    Only results stamped by our own servers count: anyone can write an Authentication-Results header.
    """
    return authentication_verdict(message, boundary) is Verdict.FAIL
