"""Turn raw header text (8-bit octets, folding, RFC 2047 encoded-words) into clean single-line strings."""

from __future__ import annotations

import base64
import binascii
import re

from mailbot.parsing.charsets import decode_bytes

# RFC 2047 §2: =?charset?encoding?encoded-text?= ; RFC 2231 §5 lets the charset carry a "*language" suffix.
ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
# RFC 5322 §2.2.3: unfolding removes the CRLF that precedes folding white space.
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Anything below U+0020 (CR, LF, NUL, ESC...) plus DEL and the C1 range never belongs on one header line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r"\s+")
_SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")  # how the stdlib parser keeps an undecodable octet


def recover_8bit(value: str) -> str:
    """Decode header octets that arrived unencoded (RFC 6532 says UTF-8; old clients send windows-1252).

    The stdlib parser keeps such octets as surrogate escapes; we turn them back into bytes and decode.
    """
    if _SURROGATE_ESCAPE.search(value) is None:  # one C-level scan: this runs on every header of every message
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None)


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def to_single_line(value: str) -> str:
    """Remove CR/LF and other control characters and collapse white space: safe to log or echo back."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def decode_encoded_words(value: str) -> str:
    """Decode RFC 2047 encoded-words, tolerating unknown charsets and words split mid-character.

    email.header.decode_header mangles non-ASCII text between words and raises on unknown
    charsets, so this small decoder is used instead.
    """
    pieces: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent encoded-words not yet decoded
    position = 0
    for match in ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # RFC 2047 §6.2: white space between adjacent encoded-words is not displayed.
        if between and not (pending and between.isspace()):
            _flush(pending, pieces)
            pieces.append(between)
        pending.append((match.group(1).lower(), _decode_word(match.group(2), match.group(3))))
        position = match.end()
    _flush(pending, pieces)
    pieces.append(value[position:])
    return "".join(pieces)


def decode_header_text(raw: str) -> str:
    """Raw header value as stored by the parser -> decoded, single-line text."""
    return to_single_line(decode_encoded_words(unfold(recover_8bit(str(raw)))))


def _decode_word(encoding: str, text: str) -> bytes:
    if encoding in "Bb":
        try:
            # Senders often drop the padding; add it back rather than lose the word.
            return base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return binascii.a2b_qp(text.replace("_", " ").encode("ascii", "replace"))


def _flush(pending: list[tuple[str, bytes]], pieces: list[str]) -> None:
    """Decode queued words; same-charset neighbours are joined first, so a split UTF-8 sequence survives."""
    start = 0
    while start < len(pending):
        charset = pending[start][0]
        end = start
        while end < len(pending) and pending[end][0] == charset:
            end += 1
        pieces.append(decode_bytes(b"".join(data for _, data in pending[start:end]), charset))
        start = end
    pending.clear()
