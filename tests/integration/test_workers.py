"""`mailbot run --workers N` on real Dovecot and PostgreSQL: one mailbox shared, each message handled exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from mailbot.db.models import Case, InboundRecord, MailboxCheckpoint
from tests.integration.test_exactly_once import BULKY, count, prepare
from tests.support.bot import imap_source, write_config
from tests.support.cli import cli_env, command, run_cli, stop_service, wait_until
from tests.support.mailgen import customer_mail

pytestmark = pytest.mark.postgres


def records(url: str) -> tuple[list[str], Counter[str], list[str]]:
    """Every inbound record's key, the outcomes, and every case number."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        keys = list(connection.execute(select(InboundRecord.message_key)).scalars())
        outcomes = Counter(connection.execute(select(InboundRecord.outcome)).scalars())
        numbers = list(connection.execute(select(Case.number)).scalars())
    engine.dispose()
    return keys, outcomes, numbers


def checkpoints(url: str) -> dict[str, int]:
    """Checkpoint rows by their share suffix ("" for the whole mailbox): last UID."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(select(MailboxCheckpoint.source, MailboxCheckpoint.last_uid)).all()
    engine.dispose()
    return {source.partition("#")[2]: last_uid for source, last_uid in rows}


def append(dovecot, user: str, ids: list[str], **options) -> None:  # type: ignore[no-untyped-def]
    for message_id in ids:
        dovecot.append(user, customer_mail(message_id=message_id, subject=f"Pedido {message_id}", **options))


def assert_each_once(url: str, ids: list[str], sink) -> None:  # type: ignore[no-untyped-def]
    keys, outcomes, numbers = records(url)
    assert sorted(keys) == sorted(ids)  # every message exactly one inbound record
    assert outcomes == {"case_opened": len(ids)}
    assert len(numbers) == len(ids) and len(set(numbers)) == len(ids)  # one case each, numbers unique
    acks = sink.wait_for(len(ids), timeout=60)
    assert len(acks) == len(ids) and len({mail.message["In-Reply-To"] for mail in acks}) == len(ids)


def test_two_workers_share_a_mailbox_and_handle_each_message_once(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = prepare(tmp_path, pg_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    first = [f"w-once-{n}@acme.test" for n in range(40)]
    append(dovecot, mailbox_user, first)
    result = run_cli(config, "run", "--once", "--workers", "2")
    assert result.stderr.count("worker started") == 2
    assert_each_once(pg_url, first, smtp_sink)
    assert set(checkpoints(pg_url)) == {"0/2", "1/2"}  # each worker its own checkpoint

    log = tmp_path / "service.log"
    service = subprocess.Popen(command(config, "run", "--workers", "2"), stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               env=cli_env())
    try:
        wait_until(lambda: log.read_bytes().count(b"imap connected") == 2, 30, what="both workers")
        later = [f"w-run-{n}@acme.test" for n in range(30)]
        append(dovecot, mailbox_user, later)
        wait_until(lambda: count(pg_url, "inbound_messages") >= 70, 60, what="70 messages handled")
        # A stop sends the message in hand and leaves the rest queued for the next start: wait for the last replies.
        smtp_sink.wait_for(70, timeout=60)
    finally:
        code = stop_service(service, timeout=30)  # SIGTERM to the parent stops both workers
    assert code == 0, log.read_text()[-3000:]
    assert log.read_text().count("service stopped") == 2
    assert log.read_text().count("health endpoint listening") == 1  # worker 0 serves it, once
    assert_each_once(pg_url, first + later, smtp_sink)


def test_the_monthly_quota_holds_when_two_workers_meet_on_one_account(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    accounts = [f"acct{n:02d}" for n in range(30)]
    directory = "\n".join(
        f'[[accounts]]\nkey = "{key}"\nname = "{key}"\nplan = "standard"\n'
        f'contracts = [{{ reference = "{key}", starts_on = 2020-01-01 }}]\ncontacts = [{{ email = "c@{key}.test" }}]\n'
        for key in accounts
    )
    config = write_config(tmp_path, db_url=pg_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery={"kind": "smtp", "host": smtp_sink.host, "port": smtp_sink.port, "tls": "none"},
                          presets=("lastcall",), directory=directory)
    run_cli(config, "db", "upgrade")
    run_cli(config, "directory", "import", str(tmp_path / "directory.toml"))
    for key in accounts:  # two of the three requests of the month are used
        for n in range(2):
            dovecot.append(mailbox_user, customer_mail(sender=f"c@{key}.test", subject=f"[problema] {n}"))
    run_cli(config, "run", "--once")
    # The 3rd and 4th request of each account arrive one after the other: consecutive UIDs, one for each worker.
    for key in accounts:
        for n in range(2):
            dovecot.append(mailbox_user, customer_mail(sender=f"c@{key}.test", subject=f"[problema] a la vez {n}"))
    run_cli(config, "run", "--once", "--workers", "2")

    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT a.key, count(c.id) FROM accounts a LEFT JOIN cases c ON c.account_id = a.id GROUP BY a.key")).all()
        refusals = connection.execute(text("SELECT count(*) FROM inbound_messages WHERE rule = 'monthly_quota'")).scalar_one()
    engine.dispose()
    assert dict(rows) == {key: 3 for key in accounts}
    assert refusals == len(accounts)


def worker_pids(log: str) -> dict[str, int]:
    return {share: int(pid) for share, pid in re.findall(r"worker started worker=(\d+/\d+) pid=(\d+)", log)}


def run_and_kill_one_worker(config: Path, url: str, log: Path, workers: int, handled_before: int) -> int:
    """`run --once --workers N`; SIGKILL worker 1 once a few more messages are handled; returns the set's exit code."""
    parent = subprocess.Popen(command(config, "run", "--once", "--workers", str(workers)), stdout=log.open("wb"),
                              stderr=subprocess.STDOUT, env=cli_env())
    wait_until(lambda: count(url, "inbound_messages") >= handled_before + 6, 60, interval=0.01, what="the first messages")
    os.kill(worker_pids(log.read_text())[f"1/{workers}"], signal.SIGKILL)
    return parent.wait(120)


