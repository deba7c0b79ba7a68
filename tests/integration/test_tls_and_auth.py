"""Encrypted and authenticated connections: IMAP and SMTP with STARTTLS and implicit TLS, SMTP AUTH."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.db.models import OutboxMessage
from mailbot.runtime.exit_codes import EXIT_REFUSED
from mailbot.runtime.runner import run_once
from tests.support import skip_or_fail
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import migrate_and_import, start_service, stop_service, wait_until
from tests.support.dovecot import DovecotServer, dovecot_available
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink
from tests.support.tls import Certificate


@pytest.fixture(scope="module")
def tls_dovecot(certificate: Certificate) -> Iterator[DovecotServer]:
    if not dovecot_available():
        skip_or_fail("dovecot not installed: apt-get install dovecot-imapd dovecot-lmtpd")
    with DovecotServer(tls=certificate) as server:
        yield server


def password_file(folder: Path, secret: str) -> str:
    path = folder / "smtp-password"
    path.write_text(secret + "\n")
    return str(path)


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_imap_and_smtp_over_tls_with_smtp_auth(mode: str, tmp_path: Path, certificate: Certificate,
                                               tls_dovecot: DovecotServer) -> None:
    user = tls_dovecot.add_user(f"support-{mode}@example.test")
    port = tls_dovecot.imap_port if mode == "starttls" else tls_dovecot.imaps_port
    source = imap_source(tls_dovecot, user, tmp_path, tls=mode, port=port, tls_ca_file=str(certificate.cert))
    with SmtpSink(auth_required=True, tls=certificate, implicit_tls=mode == "implicit") as sink:
        delivery = {**smtp_delivery(sink), "tls": mode, "tls_ca_file": str(certificate.cert), "user": "mailbot",
                    "password_file": password_file(tmp_path, "secret")}
        app = prepared_app(write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source=source, delivery=delivery))
        tls_dovecot.append(user, customer_mail())
        summary = run_once(app)
        app.dispose()
        [ack] = sink.wait_for(1)
    assert summary.ingest.outcomes == {"case_opened": 1}
    assert ack.auth_login == b"mailbot" or ack.auth_login == "mailbot"


def test_untrusted_certificate_is_refused_and_mail_waits(tmp_path: Path, certificate: Certificate, dovecot, mailbox_user: str) -> None:  # type: ignore[no-untyped-def]
    with SmtpSink(tls=certificate) as sink:
        delivery = {**smtp_delivery(sink), "tls": "starttls"}  # no tls_ca_file: the self-signed cert is not trusted
        app = prepared_app(write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db",
                                        source=imap_source(dovecot, mailbox_user, tmp_path), delivery=delivery))
        dovecot.append(mailbox_user, customer_mail())
        summary = run_once(app)
        with app.sessions() as session:
            row = session.scalars(select(OutboxMessage)).one()
        app.dispose()
        assert sink.received == []
    assert summary.delivery.refused is not None and "certificate not trusted" in str(summary.delivery.refused)
    assert summary.exit_code == EXIT_REFUSED
    assert row.status == "pending" and row.attempts == 0  # not the message's fault: its attempts are kept
    assert row.last_error and "certificate not trusted" in row.last_error and "tls_ca_file" in row.last_error


def test_wrong_smtp_password_keeps_mail_pending(tmp_path: Path, dovecot, mailbox_user: str) -> None:  # type: ignore[no-untyped-def]
    with SmtpSink(auth_required=True) as sink:
        delivery = {**smtp_delivery(sink), "user": "mailbot", "password_file": password_file(tmp_path, "wrong")}
        app = prepared_app(write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db",
                                        source=imap_source(dovecot, mailbox_user, tmp_path), delivery=delivery))
        dovecot.append(mailbox_user, customer_mail())
        summary = run_once(app)
        app.dispose()
    refused = summary.delivery.refused
    assert refused is not None and "login as mailbot refused: 535" in refused.reason
    assert "b'" not in str(refused)
    assert summary.exit_code == EXIT_REFUSED


def test_idle_over_tls_stays_on_one_session(tmp_path: Path, certificate: Certificate, tls_dovecot: DovecotServer,
                                           smtp_sink: SmtpSink) -> None:
    """A TLS connection in IDLE wakes for records that carry no whole line; that is no reason to reconnect."""
    user = tls_dovecot.add_user("support-tls-idle@example.test")
    source = imap_source(tls_dovecot, user, tmp_path, tls="implicit", port=tls_dovecot.imaps_port,
                         tls_ca_file=str(certificate.cert), poll_interval_seconds=60)
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source=source, delivery=smtp_delivery(smtp_sink))
    migrate_and_import(config)
    log = tmp_path / "service.log"
    service = start_service(config, log)
    try:
        wait_until(lambda: b"imap connected" in log.read_bytes(), 20, what="the service to connect")
        time.sleep(4.0)
        tls_dovecot.append(user, customer_mail(message_id="tls-idle@acme.test"))
        smtp_sink.wait_for(1, timeout=10)
    finally:
        assert stop_service(service) == 0, log.read_text()
    assert log.read_text().count("imap connected") == 1, log.read_text()
