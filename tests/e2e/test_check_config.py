"""`mailbot check-config` as an operator runs it: every problem in one run, and --connect against real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import skip_or_fail
from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.smtp_sink import SmtpSink
from tests.support.tls import self_signed_certificate

EXIT_CONFIG, EXIT_SERVER = 3, 8


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    """A submission server that wants AUTH (user mailbot, password secret) before MAIL FROM."""
    with SmtpSink(auth_required=True) as sink:
        yield sink


def smtp_with_login(sink: SmtpSink, folder: Path, password: str = "secret") -> dict[str, Any]:
    secret = folder / "smtp-password"
    secret.write_text(password + "\n")
    return {**smtp_delivery(sink), "user": "mailbot", "password_file": str(secret)}


def connect(config: Path) -> tuple[int, dict[str, str], str]:
    """Exit code, the findings line of each server by protocol (IMAP, SMTP, database), and stderr."""
    result = run_cli(config, "check-config", "--connect", check=False)
    lines = {line.split(" ", 1)[0]: line for line in result.stdout.splitlines() if " " in line}
    return result.returncode, lines, result.stderr


def test_good_setup_is_all_ok(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, auth_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=pg_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_with_login(auth_sink, tmp_path))
    run_cli(config, "db", "upgrade")

    code, lines, stderr = connect(config)

    assert code == 0, stderr
    assert lines["IMAP"] == (f"IMAP {dovecot.host}:{dovecot.imap_port} (no TLS): login OK as {mailbox_user}, folder INBOX exists, "
                             f"UIDVALIDITY {dovecot.uidvalidity(mailbox_user)}, 0 messages, IDLE offered")
    assert lines["SMTP"].startswith(f"SMTP {auth_sink.host}:{auth_sink.port} (no TLS): EHLO OK (")
    assert lines["SMTP"].endswith("), AUTH accepted as mailbot, nothing sent")
    assert "reachable, schema at " in lines["database"] and lines["database"].endswith("(the code's head)")
    assert auth_sink.received == []


def test_wrong_imap_password(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    source = imap_source(dovecot, mailbox_user, tmp_path)
    Path(source["password_file"]).write_text("not-the-password\n")
    config = write_config(tmp_path, db_url=sqlite_url, source=source, delivery=smtp_delivery(smtp_sink))
    run_cli(config, "db", "upgrade")

    code, lines, _stderr = connect(config)

    assert code == EXIT_SERVER, _stderr
    assert lines["IMAP"] == (f"IMAP {dovecot.host}:{dovecot.imap_port} (no TLS): FAILED: login refused: "
                             "[AUTHENTICATIONFAILED] Authentication failed. -> check source.user and the password in "
                             f"source.password_file ({source['password_file']})")
    assert "FAILED" not in lines["SMTP"] and "FAILED" not in lines["database"]


def test_unresolvable_hosts(tmp_path: Path, sqlite_url: str) -> None:
    secret = tmp_path / "password"
    secret.write_text("secret\n")
    source = {"kind": "imap", "host": "imap.mailbot.invalid", "user": "support@example.com", "password_file": str(secret)}
    delivery = {"kind": "smtp", "host": "smtp.mailbot.invalid", "port": 587}
    config = write_config(tmp_path, db_url=sqlite_url, source=source, delivery=delivery)

    code, lines, _stderr = connect(config)

    assert code == EXIT_SERVER, _stderr
    assert lines["IMAP"].startswith("IMAP imap.mailbot.invalid:993 (implicit TLS): FAILED: the name imap.mailbot.invalid does not resolve")
    assert lines["IMAP"].endswith("-> check source.host")
    assert lines["SMTP"].startswith("SMTP smtp.mailbot.invalid:587 (STARTTLS): FAILED: the name smtp.mailbot.invalid does not resolve")
    assert lines["database"].endswith("FAILED: no database file yet: schema not created -> run `mailbot db upgrade`")


def test_missing_folder_names_the_folders_that_exist(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path, folder="Support"),
                          delivery=smtp_delivery(smtp_sink))
    run_cli(config, "db", "upgrade")

    code, lines, _stderr = connect(config)

    assert code == EXIT_SERVER, _stderr
    assert lines["IMAP"].endswith("FAILED: folder Support does not exist (folders: INBOX, Processed) "
                                  "-> set source.folder to one of them, or create it")


def test_wrong_smtp_password(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, auth_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_with_login(auth_sink, tmp_path, password="wrong"))
    run_cli(config, "db", "upgrade")

    code, lines, _stderr = connect(config)

    assert code == EXIT_SERVER, _stderr
    assert lines["SMTP"].startswith(f"SMTP {auth_sink.host}:{auth_sink.port} (no TLS): FAILED: login as mailbot refused: 535 ")
    assert lines["SMTP"].endswith(f"-> check delivery.user and the password in delivery.password_file ({tmp_path / 'smtp-password'})")
    assert "FAILED" not in lines["IMAP"]


def test_database_not_migrated(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=pg_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))

    code, lines, _stderr = connect(config)

    assert code == EXIT_SERVER, _stderr
    assert lines["database"].endswith("FAILED: reachable, but the schema is not created -> run `mailbot db upgrade`")


def test_missing_database_is_named(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=pg_url.rsplit("/", 1)[0] + "/mailbot_no_such_db",
                          source=imap_source(dovecot, mailbox_user, tmp_path), delivery=smtp_delivery(smtp_sink))

    code, lines, _stderr = connect(config)

    assert code == EXIT_SERVER, _stderr
    assert 'FAILED: not reachable: ' in lines["database"] and '"mailbot_no_such_db" does not exist' in lines["database"]
    assert lines["database"].endswith("-> check database.url (host, port, user, password, database name) and that the server is running")


FOUR_MISTAKES = """
[support]
address = "support.example.com"
[source]
kind = "imap"
host = "imap.example.com"
user = "support@example.com"
password_file = "imap-password"
[delivery]
kind = "smtp"
host = "smtp.example.com"
[templates]
path = "my-templates"
[plans.gold]
calendar = "office"
"""


def test_four_independent_mistakes_are_all_listed_without_touching_the_network(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text("")
    config = tmp_path / "mailbot.toml"
    config.write_text(FOUR_MISTAKES)

    result = run_cli(config, "check-config", check=False)

    assert result.returncode == EXIT_CONFIG
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert problems == [
        f"{config}: support.address: must be an email address such as support@example.com",
        f"{config}: plans.gold.calendar: unknown calendar 'office' (known: 24x7)",
        f"{config}: source.password_file: {tmp_path / 'imap-password'} is empty",
        f"{config}: templates.path: {tmp_path / 'my-templates'} is not an existing folder"
        " (create it, or remove the key for the shipped templates)",
    ]
    assert result.stdout == ""


def test_empty_environment_secret_and_missing_sqlite_folder(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    source = {"kind": "imap", "host": "127.0.0.1", "tls": "none", "user": "u", "password_env": "MAILBOT_TEST_EMPTY"}
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/gone/mailbot.db", source=source, delivery=smtp_delivery(smtp_sink))

    result = run_cli(config, "check-config", check=False, env={"MAILBOT_TEST_EMPTY": ""})

    assert result.returncode == EXIT_CONFIG
    assert "source.password_env: environment variable MAILBOT_TEST_EMPTY is empty" in result.stderr
    assert f"database.url: folder {tmp_path}/gone of the SQLite file does not exist" in result.stderr


def test_directory_file_problems(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source={"kind": "maildir", "path": str(tmp_path)},
                          delivery=smtp_delivery(smtp_sink))
    directory = tmp_path / "customers.toml"
    directory.write_text('[[accounts]]\nkey = "initech"\nname = "Initech"\nplan = "platinum"\n'
                         'contacts = [{ email = "peter@initech.example", name = "Peter Gibbons" }]\n')

    result = run_cli(config, "check-config", "--directory", str(directory), check=False)

    assert result.returncode == EXIT_CONFIG
    assert (f"{directory}:1: account 'initech': plan 'platinum' is not defined in the configuration (known: advanced, standard)"
            in result.stderr)
    assert not (tmp_path / "bot.db").exists()  # nothing was written, not even an empty database


def test_version() -> None:
    result = run_cli(Path("unused.toml"), "--version")
    assert result.stdout.startswith("mailbot ") and result.stdout.split()[1][0].isdigit()


def test_untrusted_certificate_names_the_ca_file_setting(tmp_path: Path, sqlite_url: str) -> None:
    certificate = self_signed_certificate(tmp_path)
    if certificate is None:
        skip_or_fail("openssl not installed")
    assert certificate is not None
    with SmtpSink(tls=certificate) as sink:
        config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": str(tmp_path)},
                              delivery={**smtp_delivery(sink), "tls": "starttls"})
        code, lines, _stderr = connect(config)
    assert code == EXIT_SERVER, _stderr
    assert f"SMTP {sink.host}:{sink.port} (STARTTLS): FAILED: TLS certificate not accepted: " in lines["SMTP"]
    assert "-> set delivery.tls_ca_file to the PEM file of the CA that signed it" in lines["SMTP"]
