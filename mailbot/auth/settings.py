"""The [source.oauth2] / [delivery.oauth2] sections: which provider, which flow, where its secrets are."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, model_validator

from mailbot.config_base import Section

Provider = Literal["microsoft", "google", "generic"]
Flow = Literal["client_credentials", "refresh_token", "service_account"]

MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"
GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"
# Exchange Online: app-only tokens ask for the resource's ".default" (the admin-consented application
# permissions IMAP.AccessAsApp / SMTP.SendAsApp); delegated tokens name the permissions themselves.
MICROSOFT_APP_SCOPES = ("https://outlook.office365.com/.default",)
MICROSOFT_DELEGATED_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
    "offline_access",
)
GOOGLE_MAIL_SCOPES = ("https://mail.google.com/",)  # the only scope Gmail accepts for IMAP and SMTP

FLOWS_OF: dict[str, tuple[str, ...]] = {
    "microsoft": ("client_credentials", "refresh_token"),
    "google": ("service_account", "refresh_token"),
    "generic": ("refresh_token",),
}


class OAuth2Settings(Section):
    """How the bot gets an access token for one connection (IMAP or SMTP)."""

    provider: Provider
    flow: Flow
    tenant_id: str | None = None  # Microsoft: the directory (tenant) ID or a verified domain
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    key_file: Path | None = None  # Google: the service account's JSON key
    token_endpoint: str | None = None  # generic: required; Google: replaces the default token URL
    authority: str | None = None  # Microsoft: replaces https://login.microsoftonline.com/<tenant_id>
    scopes: tuple[str, ...] = ()  # default: the provider's mail scopes for the flow
    tls_ca_file: Path | None = None  # PEM file of a private CA for the token endpoint
    renew_before_seconds: float = Field(default=300.0, ge=0, le=3000)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _complete_for_its_flow(self) -> "OAuth2Settings":
        problems = flow_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def effective_scopes(self) -> tuple[str, ...]:
        if self.scopes:
            return self.scopes
        if self.provider == "google":
            return GOOGLE_MAIL_SCOPES
        if self.provider == "microsoft":
            return MICROSOFT_APP_SCOPES if self.flow == "client_credentials" else MICROSOFT_DELEGATED_SCOPES
        return ()

    @property
    def effective_authority(self) -> str:
        return self.authority or f"{MICROSOFT_AUTHORITY_HOST}/{self.tenant_id}"

    @property
    def effective_token_endpoint(self) -> str:
        return self.token_endpoint or GOOGLE_TOKEN_ENDPOINT

    @property
    def label(self) -> str:
        """How errors name this token source: "OAuth2 microsoft"."""
        return f"OAuth2 {self.provider}"

    def client_secret(self) -> str | None:
        return read_secret(self.client_secret_env, self.client_secret_file)

    def refresh_token(self) -> str | None:
        return read_secret(self.refresh_token_env, self.refresh_token_file)

    def secret_problems(self, key: str) -> list[str]:
        """Every secret this flow needs that is missing or empty, named by its key (e.g. source.oauth2.key_file)."""
        problems: list[str] = []
        for name, env, file in self._secret_sources():
            problem = secret_problem(f"{key}.{name}", env, file)
            if problem:
                problems.append(problem)
        if self.key_file is not None:
            problem = secret_problem(f"{key}.key", None, self.key_file)  # reported as <key>.key_file
            if problem:
                problems.append(problem)
        return problems

    def _secret_sources(self) -> list[tuple[str, str | None, Path | None]]:
        sources: list[tuple[str, str | None, Path | None]] = []
        if self.client_secret_env or self.client_secret_file:
            sources.append(("client_secret", self.client_secret_env, self.client_secret_file))
        if self.flow == "refresh_token":
            sources.append(("refresh_token", self.refresh_token_env, self.refresh_token_file))
        return sources

    def anchored(self, base: Path) -> "OAuth2Settings":
        """Relative secret, key and CA file paths taken relative to the config file's folder."""

        def anchor(value: Path | None) -> Path | None:
            return value if value is None or value.is_absolute() else base / value

        return self.model_copy(update={
            "client_secret_file": anchor(self.client_secret_file),
            "refresh_token_file": anchor(self.refresh_token_file),
            "key_file": anchor(self.key_file),
            "tls_ca_file": anchor(self.tls_ca_file),
        })


def flow_problems(settings: OAuth2Settings) -> list[str]:
    """What this provider/flow combination lacks or does not allow, each naming its key."""
    if settings.flow not in FLOWS_OF[settings.provider]:
        allowed = ", ".join(f'"{flow}"' for flow in FLOWS_OF[settings.provider])
        return [f"flow: {settings.provider} supports {allowed}, not \"{settings.flow}\""]
    problems = [f"{key}: required for provider = \"{settings.provider}\", flow = \"{settings.flow}\""
                for key in _required_keys(settings) if not getattr(settings, key)]
    if settings.flow == "refresh_token" and not (settings.refresh_token_env or settings.refresh_token_file):
        problems.append("refresh_token_env or refresh_token_file: required for flow = \"refresh_token\"")
    if _needs_client_secret(settings) and not (settings.client_secret_env or settings.client_secret_file):
        problems.append(f"client_secret_env or client_secret_file: required for provider = \"{settings.provider}\", "
                        f"flow = \"{settings.flow}\"")
    for key in ("token_endpoint", "authority"):
        problem = _url_problem(getattr(settings, key))
        if problem:
            problems.append(f"{key}: {problem}")
    return problems


def _required_keys(settings: OAuth2Settings) -> tuple[str, ...]:
    if settings.provider == "microsoft":
        return ("client_id",) + (() if settings.authority else ("tenant_id",))
    if settings.flow == "service_account":
        return ("key_file",)
    if settings.provider == "generic":
        return ("client_id", "token_endpoint")
    return ("client_id",)


def _needs_client_secret(settings: OAuth2Settings) -> bool:
    # Microsoft's delegated flow may use a public client (no secret); Google's installed-app clients still
    # have one; a generic provider decides for itself.
    return (settings.provider, settings.flow) in {("microsoft", "client_credentials"), ("google", "refresh_token")}


def _url_problem(url: str | None) -> str | None:
    """Tokens travel over this URL: https, or plain http only on a loopback host (a local test server)."""
    if url is None:
        return None
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return None
    if parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1"):
        return None
    return f"must be an https:// URL (http:// only on a loopback host), not {url!r}"


def read_secret(env: str | None, file: Path | None) -> str | None:
    """A secret from its file (first line, stripped) or environment variable; None when neither gives one."""
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return value or None
    if env:
        return os.environ.get(env, "").strip() or None
    return None


def secret_problem(key: str, env: str | None, file: Path | None) -> str | None:
    """Why the secret under `key` cannot be used (missing or empty), or None when it can."""
    if file is not None:
        if not file.is_file():
            return f"{key}_file: {file} does not exist or is not a file"
        try:
            empty = not file.read_text(encoding="utf-8").strip()
        except OSError as error:
            return f"{key}_file: {file} cannot be read: {error.strerror or error}"
        return f"{key}_file: {file} is empty" if empty else None
    if env:
        if env not in os.environ:
            return f"{key}_env: environment variable {env} is not set"
        if not os.environ[env].strip():
            return f"{key}_env: environment variable {env} is empty"
    return None
