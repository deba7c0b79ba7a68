"""How one connection logs in: a password, or an OAuth2 token over SASL; the same object serves IMAP and SMTP."""

from __future__ import annotations

import asyncio
import base64
import imaplib
from collections.abc import Callable
from datetime import datetime
from typing import Literal, Protocol

import aiosmtplib
from imapclient import IMAPClient

from mailbot.auth.sasl import (
    Mechanism,
    decode_challenge,
    describe_error_challenge,
    error_challenge_reply,
    initial_response,
)
from mailbot.auth.settings import OAuth2Settings
from mailbot.auth.tokens import AccessToken, AuthUnavailable, TokenProvider, build_token_provider
from mailbot.clock import Clock, SystemClock
from mailbot.errors import ServerRefused, decoded

SMTP_AUTH_OK, SMTP_AUTH_CONTINUE = 235, 334
REFUSED_HINT = "the server refused the token: check that the mailbox user matches the token's account and " \
               "that the application has access to this mailbox (and the right scopes)"


class Credentials(Protocol):
    def login_imap(self, client: IMAPClient) -> None: ...

    async def login_smtp(self, client: aiosmtplib.SMTP) -> None: ...

    def renew_by(self) -> datetime | None:
        """When the current login's token must be renewed (log in again); None for passwords."""
        ...


class ConnectionSettings(Protocol):
    """What an [source] or [delivery] section says about logging in (mailbot.config's ImapSource, SmtpDelivery)."""

    @property
    def auth(self) -> Literal["password", "oauth2"]: ...

    @property
    def user(self) -> str | None: ...

    @property
    def oauth2(self) -> OAuth2Settings | None: ...

    @property
    def host(self) -> str: ...

    @property
    def effective_port(self) -> int: ...

    def resolve_password(self) -> str | None: ...


class PasswordCredentials:
    """LOGIN (IMAP) and AUTH PLAIN/LOGIN (SMTP, only when a user is configured)."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self._user = user
        self._password = password

    def login_imap(self, client: IMAPClient) -> None:
        client.login(self._user or "", self._password or "")

    async def login_smtp(self, client: aiosmtplib.SMTP) -> None:
        if self._user:
            await client.login(self._user, self._password or "")

    def renew_by(self) -> datetime | None:
        return None


class OAuth2Credentials:
    """SASL OAUTHBEARER where the server offers it (RFC 7628), else XOAUTH2 (Google's and Microsoft's)."""

    def __init__(self, user: str, host: str, port: int, tokens: TokenProvider) -> None:
        self._user = user
        self._host = host
        self._port = port
        self._tokens = tokens
        self._login_token: AccessToken | None = None

    def renew_by(self) -> datetime | None:
        return self._tokens.renew_at(self._login_token) if self._login_token is not None else None

    # -- IMAP ---------------------------------------------------------------------------------------

    def login_imap(self, client: IMAPClient) -> None:
        server = f"IMAP {self._host}:{self._port}"
        mechanism = _offered_mechanism(lambda name: bool(client.has_capability(f"AUTH={name}")), server)
        token = self._tokens.token()
        exchange = _ImapExchange(initial_response(mechanism, self._user, token.value, self._host, self._port), mechanism)
        try:
            # IMAPClient.oauth2_login answers the server's error challenge with the token again; imaplib's
            # authenticate lets us answer it as RFC 7628 §3.2.3 / Google's XOAUTH2 documentation say.
            client._imap.authenticate(mechanism, exchange)  # noqa: SLF001 - IMAPClient has no public SASL hook
        except imaplib.IMAP4.abort:
            raise  # the connection dropped: the source treats it as "server down"
        except imaplib.IMAP4.error as error:
            raise self._imap_refusal(server, decoded(error), exchange.error) from error
        self._login_token = token

    def _imap_refusal(self, server: str, reply: str, error_challenge: str) -> Exception:
        # RFC 5530 [UNAVAILABLE]: the server's authentication backend (here its token check) is down.
        if "[UNAVAILABLE]" in reply.upper():
            return AuthUnavailable(f"{server}: {reply}")
        self._tokens.forget()  # a fresh token for the next try, in case this one was revoked meanwhile
        reason = reply + (f" (server said: {error_challenge})" if error_challenge else "")
        return ServerRefused(server, reason, REFUSED_HINT)

    # -- SMTP ---------------------------------------------------------------------------------------

    async def login_smtp(self, client: aiosmtplib.SMTP) -> None:
        server = f"SMTP {self._host}:{self._port}"
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        offered = {method.upper() for method in client.server_auth_methods}
        mechanism = _offered_mechanism(lambda name: name in offered, server)
        token = await asyncio.to_thread(self._tokens.token)  # HTTP to the token endpoint: off the event loop
        first = initial_response(mechanism, self._user, token.value, self._host, self._port)
        # SASL-IR (RFC 4954 §4): the initial response goes with the AUTH command, as Google's docs show.
        response = await client.execute_command(b"AUTH", mechanism.encode(), base64.b64encode(first))
        error_challenge = ""
        if response.code == SMTP_AUTH_CONTINUE:
            error_challenge = describe_error_challenge(decode_challenge(response.message))
            response = await client.execute_command(base64.b64encode(error_challenge_reply(mechanism)))
        if response.code == SMTP_AUTH_OK:
            self._login_token = token
            return
        if 400 <= response.code < 500:
            # e.g. 454 (RFC 4954): temporary; the transport retries such codes like a password login's
            raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)
        self._tokens.forget()
        reason = f"{response.code} {response.message}" + (f" (server said: {error_challenge})" if error_challenge else "")
        raise ServerRefused(server, reason, REFUSED_HINT)


class _ImapExchange:
    """imaplib's authobject: the initial response first, then the reply to an error challenge (kept for the report)."""

    def __init__(self, first: bytes, mechanism: Mechanism) -> None:
        self._first: bytes | None = first
        self._mechanism = mechanism
        self.error = ""

    def __call__(self, challenge: bytes) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        self.error = describe_error_challenge(challenge)
        return error_challenge_reply(self._mechanism)


def _offered_mechanism(offers: Callable[[str], bool], server: str) -> Mechanism:
    if offers("OAUTHBEARER"):
        return "OAUTHBEARER"
    if offers("XOAUTH2"):
        return "XOAUTH2"
    raise ServerRefused(server, "the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2",
                        "use auth = \"password\" for this server, or check host and port")


def build_credentials(connection: ConnectionSettings, clock: Clock | None = None) -> Credentials:
    """The credentials of one [source] or [delivery] section; no network traffic until the first login."""
    if connection.auth == "password" or connection.oauth2 is None:
        return PasswordCredentials(connection.user, connection.resolve_password() if connection.user else None)
    user = connection.user or ""
    tokens = build_token_provider(connection.oauth2, user, clock or SystemClock())
    return OAuth2Credentials(user, connection.host, connection.effective_port, tokens)
