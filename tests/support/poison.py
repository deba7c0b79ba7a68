"""Poison mail for tests: shapes that once stopped or fooled mail bots (huge headers, deep MIME, NUL, odd values)."""

from __future__ import annotations

import base64
from collections.abc import Callable

HEAD = (b"From: Ana Garcia <ana@acme.test>\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n")


def head(message_id: str, subject: str = "Poison") -> bytes:
    return HEAD.replace(b"{subject}", subject.encode()).replace(b"{message_id}", message_id.encode())


def huge_references(message_id: str) -> bytes:
    """More ids than PostgreSQL (65,535) or SQLite (250,000 in recent builds, 32,766 in older) bind at once."""
    ids = b" ".join(b"<ref-%d@elsewhere.test>" % n for n in range(70_000))
    return (head(message_id) + b"References: " + ids + b"\r\nIn-Reply-To: <ref-69999@elsewhere.test>\r\n"
            b"Content-Type: text/plain\r\n\r\nHola.\r\n")


def huge_header(message_id: str) -> bytes:
    folded = b"\r\n ".join([b"x" * 900] * 2_500)  # about 2.2 MB in one header
    return head(message_id) + b"X-Junk: " + folded + b"\r\nContent-Type: text/plain\r\n\r\nHola.\r\n"


def many_parts(message_id: str) -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"p%d.txt\"\r\n\r\n"
                     b"part %d\r\n" % (n, n) for n in range(10_000))
    return (head(message_id) + b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
            b"Content-Type: text/plain\r\n\r\nVer adjuntos.\r\n" + parts + b"--b--\r\n")


def deep_nesting(message_id: str) -> bytes:
    depth = 2_000
    opening = b"".join(b"Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n" % (n, n) for n in range(depth))
    closing = b"".join(b"\r\n--n%d--\r\n" % n for n in reversed(range(depth)))
    return head(message_id) + opening + b"Content-Type: text/plain\r\n\r\nHola." + closing


def long_base64_line(message_id: str) -> bytes:
    line = base64.b64encode(b"\x89PNG" + b"\x00" * 6_000_000)  # 8 MB without a single line break
    return (head(message_id) + b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
            b"Captura adjunta.\r\n--b\r\nContent-Type: image/png; name=\"captura.png\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + line + b"\r\n--b--\r\n")


def nul_bytes(message_id: str) -> bytes:
    return (head(message_id, "Caído\x00 el sistema").replace(b"Ana Garcia", b"Ana\x00Garcia")
            + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + "El sistema\x00 está caído\x00.\r\n".encode())


def utf8_message_ids(message_id: str) -> bytes:
    """RFC 6532: UTF-8 in Message-ID, References and addresses is valid mail."""
    own = message_id.replace("poison", "póison-ñandú")
    return (head(own).replace(b"ana@acme.test", "ana@acme.test".encode())
            + "References: <hilo-ñ@acme.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHola, ¿qué tal?\r\n".encode())


def long_values(message_id: str) -> bytes:
    """A display name and sender over 320 characters, an attachment name over 512: stored truncated, not refused."""
    name = "N" * 400
    return (head(message_id, "S" * 3000).replace(b"Ana Garcia", name.encode())
            + b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nAdjunto.\r\n"
            + b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"" + b"f" * 700 + b".txt\"\r\n\r\n"
            + b"log\r\n--b--\r\n")


VALID_MAIL = ("utf8_message_ids", "long_values")  # odd but valid: a case, never the quarantine

SHAPES: dict[str, Callable[[str], bytes]] = {
    "utf8_message_ids": utf8_message_ids, "long_values": long_values,
    "huge_references": huge_references, "huge_header": huge_header, "many_parts": many_parts,
    "deep_nesting": deep_nesting, "long_base64_line": long_base64_line, "nul_bytes": nul_bytes,
}
