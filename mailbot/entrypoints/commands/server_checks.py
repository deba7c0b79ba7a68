"""`check-config --connect`: log in to each configured server the way the service does; one line of findings each."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from mailbot.config import DatabaseSettings, ImapSource, Settings, SmtpDelivery, database_url_problem, sqlite_folder_problem
from mailbot.db.engine import build_engine
from mailbot.db.migrate import current_revision, head_revision, known_revisions
from mailbot.delivery.outbox import build_transport
from mailbot.delivery.transports import SmtpTransport, SubmissionProbe
from mailbot.errors import FolderMissing, LoginRefused, ServerRefused, causes, decoded
from mailbot.sources.factory import build_source
from mailbot.sources.imap import ImapMailSource, MailboxProbe

TLS_LABELS = {"implicit": "implicit TLS", "starttls": "STARTTLS", "none": "no TLS"}
USUAL_PORTS = {"source": "implicit TLS is usually port 993, STARTTLS 143",
               "delivery": "implicit TLS is usually port 465, STARTTLS 587"}
DATABASE_CONNECT_TIMEOUT_SECONDS = 10
ServerSettings = ImapSource | SmtpDelivery
Failure = TypeVar("Failure", bound=BaseException)


@dataclass(frozen=True)
class ServerCheck:
    server: str  # e.g. "IMAP imap.example.com:993 (implicit TLS)"
    findings: str
    ok: bool
    skipped: bool = False  # not tried: the configuration must be fixed first

    @property
    def line(self) -> str:
        if self.ok or self.skipped:
            return f"{self.server}: {self.findings}"
        return f"{self.server}: FAILED: {self.findings}"


def skipped(server: str, problem: str) -> ServerCheck:
    return ServerCheck(server, f"SKIPPED: {problem} (fix the configuration first)", ok=False, skipped=True)


def failed(server: str, reason: str, hint: str) -> ServerCheck:
    return ServerCheck(server, f"{reason} -> {hint}", ok=False)


def check_servers(settings: Settings) -> list[ServerCheck]:
    """The mailbox (IMAP), the submission server (SMTP) and the database, in that order; nothing is sent or changed."""
    checks: list[ServerCheck] = []
    if isinstance(settings.source, ImapSource):
        checks.append(check_imap(settings))
    if isinstance(settings.delivery, SmtpDelivery):
        checks.append(check_smtp(settings))
    checks.append(check_database(settings.database))
    return checks


def server_label(protocol: str, settings: ServerSettings) -> str:
    return f"{protocol} {settings.host}:{settings.effective_port} ({TLS_LABELS[settings.tls]})"


def check_imap(settings: Settings) -> ServerCheck:
    source = settings.source
    assert isinstance(source, ImapSource)
    server = server_label("IMAP", source)
    problem = unusable_login("source", source)
    if problem:
        return skipped(server, problem)
    mailbox = build_source(settings, sessionmaker())  # the factory wires the login exactly as `run` does
    assert isinstance(mailbox, ImapMailSource)
    try:
        return ServerCheck(server, describe_mailbox(source, mailbox.probe()), ok=True)
    except Exception as error:  # noqa: BLE001 - every failure becomes a line saying what to change
        return failed(server, *explain("source", source, error))


def describe_mailbox(source: ImapSource, probe: MailboxProbe) -> str:
    idle = "IDLE offered" if probe.idle_offered else f"IDLE not offered (polling every {source.poll_interval_seconds:g} s)"
    return (f"login OK as {source.user}, folder {probe.folder} exists, UIDVALIDITY {probe.uidvalidity}, "
            f"{probe.messages} messages, {idle}")


def check_smtp(settings: Settings) -> ServerCheck:
    delivery = settings.delivery
    assert isinstance(delivery, SmtpDelivery)
    server = server_label("SMTP", delivery)
    problem = unusable_login("delivery", delivery)
    if problem:
        return skipped(server, problem)
    transport = build_transport(settings)  # the same transport, and so the same login, as delivery rounds
    assert isinstance(transport, SmtpTransport)
    try:
        return ServerCheck(server, describe_submission(delivery, asyncio.run(transport.probe())), ok=True)
    except Exception as error:  # noqa: BLE001 - every failure becomes a line saying what to change
        return failed(server, *explain("delivery", delivery, error))


def describe_submission(delivery: SmtpDelivery, probe: SubmissionProbe) -> str:
    findings = [f"EHLO OK ({probe.server_name})"]
    findings += {"implicit": ["implicit TLS"], "starttls": ["STARTTLS done"], "none": []}[delivery.tls]
    if probe.authenticated_as:
        findings.append(f"AUTH accepted as {probe.authenticated_as}")
    else:
        offered = ", ".join(method.upper() for method in probe.auth_offered)
        findings.append("no AUTH (delivery.user not set" + (f"; the server offers {offered})" if offered else ")"))
    return ", ".join([*findings, "nothing sent"])


def explain(section: str, settings: ServerSettings, error: BaseException) -> tuple[str, str]:
    """(what went wrong, what to change) for a failed login; the cause chain is searched for the real reason."""
    chain = causes(error)
    if (certificate := first(chain, ssl.SSLCertVerificationError)) is not None:
        return (f"TLS certificate not accepted: {certificate.verify_message or certificate}",
                f"set {section}.tls_ca_file to the PEM file of the CA that signed it, check {section}.host is the name "
                f"on the certificate (or {section}.validate_certs = false, for a test server only)")
    if (refused := first(chain, LoginRefused)) is not None:
        return refused.reason, f"check {section}.user and {secret_place(section, settings)}"
    if (missing := first(chain, FolderMissing)) is not None:
        return (f"folder {missing.folder} does not exist (folders: {', '.join(missing.existing) or 'none'})",
                f"set {section}.folder to one of them, or create it")
    if (refusal := first(chain, ServerRefused)) is not None:
        return refusal.reason, refusal.hint or f"check the [{section}] settings"
    return network_explanation(section, settings, chain) or (
        decoded(error), f"check {section}.host, {section}.port and {section}.tls ({USUAL_PORTS[section]})")


def network_explanation(section: str, settings: ServerSettings, chain: list[BaseException]) -> tuple[str, str] | None:
    # Most specific first: an SSLError and a gaierror are OSErrors too.
    if (handshake := first(chain, ssl.SSLError)) is not None:
        return (f"TLS handshake failed: {handshake.reason or handshake}",
                f"check that {section}.tls matches {section}.port ({USUAL_PORTS[section]})")
    if (unresolved := first(chain, socket.gaierror)) is not None:
        return f"the name {settings.host} does not resolve ({unresolved.strerror})", f"check {section}.host"
    if first(chain, ConnectionRefusedError) is not None:
        return (f"connection refused on port {settings.effective_port}",
                f"check {section}.port and {section}.tls ({USUAL_PORTS[section]})")
    if first(chain, TimeoutError) is not None:
        return (f"no answer within {settings.timeout_seconds:g} s",
                f"check {section}.host, {section}.port and any firewall in between")
    if (other := first(chain, OSError)) is not None:
        return f"cannot connect: {other.strerror or other}", f"check {section}.host and {section}.port"
    return None


def unusable_login(section: str, settings: ServerSettings) -> str | None:
    """The first reason the login's secrets cannot be read (also reported among the configuration problems)."""
    if settings.oauth2 is not None:
        return next(iter(settings.oauth2.secret_problems(f"{section}.oauth2")), None)
    if isinstance(settings, SmtpDelivery) and not settings.user:
        return None  # no AUTH configured: nothing to read
    return settings.secret_problem(section)


