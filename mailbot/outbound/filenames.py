"""Names for files we send on: no path, no control characters, no device names, short enough for any disk."""

from __future__ import annotations

import re
import unicodedata

FALLBACK_NAME = "attachment"
MAX_NAME_CHARACTERS = 100
MAX_NAME_BYTES = 255  # NAME_MAX of ext4, APFS and NTFS; also keeps the RFC 2231 form under 998 octets (255 * 3)
MAX_EXTENSION_CHARACTERS = 16  # longer "extensions" are part of the name, not a type the reader's system knows
# Windows refuses these as a file's stem whatever the extension (`con.txt` is the console), superscript forms included.
RESERVED_STEMS = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in "123456789¹²³"}
)
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # controls, bidi overrides, separators
WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
PATH_SEPARATORS = re.compile(r"[/\\]")


def safe_attachment_name(name: str) -> str:
    """A file name safe to save on any system; the type (extension) is kept when the name must be shortened."""
    visible = "".join(" " if is_invisible(char) else char for char in unicodedata.normalize("NFC", name))
    last = PATH_SEPARATORS.split(visible)[-1]  # "../../etc/passwd" and "C:\\x\\y.pdf" lose their folders
    cleaned = trimmed(WINDOWS_FORBIDDEN.sub("_", " ".join(last.split())))
    if not cleaned:
        return FALLBACK_NAME
    shortened = shortened_name(cleaned)
    return f"_{shortened}" if is_reserved_device(shortened) else shortened


def is_invisible(char: str) -> bool:
    return unicodedata.category(char) in INVISIBLE_CATEGORIES


def is_reserved_device(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").upper() in RESERVED_STEMS


def trimmed(name: str) -> str:
    """Leading dots hide a file (or climb a folder); trailing dots and spaces are dropped by Windows."""
    return name.strip(" ").lstrip(".").rstrip(". ")


def shortened_name(name: str) -> str:
    if fits(name):
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARACTERS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    stem = stem[:MAX_NAME_CHARACTERS - len(suffix)]
    while stem and not fits(stem + suffix):
        stem = stem[:-1]
    return (trimmed(stem) + suffix) if trimmed(stem) else (trimmed(suffix) or FALLBACK_NAME)


def fits(name: str) -> bool:
    return len(name) <= MAX_NAME_CHARACTERS and len(name.encode("utf-8")) <= MAX_NAME_BYTES
