"""Address and Message-ID extraction from header text (RFC 5322 §3.4 mailboxes, §3.6.4 identifiers)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses

from mailbot.domain.messages import Address
from mailbot.parsing.headers import ENCODED_WORD, decode_encoded_words, recover_8bit, to_single_line, unfold

_MSGID = re.compile(r"<\s*([^<>\s]+)\s*>")
# Private-use characters: an atom to getaddresses, and never part of a real header we keep.
_HOLDER = "\ue000{}\ue001"
_HOLDER_PATTERN = re.compile("\ue000(\\d+)\ue001")


def normalise_email(raw: str) -> str:
    """Canonical form of a bare address: no white space or angle brackets, all lower case.

    The whole address is lower-cased, local part included: RFC 5321 allows case-sensitive
    local parts, but no real mailbox relies on it and matching must not depend on it.
    """
    candidate = raw.strip().strip("<>").strip().lower()
    local, at, domain = candidate.rpartition("@")
    if not at or not local or not domain:
        return ""
    return candidate


def parse_address_list(header_value: str | Iterable[str] | None) -> tuple[Address, ...]:
    """Mailboxes from one header value or several occurrences, deduplicated by address, in order.

    getaddresses runs on the undecoded text, with each encoded-word swapped for a plain atom, so
    that a decoded name holding a comma or an unescaped one ("=?UTF-8?Q?Mu=C3=B1oz,_Jos=C3=A9?=",
    against RFC 2047 §5 but seen in the wild) cannot split one mailbox in two; names are decoded after.
    """
    if header_value is None:
        return ()
    values = [header_value] if isinstance(header_value, str) else list(header_value)
    words: list[str] = []
    texts = [_hold_encoded_words(unfold(recover_8bit(str(value))), words) for value in values]
    found: dict[str, Address] = {}
    for name, address in getaddresses(texts):
        email = normalise_email(_release_encoded_words(address, words))
        if email and email not in found:
            found[email] = Address(email=email, name=_decode_display_name(_release_encoded_words(name, words), email))
    return tuple(found.values())


def strip_msgid(value: str | None) -> tuple[str, ...]:
    """Message-IDs from Message-ID / In-Reply-To / References text, without angle brackets, in order.

    Old clients add comments or phrases around the ids (RFC 5322 §4.5.4), so only the
    <...> tokens are taken; a lone token without brackets is accepted as it stands.
    """
    if not value:
        return ()
    text = unfold(str(value))
    ids = _MSGID.findall(text)
    if not ids:
        tokens = text.split()
        ids = [tokens[0].strip("<>")] if len(tokens) == 1 else []
    return tuple(dict.fromkeys(msgid for msgid in ids if msgid))


def _hold_encoded_words(text: str, words: list[str]) -> str:
    def hold(match: re.Match[str]) -> str:
        words.append(match.group())
        return _HOLDER.format(len(words) - 1)

    return ENCODED_WORD.sub(hold, _HOLDER_PATTERN.sub("", text))


def _release_encoded_words(text: str, words: list[str]) -> str:
    return _HOLDER_PATTERN.sub(lambda match: words[int(match.group(1))], text)


def _decode_display_name(name: str, email: str) -> str:
    decoded = to_single_line(decode_encoded_words(name))
    # Some clients repeat the address as the name; that carries no information.
    return "" if normalise_email(decoded) == email else decoded
