"""OAuth2 logins against real servers: Dovecot's oauth2 passdb, an aiosmtpd XOAUTH2 server, a local token server.

MSAL talks to the token server over HTTPS (it accepts only https authorities) with the test certificate;
google-auth and the generic refresh-token grant use its plain-HTTP loopback listener.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from mailbot.config import load_settings
from mailbot.db.models import OutboxMessage
from mailbot.errors import ServerRefused
from mailbot.runtime.exit_codes import EXIT_REFUSED
from mailbot.runtime.runner import deliver_once, run_once
from mailbot.sources.base import SourceUnavailable
from mailbot.sources.factory import build_source
from mailbot.sources.imap import ImapMailSource
from tests.support import skip_or_fail
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import migrate_and_import, run_cli, start_service, stop_service, wait_until
from tests.support.dovecot import DovecotServer, OAuth2Validation, dovecot_available
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink
from tests.support.tls import Certificate
from tests.support.token_server import JWT_BEARER, TokenServer

MAIL_SCOPE = "https://mail.example.test/"
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_DELEGATED = {"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send"}


@pytest.fixture(scope="module")
def token_server(certificate: Certificate) -> Iterator[TokenServer]:
    with TokenServer(tls=certificate) as server:
        yield server


@pytest.fixture(scope="module")
def oauth_dovecot(token_server: TokenServer) -> Iterator[DovecotServer]:
    if not dovecot_available():
        skip_or_fail("dovecot not installed: apt-get install dovecot-imapd dovecot-lmtpd")
    with DovecotServer(oauth2=OAuth2Validation(token_server.introspection_url)) as server:
        yield server


@pytest.fixture
def mailbox(oauth_dovecot: DovecotServer) -> str:
    return oauth_dovecot.add_user(f"support-{uuid.uuid4().hex[:8]}@example.test")


def generic_oauth2(token_server: TokenServer, folder: Path, user: str, lifetime: float | None = None,
                   allowed: set[str] | None = None, **overrides: Any) -> dict[str, Any]:
    """A client on the token server, a refresh token for `user` in a file, and the [*.oauth2] section using them."""
    client_id = f"mailbot-{uuid.uuid4().hex[:8]}"
    token_server.authority.add_client(client_id, "client-secret", allowed or {MAIL_SCOPE}, lifetime_seconds=lifetime)
    refresh_token = folder / f"{client_id}-refresh-token"
    refresh_token.write_text(token_server.authority.issue_refresh_token(client_id, user) + "\n")
    secret = folder / f"{client_id}-secret"
    secret.write_text("client-secret\n")
    return {"provider": "generic", "flow": "refresh_token", "client_id": client_id,
            "client_secret_file": str(secret), "refresh_token_file": str(refresh_token),
            "token_endpoint": token_server.token_url, "scopes": [MAIL_SCOPE], **overrides}


def oauth2_source(dovecot: DovecotServer, user: str, folder: Path) -> dict[str, Any]:
    source = imap_source(dovecot, user, folder, auth="oauth2")
    del source["password_file"]
    return source


def config_with(folder: Path, source: dict[str, Any], delivery: dict[str, Any], **sections: dict[str, Any]) -> Path:
    return write_config(folder, db_url=f"sqlite:///{folder}/bot.db", source=source, delivery=delivery, **sections)


def oauth2_imap(folder: Path, dovecot: DovecotServer, mailbox: str, section: dict[str, Any]) -> ImapMailSource:
    """The bot's IMAP source logging in to `mailbox` with the given [source.oauth2] section."""
    return imap_source_of(config_with(folder, oauth2_source(dovecot, mailbox, folder), {"kind": "maildir", "path": "out"},
                                      source__oauth2=section))


def log_in_once(source: ImapMailSource) -> None:
    try:
        source.refresh()
    finally:
        source.close()


