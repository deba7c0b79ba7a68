"""The two kinds of trouble with a server: it is down (retry quietly), or it refuses us (tell the operator).

"Down" is a connection refused or dropped, a timeout, a 421: waiting helps, so the service backs off and retries
without noise. "Refused" is a wrong password, a revoked token, a missing scope, an untrusted certificate or a
folder that does not exist: waiting does not help, so it is logged as an error with the server's own words and
the service gives up after a configured number of tries, exiting non-zero so cron or systemd notice.
"""

from __future__ import annotations

import ast
import re

_BYTES_LITERAL = re.compile(r"(?<![\w])b'(?:[^'\\]|\\.)*'" + r'|(?<![\w])b"(?:[^"\\]|\\.)*"')


class ServerRefused(Exception):
    """A server (or an OAuth2 token endpoint) refused us; the operator has to change something.

    `server` names what refused ("IMAP imap.example.com:993", "SMTP smtp.example.com:587", "OAuth2 microsoft"),
    `reason` is the server's own words, decoded, and `hint` says what to change.
    """

    def __init__(self, server: str, reason: str, hint: str = "") -> None:
        self.server = server
        self.reason = reason
        self.hint = hint
        super().__init__(f"{server}: {reason}" + (f" ({hint})" if hint else ""))


class LoginRefused(ServerRefused):
    """The server answered and refused the credentials (a wrong user or password, a revoked token)."""


class FolderMissing(ServerRefused):
    """The mailbox folder to read does not exist; `existing` lists the folders that do (when known)."""

    def __init__(self, server: str, folder: str, existing: tuple[str, ...] = (), reason: str = "", hint: str = "") -> None:
        self.folder = folder
        self.existing = existing
        super().__init__(server, reason or f"folder {folder!r} does not exist", hint)


def decoded(value: object) -> str:
    """A server's reply as text: imaplib and aiosmtplib hand over bytes, lists of bytes or exceptions wrapping them."""
    if isinstance(value, BaseException) and value.args:
        return "; ".join(decoded(item) for item in value.args)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace").strip()
    if isinstance(value, (list, tuple)):
        return "; ".join(decoded(item) for item in value)
    # imapclient re-raises server replies as str(bytes): "b'[AUTHENTICATIONFAILED] Authentication failed.'"
    return _BYTES_LITERAL.sub(_literal_text, str(value)).strip()


def _literal_text(match: re.Match[str]) -> str:
    try:
        return bytes(ast.literal_eval(match.group(0))).decode("utf-8", "replace")
    except (ValueError, SyntaxError):
        return match.group(0)


def causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from or while handling, outermost first (libraries wrap socket and TLS
    errors in their own); a cycle in the chain ends it."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
