"""Two From addresses through the real pipeline: without a Sender among them nobody is the author (RFC 5322 §3.6.2)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from mailbot.db.models import Case, InboundRecord
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail


def two_from(message_id: str, headers: dict[str, str] | None = None) -> bytes:
    """From the seeded designated contact first, then a stranger; Sender as given."""
    raw = customer_mail(message_id=message_id, sender="ana@acme.test", sender_name="", headers=headers)
    return raw.replace(b"From: ana@acme.test", b"From: ana@acme.test, mallory@example.com")


def test_two_from_addresses_open_no_case_as_the_first_unless_sender_names_it(  # type: ignore[no-untyped-def]
        tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    app = prepared_app(config)
    try:
        dovecot.append(mailbox_user, two_from("ambiguous@example.com"))
        run_once(app)
        with app.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 0
            record = session.scalars(select(InboundRecord)).one()
            assert (record.outcome, record.rule) == ("ignored", "several_authors")
        assert smtp_sink.received == []  # not even the unknown-sender text: nobody is known to have written

        dovecot.append(mailbox_user, two_from("named@example.com", {"Sender": "ana@acme.test"}))
        run_once(app)
        with app.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert [mail.rcpt_tos for mail in smtp_sink.received] == [("ana@acme.test",)]
    finally:
        app.dispose()


GMAIL_ENTRY = ("Received: from mail.evil.example.net (mail.evil.example.net. [198.51.100.7])\r\n"
               "        by mx.google.com with ESMTPS id a1si1wrx.1; Mon, 23 Nov 2026 01:00:04 -0800 (PST)\r\n")
GMAIL_FAIL = "Authentication-Results: mx.google.com; dmarc=fail (p=REJECT) header.from=acme.test\r\n"
FORGED_PASS = "Authentication-Results: mx.google.com; dkim=pass header.i=@acme.test; dmarc=pass header.from=acme.test\r\n"


def test_a_forged_pass_under_our_boundarys_own_fail_is_dropped_without_reply(  # type: ignore[no-untyped-def]
        tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), security={"provider": "google"})
    app = prepared_app(config)
    try:
        forged = customer_mail(message_id="forged@evil.example.net", sender="ana@acme.test")
        dovecot.append(mailbox_user, (GMAIL_ENTRY + GMAIL_FAIL + FORGED_PASS).encode() + forged)
        genuine = customer_mail(message_id="genuine@acme.test", sender="ana@acme.test")
        dovecot.append(mailbox_user, (GMAIL_ENTRY.replace("evil.example.net", "acme.test")
                                      + GMAIL_FAIL.replace("fail", "pass")).encode() + genuine)
        run_once(app)
        with app.sessions() as session:
            rules = dict(session.execute(select(InboundRecord.message_id, InboundRecord.rule)).all())
            assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert rules["forged@evil.example.net"] == "forged_sender"
        assert rules["genuine@acme.test"] != "forged_sender"
        assert [mail.rcpt_tos for mail in smtp_sink.received] == [("ana@acme.test",)]  # the genuine one's ack only
    finally:
        app.dispose()