def imap_source_of(config: Path) -> ImapMailSource:
    settings = load_settings(config)
    source = build_source(settings, sessions=None)  # type: ignore[arg-type] - IMAP needs no session
    assert isinstance(source, ImapMailSource)
    return source


def oauth2_sink(token_server: TokenServer, user: str, **options: Any) -> SmtpSink:
    return SmtpSink(auth_required=True, user=user, token_check=token_server.introspect_over_http, **options)


def test_pipeline_reads_over_oauthbearer_and_delivers_over_xoauth2(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    with oauth2_sink(token_server, mailbox, oauth2_scope=MAIL_SCOPE) as sink:
        delivery = {**smtp_delivery(sink), "user": mailbox, "auth": "oauth2"}
        config = config_with(tmp_path, oauth2_source(oauth_dovecot, mailbox, tmp_path), delivery,
                             source__oauth2=generic_oauth2(token_server, tmp_path, mailbox),
                             delivery__oauth2=generic_oauth2(token_server, tmp_path, mailbox))
        app = prepared_app(config)
        oauth_dovecot.append(mailbox, customer_mail())
        summary = run_once(app)
        app.dispose()
        [ack] = sink.wait_for(1)
    assert summary.ingest.outcomes == {"case_opened": 1}
    assert ack.auth_login in (mailbox, mailbox.encode())
    assert [(mechanism, user) for mechanism, user, _ in sink.oauth2_logins] == [("XOAUTH2", mailbox)]
    assert f"user=<{mailbox}>, method=OAUTHBEARER" in oauth_dovecot.log_text()


def test_smtp_uses_oauthbearer_where_offered_and_the_token_is_reused(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    with oauth2_sink(token_server, mailbox, oauthbearer=True) as sink:
        delivery = {**smtp_delivery(sink), "user": mailbox, "auth": "oauth2"}
        section = generic_oauth2(token_server, tmp_path, mailbox)
        app = prepared_app(config_with(tmp_path, imap_source(oauth_dovecot, mailbox, tmp_path), delivery,
                                       delivery__oauth2=section))
        for _ in range(2):
            oauth_dovecot.append(mailbox, customer_mail())
            run_once(app)
        app.dispose()
        sink.wait_for(2)
    assert [mechanism for mechanism, _, _ in sink.oauth2_logins] == ["OAUTHBEARER", "OAUTHBEARER"]
    assert len({token for _, _, token in sink.oauth2_logins}) == 1  # the app's cache served both rounds
    assert len([g for g in token_server.authority.successful_grants() if g.client_id == section["client_id"]]) == 1


def test_token_expiry_and_renewal_a_reconnect_logs_in_with_a_fresh_token(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    section = generic_oauth2(token_server, tmp_path, mailbox, lifetime=3, renew_before_seconds=1)
    source = oauth2_imap(tmp_path, oauth_dovecot, mailbox, section)
    try:
        source.refresh()
        first_renewal = source.login_expires_at()
        assert first_renewal is not None
        time.sleep(3.2)  # the first token has expired: the server would refuse it now
        [first] = [g for g in token_server.authority.access_tokens.items() if g[1].subject == mailbox]
        assert token_server.introspect_over_http(first[0]) == {"active": False}
        source.close()  # what the IDLE loop does at login_expires_at()
        source.refresh()
        second_renewal = source.login_expires_at()
    finally:
        source.close()
    grants = [g for g in token_server.authority.successful_grants() if g.client_id == section["client_id"]]
    assert len(grants) == 2
    assert second_renewal is not None and second_renewal > first_renewal
    assert oauth_dovecot.log_text().count(f"user=<{mailbox}>, method=OAUTHBEARER") == 2


def test_revoked_refresh_token_is_fatal_with_the_providers_message_and_no_retry(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    section = generic_oauth2(token_server, tmp_path, mailbox)
    token_server.authority.revoke(Path(section["refresh_token_file"]).read_text().strip())
    app = prepared_app(config_with(tmp_path, oauth2_source(oauth_dovecot, mailbox, tmp_path),
                                   {"kind": "maildir", "path": "out"}, source__oauth2=section))
    summary = run_once(app)
    app.dispose()
    refused = summary.refused
    assert refused is not None and summary.exit_code == EXIT_REFUSED
    assert refused.server == "OAuth2 generic"
    assert refused.reason == "invalid_grant: AADSTS70000: The refresh token has been revoked or has expired."
    assert "refresh token" in refused.hint
    attempts = [g for g in token_server.authority.grants if g.client_id == section["client_id"]]
    assert [g.error for g in attempts] == ["invalid_grant"]  # asked once, not in a loop


def test_scope_the_client_was_not_granted_is_refused_by_the_token_endpoint(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    section = generic_oauth2(token_server, tmp_path, mailbox, scopes=["https://calendar.example.test/"])
    source = oauth2_imap(tmp_path, oauth_dovecot, mailbox, section)
    with pytest.raises(ServerRefused) as refused:
        source.refresh()
    assert refused.value.reason.startswith("invalid_scope: The requested scope is not granted")
    assert "admin consent" in refused.value.hint


def test_token_without_the_mail_scope_is_refused_by_the_smtp_server(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    calendar = "https://calendar.example.test/"
    with oauth2_sink(token_server, mailbox, oauth2_scope=MAIL_SCOPE) as sink:
        delivery = {**smtp_delivery(sink), "user": mailbox, "auth": "oauth2"}
        section = generic_oauth2(token_server, tmp_path, mailbox, allowed={calendar}, scopes=[calendar])
        app = prepared_app(config_with(tmp_path, imap_source(oauth_dovecot, mailbox, tmp_path), delivery,
                                       delivery__oauth2=section))
        oauth_dovecot.append(mailbox, customer_mail())
        refused = run_once(app).delivery.refused
        app.dispose()
    assert refused is not None
    assert refused.server == f"SMTP {sink.host}:{sink.port}"
    assert refused.reason.startswith("535 5.7.8 Username and Password not accepted")
    assert f"scope={MAIL_SCOPE}" in refused.reason  # the server's error challenge, decoded


def test_wrong_user_for_the_token_is_refused_by_dovecot(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    someone_else = oauth_dovecot.add_user(f"other-{uuid.uuid4().hex[:8]}@example.test")
    section = generic_oauth2(token_server, tmp_path, someone_else)
    source = oauth2_imap(tmp_path, oauth_dovecot, mailbox, section)
    with pytest.raises(ServerRefused) as refused:
        source.refresh()
    assert refused.value.server == f"IMAP {oauth_dovecot.host}:{oauth_dovecot.imap_port}"
    # Dovecot's OAUTHBEARER error challenge, RFC 7628 §3.2.2, decoded into the reason
    assert "[AUTHENTICATIONFAILED]" in refused.value.reason and "status=invalid_token" in refused.value.reason


def test_token_endpoint_down_is_an_imap_outage_that_is_retried(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    source = oauth2_imap(tmp_path, oauth_dovecot, mailbox, generic_oauth2(token_server, tmp_path, mailbox))
    token_server.authority.unavailable_for = 1
    try:
        with pytest.raises(SourceUnavailable, match="answered 503"):
            source.refresh()
        source.refresh()  # the next try gets a token and logs in
    finally:
        source.close()


def test_token_endpoint_down_postpones_smtp_delivery(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    with oauth2_sink(token_server, mailbox) as sink:
        delivery = {**smtp_delivery(sink), "user": mailbox, "auth": "oauth2"}
        app = prepared_app(config_with(tmp_path, imap_source(oauth_dovecot, mailbox, tmp_path), delivery,
                                       delivery__oauth2=generic_oauth2(token_server, tmp_path, mailbox)))
        oauth_dovecot.append(mailbox, customer_mail())
        token_server.authority.unavailable_for = 1
        postponed = run_once(app).delivery
        assert sink.received == []
        with app.sessions() as session:
            session.execute(update(OutboxMessage).values(next_attempt_at=app.clock.now()))
            session.commit()
        retried = deliver_once(app)
        app.dispose()
    assert postponed.server_unreachable and "answered 503" in postponed.server_unreachable
    assert retried.outcomes == {"sent": 1}


def microsoft_app(token_server: TokenServer, folder: Path, mailbox: str, certificate: Certificate,
                  configured_secret: str) -> dict[str, Any]:
    """An app registration with app-only access to `mailbox` (its real secret: app-secret), and its section."""
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    token_server.authority.add_client(client_id, "app-secret", {MICROSOFT_APP_SCOPE}, mailbox=mailbox)
    (folder / "client-secret").write_text(configured_secret + "\n")
    return {"provider": "microsoft", "flow": "client_credentials", "tenant_id": "tenant-0001",
            "client_id": client_id, "client_secret_file": "client-secret",
            "authority": token_server.microsoft_authority, "tls_ca_file": str(certificate.cert)}


def test_microsoft_client_credentials_through_msal(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, certificate: Certificate, mailbox: str
) -> None:
    section = microsoft_app(token_server, tmp_path, mailbox, certificate, "app-secret")
    client_id = section["client_id"]
    with oauth2_sink(token_server, mailbox, oauth2_scope=MICROSOFT_APP_SCOPE) as sink:
        delivery = {**smtp_delivery(sink), "user": mailbox, "auth": "oauth2"}
        app = prepared_app(config_with(tmp_path, oauth2_source(oauth_dovecot, mailbox, tmp_path), delivery,
                                       source__oauth2=section, delivery__oauth2=section))
        oauth_dovecot.append(mailbox, customer_mail())
        summary = run_once(app)
        app.dispose()
        sink.wait_for(1)
    assert summary.ingest.outcomes == {"case_opened": 1}
    grants = [g for g in token_server.authority.successful_grants() if g.client_id == client_id]
    assert [(g.grant_type, g.scopes) for g in grants] == [("client_credentials", (MICROSOFT_APP_SCOPE,))] * 2


def test_microsoft_delegated_refresh_token_through_msal(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, certificate: Certificate, mailbox: str
) -> None:
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    token_server.authority.add_client(client_id, None, MICROSOFT_DELEGATED)
    (tmp_path / "refresh-token").write_text(token_server.authority.issue_refresh_token(client_id, mailbox))
    section = {"provider": "microsoft", "flow": "refresh_token", "tenant_id": "tenant-0001", "client_id": client_id,
               "refresh_token_file": "refresh-token", "authority": token_server.microsoft_authority,
               "tls_ca_file": str(certificate.cert)}
    log_in_once(oauth2_imap(tmp_path, oauth_dovecot, mailbox, section))
    [grant] = [g for g in token_server.authority.successful_grants() if g.client_id == client_id]
    assert grant.grant_type == "refresh_token" and set(grant.scopes) == MICROSOFT_DELEGATED


def test_microsoft_refused_client_secret_names_the_providers_message(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, certificate: Certificate, mailbox: str
) -> None:
    section = microsoft_app(token_server, tmp_path, mailbox, certificate, "expired-secret")
    source = oauth2_imap(tmp_path, oauth_dovecot, mailbox, section)
    with pytest.raises(ServerRefused) as refused:
        source.refresh()
    assert refused.value.server == "OAuth2 microsoft"
    assert refused.value.reason.startswith("invalid_client: AADSTS7000215: Invalid client secret")


def test_google_service_account_with_domain_wide_delegation(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    account = f"mailbot-{uuid.uuid4().hex[:6]}@example-project.iam.example.test"
    client_id = f"sa-{uuid.uuid4().hex[:8]}"
    private_key = token_server.authority.add_service_account(account, client_id, {"https://mail.google.com/"})
    key = {"type": "service_account", "project_id": "example-project", "private_key_id": "key-1",
           "private_key": private_key.decode(), "client_email": account, "client_id": client_id,
           "token_uri": token_server.token_url}
    (tmp_path / "service-account.json").write_text(json.dumps(key))
    section = {"provider": "google", "flow": "service_account", "key_file": "service-account.json"}
    log_in_once(oauth2_imap(tmp_path, oauth_dovecot, mailbox, section))
    [grant] = [g for g in token_server.authority.successful_grants() if g.client_id == client_id]
    assert (grant.grant_type, grant.subject, grant.scopes) == (JWT_BEARER, mailbox, ("https://mail.google.com/",))


def test_a_long_idle_ends_in_time_to_log_in_again_with_a_fresh_token(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str, smtp_sink: SmtpSink
) -> None:
    """Under `mailbot run`, IDLE is left before the token's renewal time and the session replaced: mail still flows."""
    section = generic_oauth2(token_server, tmp_path, mailbox, lifetime=4, renew_before_seconds=1)
    source = {**oauth2_source(oauth_dovecot, mailbox, tmp_path), "poll_interval_seconds": 60}
    config = config_with(tmp_path, source, smtp_delivery(smtp_sink), source__oauth2=section)
    migrate_and_import(config)
    log = tmp_path / "service.log"
    service = start_service(config, log)
    try:
        wait_until(lambda: log.read_bytes().count(b"imap login renewed") >= 2, 20, what="two renewals")
        oauth_dovecot.append(mailbox, customer_mail(message_id="after-renewal@acme.test"))
        smtp_sink.wait_for(1, timeout=10)
    finally:
        assert stop_service(service) == 0, log.read_text()
    text = log.read_text()
    assert "connection lost" not in text and "refused" not in text  # renewed ahead of time, never cut off
    grants = [g for g in token_server.authority.successful_grants() if g.client_id == section["client_id"]]
    assert len(grants) >= 3


def test_check_config_connect_logs_in_over_oauth2_and_names_a_revoked_token(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    with oauth2_sink(token_server, mailbox, oauth2_scope=MAIL_SCOPE) as sink:
        delivery = {**smtp_delivery(sink), "user": mailbox, "auth": "oauth2"}
        source_grant = generic_oauth2(token_server, tmp_path, mailbox)
        config = config_with(tmp_path, oauth2_source(oauth_dovecot, mailbox, tmp_path), delivery,
                             source__oauth2=source_grant, delivery__oauth2=generic_oauth2(token_server, tmp_path, mailbox))
        run_cli(config, "db", "upgrade")
        good = run_cli(config, "check-config", "--connect", check=False)
        token_server.authority.revoke(Path(source_grant["refresh_token_file"]).read_text().strip())
        revoked = run_cli(config, "check-config", "--connect", check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"login OK as {mailbox}, folder INBOX exists" in good.stdout
    assert f"AUTH accepted as {mailbox}, nothing sent" in good.stdout
    assert revoked.returncode == 8
    [imap] = [line for line in revoked.stdout.splitlines() if line.startswith("IMAP ")]
    assert "FAILED: invalid_grant: AADSTS70000: The refresh token has been revoked or has expired. -> " in imap
    assert sink.received == []


def test_google_refresh_token_flow_asks_for_the_gmail_scope(
    tmp_path: Path, token_server: TokenServer, oauth_dovecot: DovecotServer, mailbox: str
) -> None:
    """provider = "google", flow = "refresh_token": the default scope is https://mail.google.com/."""
    section = generic_oauth2(token_server, tmp_path, mailbox, allowed={"https://mail.google.com/"})
    section = {**{k: v for k, v in section.items() if k != "scopes"}, "provider": "google"}
    log_in_once(oauth2_imap(tmp_path, oauth_dovecot, mailbox, section))
    [grant] = [g for g in token_server.authority.successful_grants() if g.client_id == section["client_id"]]
    assert (grant.grant_type, grant.subject, grant.scopes) == ("refresh_token", mailbox, ("https://mail.google.com/",))
