"""A real SMTP server (aiosmtpd) on loopback that records what the bot sends.

Tests talk to it over TCP exactly as the bot talks to a provider's submission
server, so the real client code (aiosmtplib, envelopes, error handling) runs.
`fail_next` scripts temporary (4xx) or permanent (5xx) DATA failures to drive
the bot's retry and bounce paths; `drop_on_data` cuts the connection after the
DATA of any message containing a marker, as a server that dies on one message does.
"""

from __future__ import annotations

import base64
import binascii
import email
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.dovecot import LOOPBACK, free_port
from tests.support.tls import Certificate

DEFAULT_USER = "mailbot"
DEFAULT_PASSWORD = "secret"
TokenCheck = Callable[[str], dict[str, Any]]  # token -> RFC 7662 introspection answer


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted DATA transaction, with the envelope as the client sent it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    auth_login: str | None = None
    peer: str = ""  # the client's address:port, so tests can tell its SMTP sessions apart

    @property
    def message(self) -> EmailMessage:
        """The parsed message (policy.default, so headers are decoded str objects)."""
        parsed = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _SinkHandler:
    """aiosmtpd handler: records mail and answers DATA with scripted failures."""

    def __init__(self, auth_required: bool) -> None:
        self.auth_required = auth_required
        self._lock = threading.Condition()
        self._received: list[ReceivedMail] = []
        self._failures: list[tuple[int, str]] = []
        self._drop_markers: list[bytes] = []
        self.drops = 0  # connections cut by drop_on_data

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        """Refuse MAIL FROM before AUTH when required.

        Done here rather than with aiosmtpd's own auth_required, which warns
        on every connection when combined with plaintext AUTH.
        """
        if self.auth_required and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Record the mail, or answer with the next scripted failure instead."""
        with self._lock:
            if self._is_poison(envelope):
                self.drops += 1
                assert server.transport is not None
                server.transport.abort()  # no reply at all: the client sees the connection end mid-transaction
                return "421 never seen by the client"
            if self._failures:
                code, text = self._failures.pop(0)
                return f"{code} {text}"
            self._received.append(_to_received(session, envelope))
            self._lock.notify_all()
        return "250 Message accepted for delivery"

    def _is_poison(self, envelope: Envelope) -> bool:
        content = envelope.original_content or b""
        data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        return any(marker in data for marker in self._drop_markers)

    def drop_connection_on(self, marker: bytes) -> None:
        with self._lock:
            self._drop_markers.append(marker)

    def script_failures(self, count: int, code: int, text: str) -> None:
        """Queue count DATA answers of code/text, used before any acceptance."""
        with self._lock:
            self._failures.extend([(code, text)] * count)

    def snapshot(self) -> list[ReceivedMail]:
        """A copy of what arrived so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout: float) -> list[ReceivedMail] | None:
        """Block until count mails arrived; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)
            return list(self._received)

    def clear(self) -> None:
        """Forget recorded mail and pending scripted failures."""
        with self._lock:
            self._received.clear()
            self._failures.clear()
            self._drop_markers.clear()


class _OAuth2SinkHandler(_SinkHandler):
    """Also offers AUTH XOAUTH2 and OAUTHBEARER, checking the bearer token by introspection.

    A refused token gets the error challenge Google's servers send (334 + base64 JSON status), and after
    the client's empty (XOAUTH2) or %x01 (OAUTHBEARER, RFC 7628 §3.2.3) reply, 535.
    """

    def __init__(self, auth_required: bool, token_check: TokenCheck, scope: str | None) -> None:
        super().__init__(auth_required)
        self._token_check = token_check
        self._scope = scope
        self.logins: list[tuple[str, str, str]] = []  # (mechanism, user, token) of accepted logins

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802 - aiosmtpd's naming
        return await self._bearer_login(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        return await self._bearer_login(server, args, "OAUTHBEARER")

    async def _bearer_login(self, server: SMTP, args: list[str], mechanism: str) -> AuthResult:
        initial = _decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        if not isinstance(initial, bytes):
            return AuthResult(success=False, handled=True)
        user, token = _bearer_fields(initial.decode("utf-8", "replace"), mechanism)
        answer = self._token_check(token) if token else {"active": False}
        scopes = str(answer.get("scope", "")).split()
        if answer.get("active") is True and answer.get("username") == user and (self._scope is None or self._scope in scopes):
            self.logins.append((mechanism, user, token))
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        error = {"status": "401", "schemes": "bearer", "scope": self._scope or ""}
        await server.challenge_auth(json.dumps(error))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _bearer_fields(text: str, mechanism: str) -> tuple[str, str]:
    """(user, token) from an XOAUTH2 `user=..^Aauth=Bearer ..^A^A` or an OAUTHBEARER `n,a=..,^A..` message."""
    fields = text.split("\x01")
    if mechanism == "OAUTHBEARER":
        header, _, _ = fields[0].partition(",a=")[2].partition(",")
        user = header.replace("=2C", ",").replace("=3D", "=")
    else:
        user = fields[0].removeprefix("user=")
    token = next((field.removeprefix("auth=Bearer ") for field in fields if field.startswith("auth=Bearer ")), "")
    return user, token


def _to_received(session: Session, envelope: Envelope) -> ReceivedMail:
    """Copy the envelope into an immutable record (aiosmtpd reuses its objects)."""
    raw = envelope.original_content or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
    return ReceivedMail(
        mail_from=envelope.mail_from or "",
        rcpt_tos=tuple(envelope.rcpt_tos),
        raw=bytes(raw),
        auth_login=login.decode() if isinstance(login, bytes) else login,
        peer=":".join(str(part) for part in session.peer[:2]) if isinstance(session.peer, tuple) else str(session.peer),
    )


class SmtpSink:
    """aiosmtpd Controller on 127.0.0.1 with a free port; no TLS.

    AUTH PLAIN/LOGIN is always offered (plaintext allowed on loopback,
    auth_require_tls=False) and accepts only user/password; with
    auth_required=True, MAIL FROM without AUTH is refused with 530, as a real
    submission server would.
    """

    host: str
    port: int

    def __init__(
        self,
        auth_required: bool = False,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        host: str = LOOPBACK,
        tls: "Certificate | None" = None,
        implicit_tls: bool = False,
        token_check: TokenCheck | None = None,
        oauth2_scope: str | None = None,
        oauthbearer: bool = False,
    ) -> None:
        self.host = host
        self.tls = tls  # with a certificate: STARTTLS offered, or implicit TLS when implicit_tls
        self.implicit_tls = implicit_tls
        self.port = 0
        self.auth_required = auth_required
        self.user = user
        self.password = password
        self.oauthbearer = oauthbearer  # offer OAUTHBEARER beside XOAUTH2 (Gmail does; Microsoft 365 does not)
        # With token_check, AUTH XOAUTH2 and OAUTHBEARER are offered too; a token must carry oauth2_scope.
        self._handler = (_OAuth2SinkHandler(auth_required, token_check, oauth2_scope) if token_check
                         else _SinkHandler(auth_required))
        self._controller: Controller | None = None

    def start(self, port: int | None = None) -> Self:
        """Start the server thread (port=0 is unusable: Controller's readiness probe needs the real port)."""
        self.port = port or free_port(self.host)
        extra: dict[str, Any] = {}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
            extra = {"ssl_context": context} if self.implicit_tls else {"tls_context": context}
        controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            server_hostname="sink.example.test",
            **self._smtp_kwargs(),
            **extra,
        )
        controller.start()
        self._controller = controller
        return self

    def _smtp_kwargs(self) -> dict[str, Any]:
        """Settings passed through the Controller to aiosmtpd.smtp.SMTP."""
        return {
            "authenticator": self._authenticate,
            "auth_require_tls": False,
            "enable_SMTPUTF8": True,
            "auth_exclude_mechanism": [] if self.oauthbearer else ["OAUTHBEARER"],
        }

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Accept exactly the configured credentials."""
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        # auth_data is handed back so aiosmtpd stores it on the session (-> ReceivedMail.auth_login).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def stop(self) -> None:
        """Stop the server thread; safe to call twice."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def restart_later(self, down_seconds: float) -> None:
        """Stop now (clients see the connection refused); start again on the same port after `down_seconds`."""
        port = self.port
        self.stop()
        timer = threading.Timer(down_seconds, lambda: self.start(port))
        timer.daemon = True
        timer.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def oauth2_logins(self) -> list[tuple[str, str, str]]:
        """(mechanism, user, token) of every accepted OAuth2 login."""
        return list(getattr(self._handler, "logins", []))

    @property
    def received(self) -> list[ReceivedMail]:
        """Everything accepted so far (a copy)."""
        return self._handler.snapshot()

    def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedMail]:
        """Wait until at least count mails arrived and return them all.

        Raises AssertionError listing what did arrive, so a test failure says
        more than "timeout".
        """
        result = self._handler.wait_for(count, timeout)
        if result is None:
            arrived = self._handler.snapshot()
            summary = [(m.mail_from, m.rcpt_tos, m.message.get("Subject")) for m in arrived]
            raise AssertionError(f"expected {count} mail(s) within {timeout}s, got {len(arrived)}: {summary}")
        return result

    def clear(self) -> None:
        """Forget received mail and any pending fail_next."""
        self._handler.clear()

    def drop_on_data(self, marker: bytes) -> None:
        """From now on, cut the connection (no reply) after the DATA of every message whose raw bytes contain marker."""
        self._handler.drop_connection_on(marker)

    @property
    def drops(self) -> int:
        """How many connections drop_on_data cut."""
        return self._handler.drops

    def fail_next(self, n: int, code: int = 451, text: str = "try again later") -> None:
        """Answer the next n DATA commands with code (4xx temporary, 5xx permanent)."""
        if not 400 <= code <= 599:
            raise ValueError(f"fail_next needs a 4xx or 5xx code, not {code}")
        self._handler.script_failures(n, code, text)