def secret_place(section: str, settings: ServerSettings) -> str:
    if settings.oauth2 is not None:
        return f"the account and scopes of the token from [{section}.oauth2]"
    if settings.password_file is not None:
        return f"the password in {section}.password_file ({settings.password_file})"
    if settings.password_env:
        return f"the password in ${settings.password_env} ({section}.password_env)"
    return f"{section}.password_file or {section}.password_env"


def first(chain: list[BaseException], kind: type[Failure]) -> Failure | None:
    return next((error for error in chain if isinstance(error, kind)), None)


def check_database(database: DatabaseSettings) -> ServerCheck:
    url = database.url
    server = f"database {make_url(url).render_as_string(hide_password=True)}"
    problem = database_url_problem(url) or sqlite_folder_problem(url) or database.secret_problem("database")
    if problem:
        return skipped(server, problem)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        # Connecting would create an empty file; say what is missing instead.
        return failed(server, "no database file yet: schema not created", "run `mailbot db upgrade`")
    engine = build_engine(with_connect_timeout(url))
    try:
        current = current_revision(engine)
    except (OperationalError, InterfaceError) as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        return failed(server, f"not reachable: {reason}",
                      "check database.url (host, port, user, password, database name) and that the server is running")
    finally:
        engine.dispose()
    return schema_check(server, current, head_revision())


def schema_check(server: str, current: str | None, head: str) -> ServerCheck:
    if current == head:
        return ServerCheck(server, f"reachable, schema at {head} (the code's head)", ok=True)
    if current is None:
        return failed(server, "reachable, but the schema is not created", "run `mailbot db upgrade`")
    if current not in known_revisions():
        return failed(server, f"reachable, schema at {current}, which this mailbot does not know (its head is {head})",
                      "the database was migrated by a newer mailbot: run that version")
    return failed(server, f"reachable, schema at {current}, the code needs {head}", "run `mailbot db upgrade`")


def with_connect_timeout(url: str) -> str:
    """PostgreSQL waits for an unanswering host for minutes by default; a check should not."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return url
    timeout = str(DATABASE_CONNECT_TIMEOUT_SECONDS)
    return parsed.update_query_dict({"connect_timeout": timeout}).render_as_string(hide_password=False)
