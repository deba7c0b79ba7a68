"""OAuth2 access tokens: fetched from the provider, cached, and renewed a while before they expire.

Refusals (a revoked refresh token, a refused client, a scope not granted) raise ServerRefused with the
provider's own error_description: waiting does not help. A token endpoint that is down raises
AuthUnavailable, a ConnectionError, so each adapter's ordinary "server is down" handling retries it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import requests

from mailbot.auth.settings import OAuth2Settings
from mailbot.clock import Clock
from mailbot.errors import ServerRefused

DEFAULT_LIFETIME = timedelta(hours=1)  # when a token response has no expires_in (RFC 6749 §5.1 makes it optional)
TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})  # RFC 6749 §4.1.2.1
HINTS = {
    "invalid_grant": "the refresh token (or the service account's delegation) was revoked, expired or never granted: "
                     "obtain a new one or re-grant access, then update the secret",
    "invalid_client": "check client_id and the client secret (it may have expired)",
    "unauthorized_client": "the application is not allowed this grant or these scopes: check the app registration, "
                           "its API permissions / domain-wide delegation and the admin consent",
    "invalid_scope": "check the configured scopes and that they are granted to the application (admin consent)",
    "access_denied": "the account or its administrator has not consented to this application",
}


class AuthUnavailable(ConnectionError):
    """The token endpoint, or the mail server's own authentication backend, is down for now: retry later."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: datetime


class TokenSource(Protocol):
    """One way of getting a brand-new access token from a provider (no caching)."""

    def fetch(self, now: datetime) -> AccessToken: ...


class TokenProvider(Protocol):
    def token(self) -> AccessToken:
        """A token valid for a while yet: the cached one, or a new one when it is due for renewal."""
        ...

    def renew_at(self, token: AccessToken) -> datetime:
        """When `token` is due for renewal."""
        ...

    def forget(self) -> None:
        """Drop the cached token (a server refused it): the next call fetches a new one."""
        ...


@dataclass(frozen=True, slots=True)
class _Cached:
    token: AccessToken
    renew_at: datetime


class CachedTokenProvider:
    """Keeps one token per connection and asks its source for a new one `renew_before` ahead of expiry.

    A token shorter-lived than twice `renew_before` is renewed at half its life, so a short-lived token is
    still used at least once before it is replaced.
    """

    def __init__(self, source: TokenSource, clock: Clock, renew_before: timedelta) -> None:
        self._source = source
        self._clock = clock
        self._renew_before = renew_before
        self._cached: _Cached | None = None
        self._lock = threading.Lock()  # IMAP (main loop) and SMTP (scheduler thread) may ask at once

    def token(self) -> AccessToken:
        with self._lock:
            now = self._clock.now()
            if self._cached is None or now >= self._cached.renew_at:
                token = self._source.fetch(now)
                margin = min(self._renew_before, max(token.expires_at - now, timedelta(0)) / 2)
                self._cached = _Cached(token, token.expires_at - margin)
            return self._cached.token

    def renew_at(self, token: AccessToken) -> datetime:
        cached = self._cached
        if cached is not None and cached.token == token:
            return cached.renew_at
        return token.expires_at - self._renew_before

    def forget(self) -> None:
        with self._lock:
            self._cached = None


def token_from_response(body: Mapping[str, Any], now: datetime, label: str) -> AccessToken:
    """RFC 6749 §5.1: access_token and (optionally) expires_in seconds from now."""
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        raise ServerRefused(label, f"token response has no access_token: {sorted(body)}")
    try:
        lifetime = timedelta(seconds=float(body["expires_in"]))
    except (KeyError, TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return AccessToken(value, now + lifetime)


def refusal(label: str, body: Mapping[str, Any], fallback: str = "") -> ServerRefused | AuthUnavailable:
    """RFC 6749 §5.2 error response -> the exception to raise, with the provider's error_description."""
    error = str(body.get("error") or "error")
    description = str(body.get("error_description") or fallback).strip()
    reason = f"{error}: {description}" if description else error
    if error in TRANSIENT_ERRORS:
        return AuthUnavailable(f"{label}: {reason}")
    return ServerRefused(label, reason, HINTS.get(error, "check the OAuth2 settings of this connection"))


class TokenEndpointSession(requests.Session):
    """A requests session with a default timeout (MSAL and google-auth do not always pass one) and CA file.

    The CA file is passed per request because requests lets REQUESTS_CA_BUNDLE override a session's own
    `verify`, which would silently ignore the configured tls_ca_file.
    """

    def __init__(self, timeout_seconds: float, ca_file: str | None) -> None:
        super().__init__()
        self._timeout_seconds = timeout_seconds
        self._ca_file = ca_file

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_seconds)
        if self._ca_file:
            kwargs.setdefault("verify", self._ca_file)
        return super().request(method, url, *args, **kwargs)


