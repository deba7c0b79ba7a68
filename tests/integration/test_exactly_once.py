"""Exactly once under crashes and concurrency, with real processes, real Dovecot and real databases."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from mailbot.db.models import Case, InboundRecord
from tests.support.bot import imap_source, second_instance_config, smtp_delivery, write_config
from tests.support.cli import cli_env, command, run_cli, start_service, stop_service, wait_until
from tests.support.mailgen import customer_mail

BULKY = b"x" * 300_000  # makes each message take a few milliseconds, so a kill lands mid-batch


def count(url: str, table: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    except Exception:  # noqa: BLE001 - table not there yet
        return 0
    finally:
        engine.dispose()


def case_numbers(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        numbers = list(connection.execute(select(Case.number)).scalars())
    engine.dispose()
    return numbers


def prepare(tmp_path: Path, db_url: str, source: dict, sink, messages_per_commit: int = 20) -> Path:  # type: ignore[no-untyped-def,type-arg]
    # One sender writes every message here; the robot-loop cap on replies would withhold acks after 5.
    config = write_config(tmp_path, db_url=db_url, source=source, delivery=smtp_delivery(sink),
                          limits={"auto_replies_per_sender_per_hour": 1000},
                          database={"url": db_url, "messages_per_commit": messages_per_commit})
    run_cli(config, "db", "upgrade")
    run_cli(config, "directory", "import", str(tmp_path / "directory.toml"))
    return config


def test_sigkill_mid_batch_then_restart_handles_each_message_once(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = prepare(tmp_path, db_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    ids = [f"kill-{n}@acme.test" for n in range(50)]
    for message_id in ids:
        dovecot.append(mailbox_user, customer_mail(message_id=message_id, attachment=("dump.bin", "application/octet-stream", BULKY)))

    first = subprocess.Popen(command(config, "run", "--once"), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: count(db_url, "inbound_messages") >= 5, 60, interval=0.01, what="the first messages")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    handled_before_kill = count(db_url, "inbound_messages")
    assert 5 <= handled_before_kill < 50, "the kill must land in the middle of the batch"

    run_cli(config, "run", "--once")

    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as connection:
        keys = list(connection.execute(select(InboundRecord.message_key)).scalars())
        outcomes = Counter(connection.execute(select(InboundRecord.outcome)).scalars())
        cases = connection.scalar(select(func.count()).select_from(Case))
    engine.dispose()
    assert sorted(keys) == sorted(ids)  # every message exactly one outcome
    assert outcomes == {"case_opened": 50} and cases == 50
    acks = smtp_sink.wait_for(50)
    answered = Counter(mail.message["In-Reply-To"] for mail in acks)
    assert len(acks) == 50 and set(answered.values()) == {1}  # every ack exactly once


@pytest.mark.postgres
def test_a_kill_inside_a_batch_commits_none_of_it_and_the_restart_does_all_of_it_once(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    batch = 8
    config = prepare(tmp_path, db_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink, messages_per_commit=batch)
    ids = [f"batch-kill-{n}@acme.test" for n in range(60)]
    for message_id in ids:
        dovecot.append(mailbox_user, customer_mail(message_id=message_id, attachment=("dump.bin", "application/octet-stream", BULKY)))

    first = subprocess.Popen(command(config, "run", "--once"), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: count(db_url, "inbound_messages") >= batch, 60, interval=0.01, what="the first batch")
    time.sleep(0.05)  # into the next batch's transaction
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    handled_before_kill = count(db_url, "inbound_messages")
    assert batch <= handled_before_kill < 60, "the kill must land in the middle of the mailbox"
    assert handled_before_kill % batch == 0, "a batch commits whole or not at all"
    assert count(db_url, "cases") == handled_before_kill and count(db_url, "outbox") == handled_before_kill

    run_cli(config, "run", "--once")

    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as connection:
        keys = list(connection.execute(select(InboundRecord.message_key)).scalars())
        numbers = list(connection.execute(select(Case.number)).scalars())
    engine.dispose()
    assert sorted(keys) == sorted(ids) and len(set(numbers)) == 60
    acks = smtp_sink.wait_for(60)
    assert sorted(Counter(mail.message["In-Reply-To"] for mail in acks).values()) == [1] * 60  # every ack exactly once


def test_two_run_once_processes_give_200_distinct_case_numbers(tmp_path: Path, pg_url: str, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    users = [dovecot.add_user(f"support-{name}-{os.getpid()}-{tmp_path.name[-6:]}@example.test") for name in ("a", "b")]
    configs = []
    for index, user in enumerate(users):
        folder = tmp_path / f"bot{index}"
        folder.mkdir()
        configs.append(prepare(folder, pg_url, imap_source(dovecot, user, folder), smtp_sink))
        for n in range(100):
            dovecot.append(user, customer_mail(message_id=f"{index}-{n}@acme.test", subject=f"Pedido {index}-{n}"))

    processes = [subprocess.Popen(command(config, "run", "--once"), env=cli_env(), stderr=subprocess.PIPE) for config in configs]
    results = [(process.wait(180), process.stderr.read().decode()[-2000:]) for process in processes]  # type: ignore[union-attr]

    assert [code for code, _ in results] == [0, 0], results
    numbers = case_numbers(pg_url)
    assert len(numbers) == 200 and len(set(numbers)) == 200
    assert sorted(numbers) == [f"LC-2026-{n:05d}" for n in range(1, 201)]  # dense here: no transaction failed
    assert len(smtp_sink.wait_for(200, timeout=60)) == 200


@pytest.mark.postgres
def test_two_services_on_one_mailbox_handle_each_message_once(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = prepare(tmp_path, pg_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    services = [start_service(path, tmp_path / f"service{n}.log") for n, path in enumerate((config, second_instance_config(config)))]
    try:
        wait_until(lambda: all(b"imap connected" in (tmp_path / f"service{n}.log").read_bytes() for n in range(2)), 30,
                   what="both services")
        for n in range(30):
            dovecot.append(mailbox_user, customer_mail(message_id=f"both-{n}@acme.test"))
        wait_until(lambda: count(pg_url, "inbound_messages") >= 30, 60, what="30 messages handled")
        acks = smtp_sink.wait_for(30, timeout=30)
    finally:
        codes = [stop_service(service) for service in services]
    assert codes == [0, 0]
    assert count(pg_url, "inbound_messages") == 30
    assert len(acks) == 30 and len({mail.message["In-Reply-To"] for mail in acks}) == 30
    assert len(set(case_numbers(pg_url))) == 30


@pytest.mark.postgres
def test_quota_race_between_two_processes_gives_one_case_and_one_refusal(tmp_path: Path, pg_url: str, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    accounts = [f"acct{n:02d}" for n in range(30)]
    directory = "\n".join(
        f'[[accounts]]\nkey = "{key}"\nname = "{key}"\nplan = "standard"\n'
        f'contracts = [{{ reference = "{key}", starts_on = 2020-01-01 }}]\ncontacts = [{{ email = "c@{key}.test" }}]\n'
        for key in accounts
    )
    users = [dovecot.add_user(f"quota-{side}-{tmp_path.name[-8:]}@example.test") for side in ("a", "b")]
    configs = []
    for side, user in zip(("a", "b"), users):
        folder = tmp_path / side
        folder.mkdir()
        config = write_config(folder, db_url=pg_url, source=imap_source(dovecot, user, folder), delivery=smtp_delivery(smtp_sink),
                              presets=("lastcall",), directory=directory)
        run_cli(config, "db", "upgrade")
        run_cli(config, "directory", "import", str(folder / "directory.toml"))
        configs.append(config)
    # Two of the three requests of the month are used; then the 3rd and 4th arrive at once, one in each mailbox.
    for key in accounts:
        for n in range(2):
            dovecot.append(users[0], customer_mail(sender=f"c@{key}.test", subject=f"[problema] {n}"))
    run_cli(configs[0], "run", "--once")
    # Opposite orders: wherever the two runs overlap in time, they meet on the same account.
    for user, order in ((users[0], accounts), (users[1], accounts[::-1])):
        for key in order:
            dovecot.append(user, customer_mail(sender=f"c@{key}.test", subject="[problema] al mismo tiempo"))

    processes = [subprocess.Popen(command(config, "run", "--once"), env=cli_env(), stderr=subprocess.PIPE) for config in configs]
    assert [process.wait(120) for process in processes] == [0, 0]

    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT a.key, count(c.id) FROM accounts a LEFT JOIN cases c ON c.account_id = a.id GROUP BY a.key")).all()
        refusals = connection.execute(text(
            "SELECT count(*) FROM inbound_messages WHERE rule = 'monthly_quota'")).scalar_one()
    engine.dispose()
    assert dict(rows) == {key: 3 for key in accounts}
    assert refusals == len(accounts)


TERMINATION_ROUNDS = 10


@pytest.mark.postgres
def test_terminated_database_connections_lose_and_double_nothing(tmp_path: Path, pg_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    """pg_terminate_backend on every connection of the bot, again and again, while mail streams in."""
    config = prepare(tmp_path, pg_url, imap_source(dovecot, mailbox_user, tmp_path), smtp_sink)
    database = pg_url.rsplit("/", 1)[1]
    admin = create_engine(pg_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    locker = create_engine(pg_url, poolclass=NullPool)
    stop = threading.Event()
    terminated: list[int] = []

    def terminate_backends() -> None:
        # Rounds alternate. A trapping round holds a lock on the intake log until one of the bot's connections
        # waits for it (so is surely inside a transaction), then terminates that connection: handling a message
        # takes milliseconds, so terminations at random moments would rarely find one. A sweeping round
        # terminates every connection, idle or not. Ten rounds, then the database stays up.
        while not stop.wait(0.4) and len(terminated) < TERMINATION_ROUNDS:
            terminated.append(trap_one() if len(terminated) % 2 == 0 else sweep_all())

    def trap_one() -> int:
        # The lock is held on a connection of its own: pg_stat_activity, read inside one transaction, would not change.
        with locker.begin() as holding, admin.connect() as connection:
            holding.execute(text("LOCK TABLE inbound_messages IN ACCESS EXCLUSIVE MODE"))
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not stop.is_set():
                caught = int(connection.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db"
                    " AND pid NOT IN (pg_backend_pid(), :holder) AND wait_event_type = 'Lock'"),
                    {"db": database, "holder": holding.connection.dbapi_connection.info.backend_pid}).scalar_one())
                if caught:
                    return caught
                time.sleep(0.01)
            return 0

    def sweep_all() -> int:
        with admin.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database}).scalar_one())

    log = tmp_path / "service.log"
    service = start_service(config, log)
    terminator = threading.Thread(target=terminate_backends, daemon=True)
    ids = [f"pg-kill-{n}@acme.test" for n in range(40)]
    try:
        wait_until(lambda: b"imap connected" in log.read_bytes(), 30, what="the service")
        terminator.start()
        for message_id in ids:
            dovecot.append(mailbox_user, customer_mail(message_id=message_id, subject=f"Caída {message_id}",
                                                       attachment=("dump.bin", "application/octet-stream", BULKY)))  # a longer transaction
            time.sleep(0.1)
        wait_until(lambda: count(pg_url, "inbound_messages") >= 40, 90, what="40 messages handled")
        acks = smtp_sink.wait_for(40, timeout=60)
    finally:
        stop.set()
        if terminator.is_alive():
            terminator.join(5)
        code = stop_service(service)
        admin.dispose()
        locker.dispose()
    assert code == 0, log.read_text()[-3000:]
    assert sum(terminated) >= 5, f"only {sum(terminated)} connections were terminated"
    assert sum(terminated[0::2]) >= 1, f"no termination caught a transaction: {terminated}"
    assert "unavailable; retrying quietly" in log.read_text()  # some terminations landed inside a transaction
    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.connect() as connection:
        keys = list(connection.execute(select(InboundRecord.message_key)).scalars())
        outcomes = Counter(connection.execute(select(InboundRecord.outcome)).scalars())
    engine.dispose()
    assert sorted(keys) == sorted(ids) and outcomes == {"case_opened": 40}
    assert len(set(case_numbers(pg_url))) == 40
    answered = {mail.message["In-Reply-To"] for mail in acks}
    assert len(answered) == 40  # every message acknowledged; a repeat would carry the same Message-ID
    assert len({mail.message["Message-ID"] for mail in acks}) == 40
