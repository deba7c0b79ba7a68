"""Decode octets with the declared charset when it works, else UTF-8, else windows-1252: never raise."""

from __future__ import annotations

import codecs

# WHATWG Encoding Standard: labels are read as the superset clients really send. Mail labelled
# ISO-8859-1 or US-ASCII is in practice windows-1252 (curly quotes and the euro sign sit in 0x80-0x9F).
_SUPERSETS = {"iso8859-1": "windows-1252", "ascii": "windows-1252", "gb2312": "gb18030", "gbk": "gb18030",
              "euc_kr": "cp949"}
FALLBACK_CHARSETS = ("utf-8", "windows-1252")


def decode_text(data: bytes, declared: str | None) -> tuple[str, str]:
    """Return (text, charset actually used). The declared charset is tried first, strictly."""
    for charset in _candidates(declared):
        try:
            return data.decode(charset), charset
        except (UnicodeDecodeError, LookupError):
            continue
    # windows-1252 leaves five octets undefined; replace them rather than fail.
    return data.decode("windows-1252", "replace"), "windows-1252"


def decode_bytes(data: bytes, declared: str | None) -> str:
    return decode_text(data, declared)[0]


def normalise_charset(declared: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when Python does not know it."""
    if not declared:
        return None
    label = declared.strip().strip('"').lower()
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # e.g. charset="base64" or "rot13": codecs that are not text encodings
    return _SUPERSETS.get(info.name, info.name)


def _candidates(declared: str | None) -> list[str]:
    first = normalise_charset(declared)
    return list(dict.fromkeys(([first] if first else []) + list(FALLBACK_CHARSETS)))