def http_session(settings: OAuth2Settings) -> requests.Session:
    """The HTTP client for one token endpoint; a private CA replaces the system's when configured."""
    return TokenEndpointSession(settings.timeout_seconds, str(settings.tls_ca_file) if settings.tls_ca_file else None)


def unreachable(label: str, what: str, error: Exception) -> ServerRefused | AuthUnavailable:
    """An HTTP failure: an untrusted certificate is a refusal (waiting will not help), anything else an outage."""
    if isinstance(error, requests.exceptions.SSLError):
        return ServerRefused(label, f"{what}: TLS failed: {error}", "trust its CA with oauth2.tls_ca_file")
    return AuthUnavailable(f"{label}: {what} unreachable: {error}")


class RefreshTokenGrant:
    """RFC 6749 §6: a refresh token for an access token (generic providers, and Google's installed-app flow).

    A rotated refresh token in the answer replaces the old one for the rest of the process's life.
    """

    def __init__(self, settings: OAuth2Settings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._refresh_token = settings.refresh_token()

    def fetch(self, now: datetime) -> AccessToken:
        s = self._settings
        if not self._refresh_token:
            raise ServerRefused(s.label, "no refresh token", "set oauth2.refresh_token_env or oauth2.refresh_token_file")
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token, "client_id": s.client_id or ""}
        secret = s.client_secret()
        if secret:
            form["client_secret"] = secret
        if s.effective_scopes:
            form["scope"] = " ".join(s.effective_scopes)
        body = post_token_request(self._session, s.effective_token_endpoint, form, s)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
        return token_from_response(body, now, s.label)


def post_token_request(
    session: requests.Session, url: str, form: Mapping[str, str], settings: OAuth2Settings
) -> Mapping[str, Any]:
    """POST a token request; an answer with an access token, or the right exception."""
    try:
        response = session.post(url, data=dict(form), headers={"Accept": "application/json"})
    except requests.RequestException as error:
        raise unreachable(settings.label, f"token endpoint {url}", error) from error
    if response.status_code >= 500 or response.status_code == 429:
        raise AuthUnavailable(f"{settings.label}: token endpoint {url} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ServerRefused(settings.label, f"HTTP {response.status_code} from {url}: {response.text[:200]!r}",
                            "is token_endpoint the provider's token URL?")
    if "error" in body or response.status_code >= 400:
        raise refusal(settings.label, body, f"HTTP {response.status_code}")
    return body


def build_token_provider(settings: OAuth2Settings, user: str, clock: Clock) -> CachedTokenProvider:
    """The token provider for one connection; `user` is the mailbox (Google: the user impersonated)."""
    session = http_session(settings)
    source: TokenSource
    if settings.provider == "microsoft":
        from mailbot.auth.vendors import MsalClientCredentials, MsalRefreshToken

        source = (MsalClientCredentials(settings, session) if settings.flow == "client_credentials"
                  else MsalRefreshToken(settings, session))
    elif settings.flow == "service_account":
        from mailbot.auth.vendors import GoogleServiceAccount

        source = GoogleServiceAccount(settings, session, user)
    else:
        source = RefreshTokenGrant(settings, session)
    return CachedTokenProvider(source, clock, timedelta(seconds=settings.renew_before_seconds))
