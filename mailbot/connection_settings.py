"""Settings of the connections: the mailbox (IMAP or Maildir), delivery (SMTP or Maildir) and the database."""

from __future__ import annotations

import ipaddress
import os
import ssl
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mailbot.auth.settings import OAuth2Settings, secret_problem
from mailbot.config_base import Section

TlsMode = Literal["implicit", "starttls", "none"]
AuthMode = Literal["password", "oauth2"]


class TlsClient(Section):
    """How to trust the server's certificate: the system CAs, plus a private CA file if given."""

    validate_certs: bool = True  # False only for a test server with a self-signed certificate
    tls_ca_file: Path | None = None  # PEM file of a private CA (or the server's self-signed certificate)

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.tls_ca_file) if self.tls_ca_file else None)
        if not self.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class Secret(Section):
    """Where a password comes from: an environment variable or a file (never the TOML itself)."""

    password_env: str | None = None
    password_file: Path | None = None

    def resolve_password(self) -> str | None:
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        if self.password_env:
            return os.environ.get(self.password_env)
        return None

    def secret_problem(self, key: str) -> str | None:
        """Why the password cannot be read (or is empty), or None when it can."""
        return secret_problem(f"{key}.password", self.password_env, self.password_file)


class Login(Secret):
    """How a connection logs in: a password (the default) or an OAuth2 access token from [<section>.oauth2]."""

    auth: AuthMode = "password"
    oauth2: OAuth2Settings | None = None

    @model_validator(mode="after")
    def _oauth2_section_iff_oauth2(self) -> "Login":
        if self.auth == "oauth2" and self.oauth2 is None:
            raise ValueError('auth = "oauth2" needs an [oauth2] section here (provider, flow, client_id, ...)')
        if self.auth == "password" and self.oauth2 is not None:
            raise ValueError('an [oauth2] section is only used with auth = "oauth2"')
        if self.auth == "oauth2" and (self.password_env or self.password_file):
            raise ValueError('password_env / password_file are not used with auth = "oauth2": remove them')
        return self



def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False



class DatabaseSettings(Secret):
    url: str = "sqlite:///mailbot.db"  # password_env / password_file: the PostgreSQL password, kept out of the URL
    # Messages handled in one transaction (each in a savepoint of its own): fewer commits when mail piles up.
    # A crash redoes at most this many; they are never lost or handled twice. 1: a commit per message.
    messages_per_commit: int = Field(default=20, ge=1, le=500)

    def with_password(self) -> "DatabaseSettings":
        """The URL with the secret's password in it, where one is configured and readable."""
        if self.secret_problem("database") is not None or not (password := self.resolve_password()):
            return self  # an unreadable secret is reported by runtime_problems
        from sqlalchemy.engine import make_url

        return self.model_copy(update={"url": make_url(self.url).set(password=password).render_as_string(hide_password=False)})


class ImapSource(Login, TlsClient):
    kind: Literal["imap"] = "imap"
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: TlsMode = "implicit"
    user: str
    folder: str = "INBOX"
    after_processing: Literal["seen", "move", "leave"] = "seen"
    move_to: str = "Processed"
    idle: bool = True
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    idle_renew_seconds: float = Field(default=300.0, gt=0, le=1740)  # RFC 2177: < 29 min; each renewal proves the server answers
    sweep_interval_seconds: float = Field(default=600.0, gt=0)
    fetch_batch_size: int = Field(default=100, ge=1, le=1000)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> "ImapSource":
        if self.tls == "none" and not is_loopback(self.host):
            raise ValueError(f"tls = \"none\" is only allowed for a loopback host, not {self.host!r}")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls == "implicit" else 143)


class MaildirSource(Section):
    kind: Literal["maildir"] = "maildir"
    path: Path
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    sweep_interval_seconds: float = Field(default=600.0, gt=0)


class SmtpDelivery(Login, TlsClient):
    kind: Literal["smtp"] = "smtp"
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: TlsMode = "starttls"
    user: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> "SmtpDelivery":
        if self.tls == "none" and not is_loopback(self.host):
            raise ValueError(f"tls = \"none\" is only allowed for a loopback host, not {self.host!r}")
        if self.auth == "oauth2" and not self.user:
            raise ValueError('auth = "oauth2" needs user (the mailbox the token is for)')
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"implicit": 465, "starttls": 587, "none": 25}[self.tls]


class MaildirDelivery(Section):
    kind: Literal["maildir"] = "maildir"
    path: Path
