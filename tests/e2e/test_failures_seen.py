"""Failures that are seen: refusals are loud and fatal, outages quiet and retried, exit codes tell cron which."""

from __future__ import annotations

import json
import time
from pathlib import Path

from mailbot.runtime.exit_codes import EXIT_MAILBOX_UNREADABLE, EXIT_OK, EXIT_REFUSED, EXIT_UNDELIVERED
from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import migrate_and_import, run_cli, start_service
from tests.support.dovecot import DovecotServer, free_port
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink


def prepared_config(tmp_path: Path, source: dict[str, object], delivery: dict[str, object], **sections: dict[str, object]) -> Path:
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source=source, delivery=delivery, **sections)
    migrate_and_import(config)
    return config


def wrong_imap_password(tmp_path: Path, dovecot: DovecotServer, user: str) -> dict[str, object]:
    source = imap_source(dovecot, user, tmp_path)
    Path(str(source["password_file"])).write_text("not-the-password\n")
    return source


def test_wrong_imap_password_is_fatal_at_once_for_run_once(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str,
                                                            smtp_sink: SmtpSink) -> None:
    config = prepared_config(tmp_path, wrong_imap_password(tmp_path, dovecot, mailbox_user), smtp_delivery(smtp_sink))
    result = run_cli(config, "run", "--once", check=False)
    assert result.returncode == EXIT_REFUSED, result.stderr
    assert "login refused: [AUTHENTICATIONFAILED] Authentication failed." in result.stderr
    assert "b'" not in result.stderr and f"{mailbox_user}@" not in result.stderr
    assert "source.password_file" in result.stderr  # what to change


def test_wrong_imap_password_stops_the_service_after_the_configured_tries(tmp_path: Path, dovecot: DovecotServer,
                                                                          mailbox_user: str, smtp_sink: SmtpSink) -> None:
    config = prepared_config(tmp_path, wrong_imap_password(tmp_path, dovecot, mailbox_user), smtp_delivery(smtp_sink),
                             service={"refused_tries": 2, "refused_retry_seconds": 0.5})
    log = tmp_path / "service.log"
    started = time.monotonic()
    service = start_service(config, log)
    code = service.wait(timeout=60)
    text = log.read_text()
    assert code == EXIT_REFUSED, text
    assert text.count("refused by the server") == 2
    assert "giving up: a server keeps refusing us" in text
    assert "outage" not in text and "retrying quietly" not in text
    assert time.monotonic() - started < 45  # Dovecot delays each failed login from one address more


def test_missing_folder_is_a_refusal_that_names_the_folder(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str,
                                                          smtp_sink: SmtpSink) -> None:
    config = prepared_config(tmp_path, imap_source(dovecot, mailbox_user, tmp_path, folder="Soporte"),
                             smtp_delivery(smtp_sink))
    result = run_cli(config, "run", "--once", check=False)
    assert result.returncode == EXIT_REFUSED
    assert "folder 'Soporte' does not exist" in result.stderr and "source.folder" in result.stderr


def test_mailbox_down_exits_5_and_says_so(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str,
                                          smtp_sink: SmtpSink) -> None:
    config = prepared_config(tmp_path, imap_source(dovecot, mailbox_user, tmp_path, port=free_port()),
                             smtp_delivery(smtp_sink))
    result = run_cli(config, "run", "--once", check=False)
    assert result.returncode == EXIT_MAILBOX_UNREADABLE
    assert "mailbox unavailable" in result.stderr and "connection refused" in result.stderr


def test_undelivered_mail_exits_6_and_every_row_says_why(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str) -> None:
    dead_smtp = {"kind": "smtp", "host": "127.0.0.1", "port": free_port(), "tls": "none"}
    config = prepared_config(tmp_path, imap_source(dovecot, mailbox_user, tmp_path), dead_smtp)
    dovecot.append(mailbox_user, customer_mail())
    result = run_cli(config, "run", "--once", check=False)
    assert result.returncode == EXIT_UNDELIVERED, result.stderr
    [row] = json.loads(run_cli(config, "outbox", "list", "--json").stdout)
    assert row["status"] == "pending" and "unreachable" in row["last_error"]
    assert "not sent yet" in run_cli(config, "outbox", "list").stdout


def test_wrong_smtp_password_exits_7_and_is_recorded_on_the_rows(tmp_path: Path, dovecot: DovecotServer,
                                                                 mailbox_user: str) -> None:
    with SmtpSink(auth_required=True) as sink:
        password = tmp_path / "smtp-password"
        password.write_text("wrong\n")
        delivery = {**smtp_delivery(sink), "user": "mailbot", "password_file": str(password)}
        config = prepared_config(tmp_path, imap_source(dovecot, mailbox_user, tmp_path), delivery)
        dovecot.append(mailbox_user, customer_mail())
        result = run_cli(config, "run", "--once", check=False)
        assert result.returncode == EXIT_REFUSED, result.stderr
        assert "login as mailbot refused: 535" in result.stderr and "server unreachable" not in result.stderr
        [row] = json.loads(run_cli(config, "outbox", "list", "--json").stdout)
        assert row["status"] == "pending" and "refused: 535" in row["last_error"]
        password.write_text("secret\n")
        assert run_cli(config, "run", "--once", check=False).returncode == EXIT_OK
        assert len(sink.wait_for(1)) == 1
