"""The real command line, end to end, against real Dovecot and a real SMTP server."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import run_cli, start_service, stop_service, wait_until
from tests.support.mailgen import customer_mail


def test_run_once_acknowledges_and_cases_list_shows_the_case(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    assert "OK" in run_cli(config, "check-config").stdout
    run_cli(config, "db", "upgrade")
    assert "3 accounts created" in run_cli(config, "directory", "import", str(tmp_path / "directory.toml")).stdout
    assert "no changes" in run_cli(config, "directory", "import", str(tmp_path / "directory.toml")).stdout
    dovecot.append(mailbox_user, customer_mail(message_id="cli-1@acme.test", references=("earlier@acme.test",),
                                               subject="La réplica no sincroniza"))

    run_cli(config, "run", "--once")

    [ack] = smtp_sink.wait_for(1)
    message = ack.message
    assert message["Subject"] == "[LC-2026-00001] La réplica no sincroniza"
    assert message["In-Reply-To"] == "<cli-1@acme.test>"
    assert message["References"] == "<earlier@acme.test> <cli-1@acme.test>"
    assert message["Reply-To"] == "support@example.test"
    cases = json.loads(run_cli(config, "cases", "list", "--json").stdout)
    assert [(case["number"], case["account"], case["contact"], case["status"]) for case in cases] == [
        ("LC-2026-00001", "acme", "ana@acme.test", "open")
    ]
    shown = json.loads(run_cli(config, "cases", "show", "LC-2026-00001", "--json").stdout)
    assert [m["direction"] for m in shown["messages"]] == ["in", "out"]
    assert shown["messages"][1]["delivery"]["status"] == "sent"
    assert "LC-2026-00001" in run_cli(config, "cases", "list").stdout


def test_idle_acknowledges_new_mail_within_two_seconds(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, delivery=smtp_delivery(smtp_sink),
                          source=imap_source(dovecot, mailbox_user, tmp_path, poll_interval_seconds=60))
    run_cli(config, "db", "upgrade")
    run_cli(config, "directory", "import", str(tmp_path / "directory.toml"))
    log = tmp_path / "service.log"
    service = start_service(config, log)
    try:
        wait_until(lambda: b"imap connected" in log.read_bytes(), 20, what="the service to connect")
        time.sleep(1.0)  # let it settle into IDLE
        sent_at = time.monotonic()
        dovecot.append(mailbox_user, customer_mail())
        smtp_sink.wait_for(1, timeout=10)
        latency = time.monotonic() - sent_at
    finally:
        assert stop_service(service) == 0, log.read_text()
    assert latency < 2.0, f"acknowledged after {latency:.2f} s"
    assert b"service stopped" in log.read_bytes()


def test_run_refuses_an_out_of_date_schema(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    result = run_cli(config, "run", "--once", check=False)
    assert result.returncode == 4
    assert "mailbot db upgrade" in result.stderr


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[support]\naddress = "nope"\n[source]\nkind = "imap"\nhost = "mail.example.com"\ntls = "none"\n'
                      'user = "u"\n[delivery]\nkind = "carrier-pigeon"\n')
    result = run_cli(config, "check-config", check=False)
    assert result.returncode == 3
    assert f"{config}: support.address" in result.stderr
    assert "loopback" in result.stderr
    assert "delivery" in result.stderr
