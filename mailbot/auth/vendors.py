"""Token sources that use the providers' own libraries: MSAL for Microsoft 365, google-auth for a Google service account.

Both libraries are imported only here, and this module only when such a flow is configured.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import requests

from mailbot.auth.settings import OAuth2Settings
from mailbot.auth.tokens import AccessToken, AuthUnavailable, refusal, token_from_response, unreachable
from mailbot.errors import ServerRefused

MSAL_RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})  # MSAL adds these itself and refuses them


class _Msal:
    """An MSAL application made on first use (making it fetches the authority's OpenID configuration)."""

    def __init__(self, settings: OAuth2Settings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._application: Any = None

    def _app(self, confidential: bool) -> Any:
        if self._application is None:
            self._application = self._make_app(confidential)
        return self._application

    def _make_app(self, confidential: bool) -> Any:
        import msal

        s = self._settings
        options: dict[str, Any] = {
            "authority": s.effective_authority,
            "http_client": self._session,
            # Instance discovery asks login.microsoftonline.com about the authority's host; the OpenID
            # configuration fetched from the authority itself is check enough (and works for sovereign clouds).
            "instance_discovery": False,
        }
        try:
            if confidential:
                return msal.ConfidentialClientApplication(s.client_id, client_credential=s.client_secret(), **options)
            return msal.PublicClientApplication(s.client_id, **options)
        except requests.RequestException as error:
            raise unreachable(s.label, f"authority {s.effective_authority}", error) from error
        except ValueError as error:  # MSAL's word for "no such tenant / authority"
            raise ServerRefused(s.label, str(error), "check tenant_id (or authority)") from error

    def _token(self, result: Any, now: datetime) -> AccessToken:
        if not isinstance(result, dict):
            raise ServerRefused(self._settings.label, f"MSAL returned {result!r}")
        if "access_token" not in result:
            raise refusal(self._settings.label, result)
        return token_from_response(result, now, self._settings.label)

    def _scopes(self) -> list[str]:
        return [scope for scope in self._settings.effective_scopes if scope not in MSAL_RESERVED_SCOPES]

    def _call(self, operation: Any) -> Any:
        try:
            return operation()
        except requests.RequestException as error:
            raise unreachable(self._settings.label, "token endpoint", error) from error


class MsalClientCredentials(_Msal):
    """App-only access (client credentials): the app registration's own permission to a shared mailbox."""

    def fetch(self, now: datetime) -> AccessToken:
        app = self._app(confidential=True)
        # Our cache decides when to renew; MSAL's would hand back the token we are replacing.
        app.remove_tokens_for_client()
        return self._token(self._call(lambda: app.acquire_token_for_client(scopes=self._scopes())), now)


class MsalRefreshToken(_Msal):
    """Delegated access: a refresh token a user obtained once (see the README); rotated tokens are kept in memory."""

    def __init__(self, settings: OAuth2Settings, session: requests.Session) -> None:
        super().__init__(settings, session)
        self._refresh_token = settings.refresh_token()

    def fetch(self, now: datetime) -> AccessToken:
        if not self._refresh_token:
            raise ServerRefused(self._settings.label, "no refresh token",
                                "set oauth2.refresh_token_env or oauth2.refresh_token_file")
        app = self._app(confidential=self._settings.client_secret() is not None)
        refresh_token = self._refresh_token
        result = self._call(lambda: app.acquire_token_by_refresh_token(refresh_token, scopes=self._scopes()))
        token = self._token(result, now)
        rotated = result.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
        return token


class GoogleServiceAccount:
    """A service account with domain-wide delegation, impersonating the mailbox's user (RFC 7523 JWT bearer grant)."""

    def __init__(self, settings: OAuth2Settings, session: requests.Session, user: str) -> None:
        self._settings = settings
        self._session = session
        self._user = user

    def fetch(self, now: datetime) -> AccessToken:
        from google.auth import exceptions
        from google.auth.transport.requests import Request

        credentials = self._credentials()
        try:
            credentials.refresh(Request(session=self._session))
        except exceptions.RefreshError as error:
            raise self._refused(error) from error
        except exceptions.TransportError as error:
            raise AuthUnavailable(f"{self._settings.label}: token endpoint unreachable: {error}") from error
        expiry = credentials.expiry  # google-auth keeps naive UTC
        expires_at = expiry.replace(tzinfo=timezone.utc) if expiry is not None else now
        return AccessToken(credentials.token, expires_at)

    def _credentials(self) -> Any:
        from google.oauth2 import service_account

        s = self._settings
        assert s.key_file is not None  # the settings validator requires it for this flow
        try:
            info = json.loads(s.key_file.read_text(encoding="utf-8"))
            if s.token_endpoint:
                info["token_uri"] = s.token_endpoint
            return service_account.Credentials.from_service_account_info(
                info, scopes=list(s.effective_scopes), subject=self._user
            )
        except (OSError, ValueError, KeyError) as error:
            raise ServerRefused(s.label, f"service account key {s.key_file} unusable: {error}",
                                "key_file must be the JSON key downloaded for the service account") from error

    def _refused(self, error: Exception) -> ServerRefused | AuthUnavailable:
        if getattr(error, "retryable", False):
            return AuthUnavailable(f"{self._settings.label}: {error}")
        details = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
        if "error" in details:
            return refusal(self._settings.label, details)
        return ServerRefused(self._settings.label, str(error.args[0] if error.args else error),
                             "check the service account's domain-wide delegation and scopes in the Admin console")
