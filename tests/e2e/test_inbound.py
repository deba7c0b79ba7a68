"""`mailbot inbound list|show`: every message the bot saw, one record per UID, outcome and rule, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import migrate_and_import, run_cli
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink
from tests.support.poison import deep_nesting, huge_references

BOUNCE = (b"From: MAILER-DAEMON@mx.example.test\r\nTo: support@example.test\r\nSubject: Undelivered Mail\r\n"
          b"Message-ID: <bounce-1@mx.example.test>\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n--r\r\n"
          b"Content-Type: text/plain\r\n\r\nNot delivered.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\n"
          b"Reporting-MTA: dns; mx.example.test\r\n\r\nFinal-Recipient: rfc822; x@y.test\r\nAction: failed\r\n"
          b"Status: 5.1.1\r\n--r--\r\n")


def mixed_mailbox() -> list[bytes]:
    return [
        customer_mail(message_id="new-1@acme.test"),
        customer_mail(message_id="reply-1@acme.test", subject="Re: El sistema no arranca", in_reply_to="new-1@acme.test"),
        customer_mail(sender="stranger@else.test", message_id="stranger@else.test"),
        customer_mail(message_id="ooo@acme.test", headers={"Auto-Submitted": "auto-replied"}),
        BOUNCE,
        huge_references("poison-refs@acme.test"),
        deep_nesting("poison-deep@acme.test"),
        customer_mail(sender="john@globex.test", message_id="new-2@globex.test", subject="Export fails"),
    ]


def test_every_uid_has_exactly_one_inbound_record(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer,
                                                  mailbox_user: str, smtp_sink: SmtpSink) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    migrate_and_import(config)
    uids = [dovecot.append(mailbox_user, raw) for raw in mixed_mailbox()]
    run_cli(config, "run", "--once")
    records = json.loads(run_cli(config, "inbound", "list", "--json", "--limit", "100").stdout)
    uidvalidity = dovecot.uidvalidity(mailbox_user)
    source_refs = sorted(record["source_ref"] for record in records)
    assert source_refs == sorted(f"{uidvalidity}:{uid}" for uid in uids)
    outcomes = {record["message_id"]: (record["outcome"], record["rule"]) for record in records}
    assert outcomes["new-1@acme.test"][0] == "case_opened"
    assert outcomes["reply-1@acme.test"] == ("appended", "thread_reply")
    assert outcomes["stranger@else.test"] == ("refused", "unknown_sender")
    assert outcomes["ooo@acme.test"][0] == "ignored"
    assert outcomes["bounce-1@mx.example.test"][0] == "ignored"
    assert outcomes["poison-refs@acme.test"][0] == "case_opened"
    quarantined = json.loads(run_cli(config, "inbound", "list", "--outcome", "quarantined", "--json").stdout)
    [held] = quarantined  # the unparseable one (no Message-ID could be read): known by its UID
    shown = json.loads(run_cli(config, "inbound", "show", str(held["id"]), "--json").stdout)
    assert shown["source_ref"] == f"{uidvalidity}:{uids[6]}" and shown["outcome"] == "quarantined"
    table = run_cli(config, "inbound", "list").stdout
    assert "unknown_sender" in table and "LC-2026-00001" in table


def test_since_must_be_a_date(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer, mailbox_user: str,
                             smtp_sink: SmtpSink) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    migrate_and_import(config)
    result = run_cli(config, "inbound", "list", "--since", "yesterday", check=False)
    assert result.returncode == 2 and "--since 'yesterday'" in result.stderr
    assert run_cli(config, "inbound", "list", "--since", "2026-01-01", "--json").stdout.strip() == "[]"
