"""A small OAuth2 authorization server on loopback: token endpoint, RFC 7662 introspection, OpenID discovery.

It answers the refresh-token grant, client credentials, and the JWT-bearer grant (RFC 7523) that Google
service accounts use, checking the assertion's RS256 signature against the key the test registered. It
issues short-lived tokens, can revoke refresh tokens, fail with 503, and records every grant, so tests
watch expiry, renewal and refusals against real HTTP. Dovecot's oauth2 passdb and the SMTP sink check
tokens through the introspection endpoint.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.dovecot import LOOPBACK
from tests.support.tls import Certificate

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TENANT = "tenant-0001"


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None
    scopes: frozenset[str]  # what this client may be granted
    mailbox: str | None = None  # app-only access: the one mailbox it was given (Exchange's mailbox permission)
    lifetime_seconds: float | None = None  # of its access tokens; None: the server's


@dataclass(frozen=True)
class Grant:
    """One answered token request, as the tests inspect it."""

    grant_type: str
    client_id: str
    subject: str
    scopes: tuple[str, ...]
    error: str | None = None


@dataclass
class Issued:
    subject: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class Authority:
    """The server's state; every method is safe to call from the HTTP threads and the test at once."""

    lifetime_seconds: float = 3600.0
    clients: dict[str, Client] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (client_id, subject)
    service_accounts: dict[str, tuple[rsa.RSAPublicKey, str]] = field(default_factory=dict)  # email -> (key, client)
    access_tokens: dict[str, Issued] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    unavailable_for: int = 0  # answer this many token requests with 503
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_client(self, client_id: str, secret: str | None, scopes: set[str], mailbox: str | None = None,
                   lifetime_seconds: float | None = None) -> None:
        with self.lock:
            self.clients[client_id] = Client(client_id, secret, frozenset(scopes), mailbox, lifetime_seconds)

    def issue_refresh_token(self, client_id: str, subject: str) -> str:
        token = "rt-" + secrets.token_urlsafe(16)
        with self.lock:
            self.refresh_tokens[token] = (client_id, subject)
        return token

    def revoke(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens.pop(refresh_token, None)

    def add_service_account(self, email: str, client_id: str, scopes: set[str]) -> bytes:
        """Register a service account; returns its private key (PEM) for the test's JSON key file."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self.lock:
            self.service_accounts[email] = (key.public_key(), client_id)
            self.clients[client_id] = Client(client_id, None, frozenset(scopes))
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 §2.2: active with username/scope/exp, or just active=false."""
        with self.lock:
            issued = self.access_tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            return {"active": False}
        return {"active": True, "username": issued.subject, "scope": " ".join(issued.scopes),
                "exp": int(issued.expires_at), "token_type": "Bearer"}

    def successful_grants(self) -> list[Grant]:
        with self.lock:
            return [grant for grant in self.grants if grant.error is None]

    # -- the token endpoint -------------------------------------------------------------------------

    def answer_token_request(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.unavailable_for > 0:
                self.unavailable_for -= 1
                return 503, {"error": "temporarily_unavailable"}
        grant_type = form.get("grant_type", "")
        try:
            client_id, subject, requested = self._authorize(grant_type, form, basic)
            scopes = self._granted_scopes(client_id, requested)
        except OAuthError as error:
            self._record(Grant(grant_type, form.get("client_id", ""), "", (), error.error))
            return 400, {"error": error.error, "error_description": error.description}
        return 200, self._issue(Grant(grant_type, client_id, subject, scopes))

    def _authorize(
        self, grant_type: str, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[str, str, str]:
        """(client_id, subject, requested scopes) for a valid request, else OAuthError as RFC 6749 §5.2 names it."""
        if grant_type == JWT_BEARER:
            return self._check_assertion(form.get("assertion", ""))
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret"))
        client = self.clients.get(client_id)
        if client is None or (client.secret is not None and client.secret != secret):
            raise OAuthError("invalid_client", f"AADSTS7000215: Invalid client secret provided for {client_id!r}.")
        if grant_type == "client_credentials":
            return client_id, client.mailbox or client_id, form.get("scope", "")
        if grant_type == "refresh_token":
            owner = self.refresh_tokens.get(form.get("refresh_token", ""))
            if owner is None or owner[0] != client_id:
                raise OAuthError("invalid_grant", "AADSTS70000: The refresh token has been revoked or has expired.")
            return client_id, owner[1], form.get("scope", "")
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def _granted_scopes(self, client_id: str, requested: str) -> tuple[str, ...]:
        allowed = self.clients[client_id].scopes
        scopes = tuple(scope for scope in requested.split() if scope not in ("openid", "profile", "offline_access"))
        refused = [scope for scope in scopes if scope not in allowed]
        if refused:
            raise OAuthError("invalid_scope", f"The requested scope is not granted to this client: {' '.join(refused)}")
        return scopes

    def _check_assertion(self, assertion: str) -> tuple[str, str, str]:
        """RFC 7523 §3: a JWT signed by the service account's key, with iss, sub, scope, exp."""
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            claims = json.loads(_b64url(claims_b64))
            account = self.service_accounts[claims["iss"]]
            account[0].verify(_b64url(signature_b64), f"{header_b64}.{claims_b64}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, InvalidSignature) as error:
            raise OAuthError("invalid_grant", f"Invalid JWT Signature. ({type(error).__name__})") from None
        if float(claims.get("exp", 0)) < time.time():
            raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token")
        return account[1], str(claims.get("sub") or claims["iss"]), str(claims.get("scope", ""))

    def _issue(self, grant: Grant) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(24)
        lifetime = self.clients[grant.client_id].lifetime_seconds or self.lifetime_seconds
        with self.lock:
            self.access_tokens[token] = Issued(grant.subject, grant.scopes, time.time() + lifetime)
        self._record(grant)
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(grant.scopes)}

    def _record(self, grant: Grant) -> None:
        with self.lock:
            self.grants.append(grant)


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.endswith("/v2.0/.well-known/openid-configuration"):
            base = self.server.base_url + self.path.removesuffix("/v2.0/.well-known/openid-configuration")
            self._reply(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                              "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                              "issuer": f"{base}/v2.0"})
            return
        self._reply(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        authority = self.server.authority
        if self.path == "/introspect":
            self._reply(200, authority.introspect(form.get("token", "")))
        elif self.path.endswith("/token"):
            self._reply(*authority.answer_token_request(form, self._basic_credentials()))
        else:
            self._reply(404, {"error": "not_found"})

    def _basic_credentials(self) -> tuple[str, str] | None:
        """RFC 6749 §2.3.1: client_id:client_secret in HTTP Basic (MSAL sends them so)."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: pytest shows failures
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, authority: Authority, base_scheme: str) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.authority = authority
        self.base_url = f"{base_scheme}://{LOOPBACK}:{self.server_address[1]}"


class TokenServer:
    """Plain HTTP on loopback (Dovecot's introspection, generic and Google grants), plus HTTPS when given a
    certificate (MSAL accepts only https authorities). Both listeners share one Authority."""

    def __init__(self, tls: Certificate | None = None, lifetime_seconds: float = 3600.0) -> None:
        self.authority = Authority(lifetime_seconds=lifetime_seconds)
        self._tls = tls
        self._servers: list[_Server] = []

    def start(self) -> Self:
        self._servers.append(self._serve("http"))
        if self._tls is not None:
            https = self._serve("https")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self._tls.cert), str(self._tls.key))
            https.socket = context.wrap_socket(https.socket, server_side=True)
            self._servers.append(https)
        return self

    def _serve(self, scheme: str) -> _Server:
        server = _Server(self.authority, scheme)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._servers[0].base_url

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def microsoft_authority(self) -> str:
        """An https authority MSAL accepts: https://127.0.0.1:PORT/<tenant>."""
        if len(self._servers) < 2:
            raise RuntimeError("start the TokenServer with a certificate for an https authority")
        return f"{self._servers[1].base_url}/{TENANT}"

    def introspect_over_http(self, token: str) -> dict[str, Any]:
        """What a mail server learns about a token: an RFC 7662 POST to the introspection endpoint."""
        data = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(self.introspection_url, data=data, timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return result
