"""Header values ready for the wire at little cost: RFC 2047 encoded-words, folding at spaces, QP bodies.

The stdlib's compat32 generator re-folds every header with email.header.Header, which measures each
candidate encoding character by character; that was most of the cost of composing a reply. Here the
values are built as ASCII tokens separated by single spaces, and the policy below folds them at those
spaces: a line is at most 78 characters unless one token is longer, and no token exceeds 998.
"""

from __future__ import annotations

import binascii
from email.policy import Compat32

# RFC 2047 §5(3): in a phrase or unstructured text a "Q" word may carry letters, digits and !*+-/ as they are.
_Q_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_WORD_START, _WORD_END = "=?utf-8?q?", "?="
# 62 characters per word: with a header name of up to 14 characters ("X-Mailbot-Case") the first line stays
# within 78; RFC 2047 §2 allows 75.
MAX_ENCODED_WORD = 62
RECOMMENDED_LINE = 78  # RFC 5322 §2.1.1


def encoded_words(text: str) -> str:
    """`text` as UTF-8 "Q" encoded-words separated by spaces, which a reader drops (RFC 2047 §6.2).

    A word never splits a character, so each decodes on its own.
    """
    room = MAX_ENCODED_WORD - len(_WORD_START) - len(_WORD_END)
    words: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        piece = _q_encoded(char)
        if used + len(piece) > room:
            words.append(_WORD_START + "".join(current) + _WORD_END)
            current, used = [], 0
        current.append(piece)
        used += len(piece)
    if current or not words:
        words.append(_WORD_START + "".join(current) + _WORD_END)
    return " ".join(words)


def _q_encoded(char: str) -> str:
    if char in _Q_PLAIN:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8"))


def quoted_printable(text: str) -> str:
    """A text body as quoted-printable (RFC 2045 §6.7) with \\n line ends; the generator writes them as CRLF."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(lines.encode("utf-8"), istext=True).decode("ascii")


def fold_at_spaces(name: str, value: str, limit: int, linesep: str) -> str:
    """`Name: value`, folded before spaces so lines stay within `limit` (RFC 5322 §2.2.3); unfolding gives it back."""
    if len(name) + 2 + len(value) <= limit:
        return f"{name}: {value}{linesep}"
    tokens = value.split(" ")
    lines: list[str] = []
    current = f"{name}: {tokens[0]}"
    for token in tokens[1:]:
        if len(current) + 1 + len(token) > limit and token:
            lines.append(current)
            current = " " + token  # the space moves to the start of the next line: it is the folding white space
        else:
            current += " " + token
    lines.append(current)
    return linesep.join(lines) + linesep


def _is_prefolded(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value


class SpaceFoldingPolicy(Compat32):
    """compat32 that folds one-line ASCII values itself, at their spaces; anything else goes to compat32 as before."""

    def fold(self, name: str, value: str) -> str:
        if not _is_prefolded(value):
            return super().fold(name, value)
        return fold_at_spaces(name, value, self.max_line_length or len(name) + len(value) + 2, self.linesep)

    def fold_binary(self, name: str, value: str) -> bytes:
        if not _is_prefolded(value):
            return super().fold_binary(name, value)
        return self.fold(name, value).encode("ascii")


SPACE_FOLDING = SpaceFoldingPolicy(max_line_length=RECOMMENDED_LINE)
WIRE_POLICY = SPACE_FOLDING.clone(linesep="\r\n")