def test_a_worker_killed_mid_run_loses_and_repeats_nothing_after_a_restart(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = prepare(tmp_path, pg_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    ids = [f"w-kill-{n}@acme.test" for n in range(60)]
    append(dovecot, mailbox_user, ids, attachment=("dump.bin", "application/octet-stream", BULKY))

    code = run_and_kill_one_worker(config, pg_url, tmp_path / "killed.log", 2, 0)
    assert code == 1, "a killed worker makes the set fail"  # the other worker finished its share
    assert count(pg_url, "inbound_messages") < 60, "the kill must land before the end"

    run_cli(config, "run", "--once", "--workers", "2")
    assert_each_once(pg_url, ids, smtp_sink)


def test_changing_the_number_of_workers_between_runs_loses_nothing(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = prepare(tmp_path, pg_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    batches = [[f"w-n{batch}-{n}@acme.test" for n in range(30)] for batch in range(4)]
    append(dovecot, mailbox_user, batches[0])
    run_cli(config, "run", "--once")  # one worker: the mailbox's own checkpoint
    assert checkpoints(pg_url) == {"": 30}

    # Two workers, one killed early: its share's checkpoint stays behind the other's.
    append(dovecot, mailbox_user, batches[1], attachment=("dump.bin", "application/octet-stream", BULKY))
    run_and_kill_one_worker(config, pg_url, tmp_path / "two.log", 2, 30)
    behind = checkpoints(pg_url)
    assert behind["1/2"] < behind["0/2"] == 60 and behind[""] == 30

    append(dovecot, mailbox_user, batches[2])
    run_cli(config, "run", "--once")  # back to one: it starts where both shares had got to, not at its old 30
    assert checkpoints(pg_url)[""] == 90
    append(dovecot, mailbox_user, batches[3])
    run_cli(config, "run", "--once", "--workers", "2")  # and two again: each share starts at 90
    assert checkpoints(pg_url) == {"": 90, "0/2": 120, "1/2": 119}
    assert_each_once(pg_url, [key for batch in batches for key in batch], smtp_sink)


@pytest.mark.parametrize("flag", [("--workers", "2"), ("--partition", "1/2")])
def test_more_than_one_worker_on_sqlite_is_refused_with_the_reason(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink, flag: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    config = prepare(tmp_path, sqlite_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    result = run_cli(config, "run", "--once", *flag, check=False)
    assert result.returncode == 3
    assert "need PostgreSQL: SQLite has a single writer" in result.stderr
