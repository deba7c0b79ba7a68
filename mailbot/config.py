"""Configuration: one TOML file validated with pydantic; errors name the file, the key and the problem."""

from __future__ import annotations

import importlib.util
import os
import string
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mailbot.config_base import ConfigError, Language, Section, check_timezone  # noqa: F401 - ConfigError re-exported
from mailbot.config_presets import with_presets
from mailbot.connection_settings import (  # noqa: F401 - re-exported: the configuration's public names
    AuthMode,
    DatabaseSettings,
    ImapSource,
    Login,
    MaildirDelivery,
    MaildirSource,
    Secret,
    SmtpDelivery,
    TlsClient,
    TlsMode,
    is_loopback,
)
from mailbot.support_settings import (  # noqa: F401 - re-exported: the configuration's public names
    ALWAYS_OPEN,
    PRIORITY_SCHEMES,
    TICKET_TYPES,
    WEEKDAYS,
    CalendarSettings,
    CaseSettings,
    EngineerSettings,
    EscalationLevel,
    EscalationPerson,
    EscalationSettings,
    EscalationStep,
    PlanSettings,
    RoutingRule,
    SupportSections,
    SurveyAspect,
    TargetSettings,
    WarrantyOption,
    WarrantySettings,
    consistency_problems,
    parse_duration,
    parse_interval,
)

CONFIG_ENV_VAR = "MAILBOT_CONFIG"


