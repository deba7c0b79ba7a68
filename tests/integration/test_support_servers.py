"""Prove the real-server test helpers work before other tests rely on them."""

from __future__ import annotations

import asyncio
import smtplib
import time
from email.message import EmailMessage

import aiosmtplib
import pytest
from sqlalchemy import create_engine, text

from tests.support.dovecot import DovecotServer
from tests.support.postgres import database_exists, fresh_database
from tests.support.smtp_sink import SmtpSink


def _raw(subject: str, body: str = "Hello support.") -> bytes:
    """A minimal RFC 5322 message with CRLF line endings, as IMAP stores it."""
    return (
        f"From: Customer <customer@example.test>\r\n"
        f"To: support@example.test\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def _email(subject: str, to: str = "alice@customer.test") -> EmailMessage:
    """An outbound reply as the bot would build it."""
    msg = EmailMessage()
    msg["From"] = "support@example.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("We are on it.")
    return msg


# ---- Dovecot -------------------------------------------------------------


def test_append_returns_uid_and_keeps_flags(dovecot: DovecotServer, mailbox_user: str) -> None:
    first = dovecot.append(mailbox_user, _raw("first"))
    second = dovecot.append(mailbox_user, _raw("second"), flags=["\\Seen", "\\Flagged"])

    assert dovecot.uids(mailbox_user) == [first, second]
    assert second > first
    assert dovecot.flags(mailbox_user, first) == set()
    assert dovecot.flags(mailbox_user, second) == {"\\Seen", "\\Flagged"}
    assert dovecot.messages(mailbox_user) == [_raw("first"), _raw("second")]
    assert dovecot.flags(mailbox_user, first) == set(), "messages() must not set \\Seen"


def test_users_are_independent_mailboxes(dovecot: DovecotServer, mailbox_user: str) -> None:
    other = dovecot.add_user(f"other-{mailbox_user}", password="pw2")
    dovecot.append(other, _raw("for other"))

    assert dovecot.uids(mailbox_user) == []
    assert len(dovecot.uids(other)) == 1


def test_folders_include_processed_and_created(dovecot: DovecotServer, mailbox_user: str) -> None:
    dovecot.create_folder(mailbox_user, "Archive/2024")
    uid = dovecot.append(mailbox_user, _raw("archived"), folder="Archive/2024")

    assert {"INBOX", "Processed", "Archive/2024"} <= set(dovecot.folders(mailbox_user))
    assert dovecot.uids(mailbox_user, "Archive/2024") == [uid]
    assert dovecot.uids(mailbox_user, "Processed") == []


def test_lmtp_delivery_lands_in_inbox(dovecot: DovecotServer, mailbox_user: str) -> None:
    dovecot.deliver_lmtp(mailbox_user, _raw("via lmtp"), mail_from="alice@customer.test")

    [raw] = dovecot.messages(mailbox_user)
    assert b"Subject: via lmtp" in raw
    assert f"Delivered-To: {mailbox_user}".encode() in raw
    assert b"Return-Path: <alice@customer.test>" in raw


def test_lmtp_refuses_unknown_user(dovecot: DovecotServer) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        dovecot.deliver_lmtp("nobody-here@example.test", _raw("lost"))
    assert refused.value.recipients["nobody-here@example.test"][0] == 550


def test_reset_uidvalidity_changes_it_and_keeps_messages(dovecot: DovecotServer, mailbox_user: str) -> None:
    dovecot.append(mailbox_user, _raw("one"))
    dovecot.append(mailbox_user, _raw("two"))
    before = dovecot.uidvalidity(mailbox_user)

    new = dovecot.reset_uidvalidity(mailbox_user)

    client = dovecot.imap(mailbox_user)
    try:
        selected = client.select_folder("INBOX", readonly=True)
    finally:
        client.logout()
    assert new != before
    assert selected[b"UIDVALIDITY"] == new
    assert selected[b"EXISTS"] == 2
    assert dovecot.messages(mailbox_user) == [_raw("one"), _raw("two")]


def test_idle_sees_exists_after_append_from_other_connection(dovecot: DovecotServer, mailbox_user: str) -> None:
    watcher = dovecot.imap(mailbox_user)
    try:
        watcher.select_folder("INBOX")
        watcher.idle()
        started = time.monotonic()
        dovecot.append(mailbox_user, _raw("pushed"))
        responses = watcher.idle_check(timeout=5)
        waited = time.monotonic() - started
        watcher.idle_done()
    finally:
        watcher.logout()

    assert (1, b"EXISTS") in responses, responses
    assert waited < 5


# ---- SMTP sink -----------------------------------------------------------


def test_sink_receives_mail_from_aiosmtplib(smtp_sink: SmtpSink) -> None:
    asyncio.run(aiosmtplib.send(_email("async reply"), hostname=smtp_sink.host, port=smtp_sink.port))

    [mail] = smtp_sink.wait_for(1)
    assert mail.mail_from == "support@example.test"
    assert mail.rcpt_tos == ("alice@customer.test",)
    assert mail.message["Subject"] == "async reply"
    assert mail.message.get_content().strip() == "We are on it."


def test_sink_receives_mail_from_smtplib(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.send_message(_email("sync reply"), to_addrs=["alice@customer.test", "bob@customer.test"])

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("alice@customer.test", "bob@customer.test")
    assert mail.message["Subject"] == "sync reply"


def test_fail_next_temporary_then_success(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1, 451)

    with pytest.raises(aiosmtplib.SMTPDataError) as failed:
        asyncio.run(aiosmtplib.send(_email("retry me"), hostname=smtp_sink.host, port=smtp_sink.port))
    assert failed.value.code == 451
    assert smtp_sink.received == []

    asyncio.run(aiosmtplib.send(_email("retry me"), hostname=smtp_sink.host, port=smtp_sink.port))
    [mail] = smtp_sink.wait_for(1)
    assert mail.message["Subject"] == "retry me"


def test_fail_next_permanent(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1, 550, "mailbox unavailable")

    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            client.send_message(_email("bounce"))
    assert failed.value.smtp_code == 550


def test_wait_for_timeout_says_what_arrived(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.send_message(_email("only one"))

    with pytest.raises(AssertionError, match="got 1.*only one"):
        smtp_sink.wait_for(2, timeout=0.2)
    smtp_sink.clear()
    assert smtp_sink.received == []


def test_sink_with_auth_required() -> None:
    with SmtpSink(auth_required=True, user="bot", password="pw") as sink:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            asyncio.run(aiosmtplib.send(_email("no auth"), hostname=sink.host, port=sink.port))
        assert refused.value.code == 530

        asyncio.run(
            aiosmtplib.send(_email("auth"), hostname=sink.host, port=sink.port, username="bot", password="pw")
        )
        [mail] = sink.wait_for(1)
    assert mail.auth_login == "bot"


# ---- PostgreSQL / databases ------------------------------------------------


def test_fresh_pg_database_is_usable_and_dropped(pg_base: str) -> None:
    with fresh_database() as url:
        name = url.rsplit("/", 1)[1]
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database(), count(*) FROM t")).one() == (name, 1)
        # the engine is deliberately left undisposed: DROP ... WITH (FORCE) must still succeed
        assert database_exists(name)
    assert not database_exists(name)


def test_db_url_backends_work(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))
            conn.execute(text("INSERT INTO t VALUES (42)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalar_one() == 42
    finally:
        engine.dispose()
