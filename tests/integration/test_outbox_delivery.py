"""Outbox delivery on real parts: batch claims under a lease, a pool of SMTP sessions, batched records, overlap."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select, text

from mailbot.app import App
from mailbot.db.models import OutboxMessage
from mailbot.delivery.claims import CLAIM_BATCH, claim_due
from mailbot.runtime.runner import deliver_once, run_once
from tests.support.bot import prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink


def outbox_app(tmp_path: Path, db_url: str, sink: SmtpSink | None = None, **sections: dict) -> App:  # type: ignore[type-arg]
    delivery = smtp_delivery(sink) if sink else {"kind": "maildir", "path": str(tmp_path / "out")}
    config = write_config(tmp_path, db_url=db_url, source={"kind": "maildir", "path": str(tmp_path / "in")},
                          delivery=delivery, **sections)
    return prepared_app(config, seed=False)


def queue_rows(app: App, count: int, *, due: datetime | None = None, priority=lambda n: 0) -> None:  # type: ignore[no-untyped-def]
    now = due or app.clock.now()
    rows = [dict(message_id=f"m{n}@example.test", kind="acknowledgment", recipient=f"c{n}@acme.test",
                 envelope_from="support@example.test", subject=f"s{n}",
                 raw=f"Message-ID: <m{n}@example.test>\r\nSubject: s{n}\r\n\r\nx\r\n".encode(), is_auto_reply=False,
                 status="pending", attempts=0, next_attempt_at=now - timedelta(seconds=count - n), created_at=now,
                 priority=priority(n)) for n in range(count)]
    with app.sessions() as session:
        session.execute(insert(OutboxMessage), rows)
        session.commit()


def statuses(app: App) -> Counter[tuple[str, int]]:
    with app.sessions() as session:
        return Counter((row.status, row.attempts) for row in session.scalars(select(OutboxMessage)))


def test_two_claimers_never_take_the_same_row(tmp_path: Path, db_url: str) -> None:
    app = outbox_app(tmp_path, db_url)
    queue_rows(app, 300)
    start = threading.Barrier(2)
    taken: list[list[int]] = [[], []]

    def claimer(mine: list[int]) -> None:
        start.wait()
        while batch := claim_due(app, app.clock.now()):
            assert len(batch) <= CLAIM_BATCH
            mine.extend(item.row_id for item in batch)

    threads = [threading.Thread(target=claimer, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    leased = statuses(app)
    app.dispose()
    assert not set(taken[0]) & set(taken[1])
    assert len(taken[0]) + len(taken[1]) == 300 and leased == {("sending", 0): 300}


def test_claims_follow_priority_then_due_time(tmp_path: Path, db_url: str) -> None:
    app = outbox_app(tmp_path, db_url)
    queue_rows(app, 30, priority=lambda n: 1 if n % 3 == 0 else 0)
    batch = claim_due(app, app.clock.now())
    app.dispose()
    expected = [n for n in range(30) if n % 3 == 0] + [n for n in range(30) if n % 3][:CLAIM_BATCH - 10]
    assert [item.message_id for item in batch] == [f"m{n}@example.test" for n in expected]


def test_claim_reads_the_index_in_order_without_sorting(tmp_path: Path, db_url: str) -> None:
    from mailbot.delivery.claims import _claim_query

    app = outbox_app(tmp_path, db_url)
    queue_rows(app, 3000)
    with app.sessions() as session:
        session.execute(text("ANALYZE"))
        compiled = _claim_query(app.clock.now(), CLAIM_BATCH, ()).compile(app.engine, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if app.engine.dialect.name == "sqlite" else "EXPLAIN "
        plan = "\n".join(str(row[-1]) for row in session.execute(text(explain + str(compiled))))
    app.dispose()
    assert "ix_outbox_claim" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_two_sessions_send_every_row_exactly_once_in_few_statements(tmp_path: Path, db_url: str, smtp_sink: SmtpSink) -> None:
    app = outbox_app(tmp_path, db_url, smtp_sink, outbox={"connections": 2})
    queue_rows(app, 120)
    statements: list[str] = []
    commits: list[bool] = []
    event.listen(app.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    event.listen(app.engine, "commit", lambda _connection: commits.append(True))
    report = deliver_once(app)
    leased = statuses(app)
    app.dispose()
    received = smtp_sink.wait_for(120)
    assert report.outcomes == {"sent": 120} and leased == {("sent", 1): 120}
    assert sorted(Counter(mail.message["Message-ID"] for mail in received).values()) == [1] * 120
    assert len({mail.peer for mail in received}) == 2  # both sessions carried mail
    # Per 100 messages: a claim (requeue, select, lease) whose transaction also records, in one executemany, what
    # was sent since the last claim: nowhere near the five statements per message of one transaction per row.
    assert len(statements) < 120 // 4, Counter(statement.split()[0] for statement in statements)
    # Each write transaction waits for the lock on SQLite, behind ingest: claims of 100 rows (and the record of
    # the sent ones in the next claim's) keep these few: 2 claims, the one that finds the queue empty, the check first.
    assert len(commits) <= 5, len(commits)


def test_a_failing_row_among_many_is_retried_alone(tmp_path: Path, db_url: str, smtp_sink: SmtpSink) -> None:
    app = outbox_app(tmp_path, db_url, smtp_sink, outbox={"connections": 2, "backoff_initial_seconds": 60})
    queue_rows(app, 60)
    smtp_sink.fail_next(1, 451, "greylisted")
    report = deliver_once(app)
    with app.sessions() as session:
        waiting = session.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent")).one()
    leased = statuses(app)
    app.dispose()
    assert report.outcomes == {"sent": 59, "retry": 1}
    assert leased == {("sent", 1): 59, ("pending", 1): 1}
    assert "451" in (waiting.last_error or "") and waiting.next_attempt_at > datetime.now(waiting.next_attempt_at.tzinfo)
    assert len(smtp_sink.wait_for(59)) == 59


def test_a_permanent_failure_among_many_fails_alone(tmp_path: Path, sqlite_url: str, smtp_sink: SmtpSink) -> None:
    app = outbox_app(tmp_path, sqlite_url, smtp_sink)
    queue_rows(app, 30)
    smtp_sink.fail_next(1, 550, "no such user")
    assert deliver_once(app).outcomes == {"sent": 29, "failed": 1}
    assert statuses(app) == {("sent", 1): 29, ("failed", 1): 1}
    app.dispose()


def test_run_once_delivers_while_ingest_is_still_going(tmp_path: Path, sqlite_url: str, smtp_sink: SmtpSink) -> None:
    inbox = tmp_path / "in"
    for folder in ("new", "cur", "tmp"):
        (inbox / folder).mkdir(parents=True)
    count = 3 * CLAIM_BATCH
    for n in range(count):
        (inbox / "new" / f"{n}.m.host").write_bytes(customer_mail(message_id=f"overlap-{n}@acme.test", subject=f"Caso {n}"))
    # A commit per message: SQLite has one writer, and a delivery claim gets in only between ingest's transactions.
    config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": str(inbox)},
                          delivery=smtp_delivery(smtp_sink), limits={"auto_replies_per_sender_per_hour": 1000},
                          database={"url": sqlite_url, "messages_per_commit": 1})
    app = prepared_app(config)
    at_server_while_ingesting: list[int] = []  # mail the SMTP server had when each inbound record was written
    held: list[bool] = []

    def note_delivered(_connection, _cursor, statement: str, *_rest) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO inbound_messages"):
            at_server_while_ingesting.append(len(smtp_sink.received))

    def hold_ingest_until_a_reply_is_out(*_args) -> None:  # type: ignore[no-untyped-def]
        # Ingest runs on the main thread, delivery beside it, starting once a claim's worth is queued. Pausing ingest
        # there, between two of its transactions (as it takes a connection again), until the server has a reply makes
        # the overlap certain instead of a race against machine load; a delivery that waited for ingest to end would
        # send nothing meanwhile, and the test would fail.
        if threading.current_thread() is threading.main_thread() and len(at_server_while_ingesting) == CLAIM_BATCH:
            if not held:
                held.append(True)
                smtp_sink.wait_for(1, timeout=30)

    event.listen(app.engine, "after_cursor_execute", note_delivered)
    event.listen(app.engine.pool, "checkout", hold_ingest_until_a_reply_is_out)
    summary = run_once(app)
    app.dispose()
    assert summary.ingest.outcomes == {"case_opened": count} and summary.delivery.outcomes == {"sent": count}
    assert len(at_server_while_ingesting) == count and at_server_while_ingesting[-1] > 0, at_server_while_ingesting
    assert len(smtp_sink.wait_for(count)) == count


@pytest.mark.postgres
def test_lost_lease_of_a_dead_sender_is_claimed_again_after_it_ends(tmp_path: Path, pg_url: str) -> None:
    from mailbot.delivery.claims import SENDING_LEASE

    app = outbox_app(tmp_path, pg_url)
    queue_rows(app, 3)
    now = app.clock.now()
    assert len(claim_due(app, now)) == 3  # a sender that then dies
    assert claim_due(app, now + SENDING_LEASE / 2) == []
    again = claim_due(app, now + SENDING_LEASE + timedelta(seconds=1))
    app.dispose()
    assert [item.message_id for item in again] == ["m0@example.test", "m1@example.test", "m2@example.test"]


@pytest.mark.postgres
def test_a_connection_terminated_mid_transaction_rolls_back_cleanly_while_delivery_is_watching(tmp_path: Path, pg_url: str) -> None:
    """The wake-up listeners must not turn a lost connection into an error raised out of the rollback."""
    from sqlalchemy.exc import OperationalError

    from mailbot.delivery.background import OutboxSignal, outbox_commits_signalled

    app = outbox_app(tmp_path, pg_url)
    signal = OutboxSignal()
    with outbox_commits_signalled(app.engine, signal):
        with pytest.raises(OperationalError):
            with app.sessions() as session, session.begin():
                queue_rows_in(session, app, 1)
                session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        queue_rows(app, 2)  # the pool heals and the next transaction wakes delivery
    assert signal.wait(0)
    app.dispose()
    assert statuses(app) == Counter({("pending", 0): 2})


def queue_rows_in(session, app: App, count: int) -> None:  # type: ignore[no-untyped-def]
    session.execute(insert(OutboxMessage), [dict(
        message_id=f"lost{n}@example.test", kind="acknowledgment", recipient="c@acme.test",
        envelope_from="support@example.test", subject="s", raw=b"Subject: s\r\n\r\nx\r\n", is_auto_reply=False,
        status="pending", attempts=0, next_attempt_at=app.clock.now(), created_at=app.clock.now(), priority=0)
        for n in range(count)])


def test_sent_rows_are_still_recorded_when_the_claim_that_carried_their_record_fails(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    import mailbot.delivery.outbox as outbox_module
    from mailbot.delivery.claims import DEEP_CLAIM

    app = outbox_app(tmp_path, sqlite_url)
    queue_rows(app, DEEP_CLAIM + 50)
    claims: list[int] = []

    def second_claim_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        claims.append(len(kwargs.get("sent", args[4] if len(args) > 4 else ())))
        if len(claims) > 1:
            raise OperationalError("claim", {}, Exception("database is locked"))
        return claim_due(*args, **kwargs)

    monkeypatch.setattr(outbox_module, "claim_due", second_claim_fails)
    monkeypatch.setattr(outbox_module, "RECORD_RETRY_DELAYS", (0.0,))
    with pytest.raises(OperationalError):
        deliver_once(app)
    leased = statuses(app)
    app.dispose()
    # The second claim carried the first claim's sends; it failed, and the round's last record wrote them.
    assert claims[:2] == [0, DEEP_CLAIM]
    assert leased == {("sent", 1): DEEP_CLAIM, ("pending", 0): 50}, leased