class SupportSettings(Section):
    address: str = Field(description="the support mailbox customers write to")
    aliases: tuple[str, ...] = ()  # other addresses delivered into the same mailbox (e.g. soporte@)
    products: tuple[str, ...] = ()  # product names customers may mention; helps spot a missing product name
    display_name: str = "Support"
    case_prefix: str = Field(default="CASE", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    case_number_format: str = "{prefix}-{year}-{seq:05d}"
    message_id_domain: str | None = None
    default_language: Language = "es"
    default_timezone: str = "UTC"

    @field_validator("address")
    @classmethod
    def _address_has_at(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("must be an email address such as support@example.com")
        return value.strip().lower()

    @field_validator("aliases")
    @classmethod
    def _aliases_are_addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        bad = [value for value in values if "@" not in value]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return tuple(value.strip().lower() for value in values)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("case_number_format")
    @classmethod
    def _format_fields(cls, value: str) -> str:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if "seq" not in fields:
            raise ValueError("must contain {seq} so numbers are unique")
        unknown = fields - {"prefix", "year", "seq"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; allowed: prefix, year, seq")
        value.format(prefix="X", year=2026, seq=1)
        return value

    @property
    def id_domain(self) -> str:
        return (self.message_id_domain or self.address.rpartition("@")[2]).lower()


class OutboxSettings(Section):
    max_attempts: int = Field(default=20, ge=1)  # with the default backoff: about 17 hours of retries
    backoff_initial_seconds: float = Field(default=30.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)
    envelope_from: str | None = None  # SMTP MAIL FROM; defaults to the support address
    connections: int = Field(default=2, ge=1, le=10)  # SMTP sessions sending side by side (providers cap them)


class LimitSettings(Section):
    auto_replies_per_sender_per_hour: int = Field(default=5, ge=0)
    max_stored_attachment_bytes: int = Field(default=10_000_000, ge=0)
    max_message_bytes: int = Field(default=50_000_000, ge=100_000)  # larger mail: headers quarantined, body not fetched
    max_attachments_per_notice: int = Field(default=20, ge=0)  # files re-sent with one notice; the rest are named


class SecuritySettings(Section):
    # Whose boundary receives our mail: its known authserv-ids are trusted. "auto": read from source.host
    # (outlook.office365.com, imap.gmail.com); "none": only trusted_authserv_ids.
    provider: Literal["auto", "microsoft365", "google", "none"] = "auto"
    trusted_authserv_ids: tuple[str, ...] = ()  # RFC 8601 authserv-ids of our own receiving servers; `*` wildcards
    # The host names those servers give in Received lines ("by mx1.example.com"), `*` wildcards; default: the ids.
    # Results count only when added above the hop on which one of these took the message from outside.
    boundary_hosts: tuple[str, ...] = ()


class ServiceSettings(Section):
    """How `mailbot run` rides out trouble: a server that is down is retried quietly; one that refuses us is not."""

    reconnect_initial_seconds: float = Field(default=1.0, gt=0)
    reconnect_max_seconds: float = Field(default=5.0, gt=0)  # a mailbox that is down is tried at least this often
    refused_tries: int = Field(default=5, ge=1)  # refusals in a row (login, certificate, folder) before run exits 7
    refused_retry_seconds: float = Field(default=60.0, gt=0)  # time between those tries: ~4 minutes in all

    @model_validator(mode="after")
    def _initial_below_max(self) -> "ServiceSettings":
        if self.reconnect_initial_seconds > self.reconnect_max_seconds:
            raise ValueError("reconnect_initial_seconds must not exceed reconnect_max_seconds")
        return self


class HealthSettings(Section):
    """The HTTP endpoint of `mailbot run`: /healthz, /readyz and /metrics (Prometheus)."""

    enabled: bool = True
    listen: str = "127.0.0.1:9464"  # HOST:PORT, [IPv6]:PORT; 0.0.0.0 to be scraped from other machines
    ready_margin_seconds: float = Field(default=60.0, ge=0)  # slack on the mailbox's expected quiet time

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        split_listen_address(value)
        return value.strip()

    @property
    def address(self) -> tuple[str, int]:
        return split_listen_address(self.listen)


def split_listen_address(value: str) -> tuple[str, int]:
    """'127.0.0.1:9464' -> ('127.0.0.1', 9464); '[::1]:9464' -> ('::1', 9464)."""
    text = value.strip()
    if text.startswith("["):  # an IPv6 address has colons of its own: RFC 3986 puts it in brackets
        host, _bracket, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _colon, port = text.rpartition(":")
    if not host or not port or any(mark in host for mark in "[]") or (":" in host and not text.startswith("[")):
        raise ValueError(f"must be HOST:PORT such as 127.0.0.1:9464 (IPv6 in brackets: [::1]:9464), not {value!r}")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535, not {port!r}")
    return host, int(port)


class RetentionSettings(Section):
    """How long raw mail is kept; None keeps it forever (the default: purging cannot be undone)."""

    closed_case_raw_days: int | None = Field(default=None, ge=1)  # raw mail and file contents of cases closed this long ago
    quarantine_days: int | None = Field(default=None, ge=1)  # quarantine entries older than this are deleted
    purge_interval_seconds: float = Field(default=3600.0, gt=0)  # how often `mailbot run` purges (days matter, not minutes)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class TemplateSettings(Section):
    path: Path | None = None  # a folder that overrides the shipped templates, file by file


class Settings(Section):
    presets: tuple[str, ...] = ()  # shipped plan sets (config/presets/<name>.toml) or paths to such files
    support: SupportSettings
    database: DatabaseSettings = DatabaseSettings()
    source: Annotated[ImapSource | MaildirSource, Field(discriminator="kind")]
    delivery: Annotated[SmtpDelivery | MaildirDelivery, Field(discriminator="kind")]
    outbox: OutboxSettings = OutboxSettings()
    limits: LimitSettings = LimitSettings()
    security: SecuritySettings = SecuritySettings()
    plans: dict[str, PlanSettings] = Field(default_factory=dict)
    calendars: dict[str, CalendarSettings] = Field(default_factory=dict)
    engineers: tuple[EngineerSettings, ...] = ()
    routing: tuple[RoutingRule, ...] = ()
    cases: CaseSettings = CaseSettings()
    escalation: EscalationSettings = EscalationSettings()
    templates: TemplateSettings = TemplateSettings()
    service: ServiceSettings = ServiceSettings()
    health: HealthSettings = HealthSettings()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()


def config_path_from(cli_value: str | None) -> Path:
    chosen = cli_value or os.environ.get(CONFIG_ENV_VAR)
    if not chosen:
        raise ConfigError([f"no configuration: pass --config FILE or set {CONFIG_ENV_VAR}"])
    return Path(chosen)


def load_settings(path: Path) -> Settings:
    """Read and validate the TOML file; relative paths in it are taken relative to the file's folder."""
    return settings_from_data(read_config_data(path), path)


def read_config_data(path: Path) -> dict[str, object]:
    """The file as TOML data, with the named presets' plans and calendars merged in."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror or error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: not valid TOML: {error}"]) from None
    return with_presets(data, path)


def settings_from_data(data: dict[str, object], path: Path) -> Settings:
    """Validate; every key error and every consistency problem is reported together, not one stage at a time."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        # Cross-checks still run over the plans, steps and rules that are valid on their own.
        problems = [describe_error(path, item) for item in error.errors()]
        raise ConfigError(problems + [f"{path}: {problem}" for problem in consistency_problems(SupportSections.from_raw(data))]) from None
    problems = plan_problems(settings)
    if problems:
        raise ConfigError([f"{path}: {problem}" for problem in problems])
    return anchor_paths(settings, path.parent)


def plan_problems(settings: Settings) -> list[str]:
    """Consistency between plans, their priority scheme, the calendars, engineers, routing and escalation."""
    return consistency_problems(SupportSections(
        support_address=settings.support.address,
        plans=settings.plans,
        plan_names=frozenset(settings.plans),
        calendar_names=frozenset(settings.calendars),
        engineers=settings.engineers,
        team_names=frozenset(engineer.team for engineer in settings.engineers),
        routing=settings.routing,
        level_names=frozenset(settings.escalation.levels),
        steps=settings.escalation.steps,
    ))


def describe_error(path: Path, item: object) -> str:
    details = item if isinstance(item, dict) else {}
    location = ".".join(str(part) for part in details.get("loc", ()) if part not in ("imap", "maildir", "smtp"))
    message = str(details.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if details.get("type") == "extra_forbidden":
        message = "unknown key (misspelt?)"
    return f"{path}: {location or '(top level)'}: {message}"


def anchor_paths(settings: Settings, base: Path) -> Settings:
    """Make relative paths (Maildirs, secret files, SQLite file) relative to the config file's folder."""

    def anchored(value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else (base / value)

    updates: dict[str, object] = {}
    source = settings.source
    if isinstance(source, MaildirSource):
        updates["source"] = source.model_copy(update={"path": anchored(source.path)})
    else:
        updates["source"] = source.model_copy(update=anchored_login(source, base))
    delivery = settings.delivery
    if isinstance(delivery, MaildirDelivery):
        updates["delivery"] = delivery.model_copy(update={"path": anchored(delivery.path)})
    else:
        updates["delivery"] = delivery.model_copy(update=anchored_login(delivery, base))
    database = settings.database
    updates["database"] = database.model_copy(
        update={"url": anchor_sqlite_url(database.url, base), "password_file": anchored(database.password_file)}
    ).with_password()
    updates["templates"] = TemplateSettings(path=anchored(settings.templates.path))
    return settings.model_copy(update=updates)


def anchored_login(section: "ImapSource | SmtpDelivery", base: Path) -> dict[str, object]:
    """A connection's password, CA and OAuth2 secret/key files, relative to the config file's folder."""

    def anchored(value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else (base / value)

    return {
        "password_file": anchored(section.password_file),
        "tls_ca_file": anchored(section.tls_ca_file),
        "oauth2": section.oauth2.anchored(base) if section.oauth2 is not None else None,
    }


def anchor_sqlite_url(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    file_part = url[len(prefix):]
    if file_part.startswith("/"):
        return url
    return prefix + str((base / file_part).resolve())


def runtime_problems(settings: Settings, path: Path) -> list[str]:
    """Problems that only show against the environment: unreadable secrets, missing folders."""
    problems: list[str] = []
    source, delivery = settings.source, settings.delivery
    if isinstance(source, ImapSource) and source.oauth2 is not None:
        problems += [f"{path}: {problem}" for problem in source.oauth2.secret_problems("source.oauth2")]
    elif isinstance(source, ImapSource):
        missing = source.secret_problem("source")
        if missing or source.resolve_password() is None:
            problems.append(
                f"{path}: {missing or 'source: no password: set source.password_env or source.password_file'}"
            )
    if isinstance(delivery, SmtpDelivery) and delivery.oauth2 is not None:
        problems += [f"{path}: {problem}" for problem in delivery.oauth2.secret_problems("delivery.oauth2")]
    elif isinstance(delivery, SmtpDelivery) and delivery.user:
        missing = delivery.secret_problem("delivery")
        if missing or delivery.resolve_password() is None:
            problems.append(
                f"{path}: {missing or 'delivery: user is set but no password: set delivery.password_env or delivery.password_file'}"
            )
    if isinstance(source, MaildirSource) and source.path.exists() and not source.path.is_dir():
        problems.append(f"{path}: source.path: {source.path} is not a folder")
    folder = settings.templates.path
    if folder is not None and not folder.is_dir():
        problems.append(f"{path}: templates.path: {folder} is not an existing folder (create it, or remove the key for the shipped templates)")
    problem = database_url_problem(settings.database.url) or sqlite_folder_problem(settings.database.url)
    if problem:
        problems.append(f"{path}: database.url: {problem}")
    problem = settings.database.secret_problem("database")
    if problem:
        problems.append(f"{path}: {problem}")
    return problems


def sqlite_folder_problem(url: str) -> str | None:
    """SQLite creates the file but not its folder: a missing folder means the database can never be opened."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    folder = Path(parsed.database).parent
    return None if folder.is_dir() else f"folder {folder} of the SQLite file does not exist (create it, or fix the path)"


def database_url_problem(url: str) -> str | None:
    """SQLite and PostgreSQL (psycopg 3) are supported; say so before anything tries to connect."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as error:
        return f"unusable URL {url!r}: {error}"
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        return f"{parsed.get_backend_name()} is not supported; use sqlite:///FILE or postgresql+psycopg://..."
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        return "use the psycopg 3 driver: postgresql+psycopg://USER@HOST/DB"
    if parsed.get_backend_name() == "postgresql" and importlib.util.find_spec("psycopg") is None:
        return "PostgreSQL needs the postgres extra: pip install 'mailbot[postgres]'"
    return None
