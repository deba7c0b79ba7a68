"""Several messages per transaction, a savepoint each: one that fails is undone and quarantined alone."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

import mailbot.intake.ingest as ingest_module
from mailbot.db.models import Case, InboundRecord, MailboxCheckpoint, OutboxMessage, QuarantinedMessage
from mailbot.intake.ingest import Ingestor
from mailbot.sources.factory import build_source
from tests.support.bot import prepared_app, write_config
from tests.support.mailgen import customer_mail


def batch_app(tmp_path: Path, db_url: str, mails: list[bytes], per_commit: int = 20):  # type: ignore[no-untyped-def]
    inbox = tmp_path / "inbox"
    config = write_config(tmp_path, db_url=db_url, source={"kind": "maildir", "path": "inbox"},
                          delivery={"kind": "maildir", "path": "outbox"},
                          database={"url": db_url, "messages_per_commit": per_commit})
    app = prepared_app(config)
    (inbox / "new").mkdir(parents=True)
    for n, raw in enumerate(mails):
        (inbox / "new" / f"{n}.m.host").write_bytes(raw)
    return app


def test_a_failing_message_in_a_batch_rolls_back_alone(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    app = batch_app(tmp_path, db_url, [customer_mail(subject=f"Consulta {n}", message_id=f"gc-{n}@acme.test")
                                       for n in range(5)], per_commit=10)
    real_apply = ingest_module.apply_decision
    attempts = []

    def apply_failing_for_the_third(app_, session, decision, situation, source, source_ref):  # type: ignore[no-untyped-def]
        if situation.message.subject == "Consulta 2":
            attempts.append(source_ref)
            session.add(OutboxMessage(message_id="half-done@x", kind="ack", recipient="x@y", envelope_from="a@b", subject="",
                                      raw=b"", status="pending", attempts=0, next_attempt_at=situation.now,
                                      created_at=situation.now))
            session.flush()  # work written inside the savepoint, then the failure: all of it must be undone
            raise ValueError("a bug met by this message only")
        return real_apply(app_, session, decision, situation, source, source_ref)

    monkeypatch.setattr(ingest_module, "apply_decision", apply_failing_for_the_third)
    report = ingest_all(app)

    assert report.outcomes == {"case_opened": 4, "quarantined": 1}
    # Once in the batch's attempt without savepoints, then once in its own: not a database error, so blamed at once.
    assert attempts == ["2.m.host", "2.m.host"]
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 4
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.message_id == "half-done@x")) == 0
        [quarantined] = session.scalars(select(QuarantinedMessage)).all()
        assert quarantined.message_key == "gc-2@acme.test" and "a bug met by this message only" in quarantined.error
        assert session.scalar(select(func.count()).select_from(InboundRecord)) == 5
        assert session.scalar(select(func.count()).select_from(MailboxCheckpoint)) == 1
    assert sorted(path.name for path in (inbox / "cur").iterdir()) == [f"{n}.m.host:2,S" for n in range(5)]
    handled = {(sample.labels["outcome"], sample.value) for metric in app.metrics.registry.collect()
               for sample in metric.samples if sample.name == "mailbot_messages_handled_total"}
    assert handled == {("case_opened", 4.0), ("quarantined", 1.0)}  # the undone attempt is not counted
    app.dispose()


def ingest_all(app):  # type: ignore[no-untyped-def]
    source = build_source(app.settings, app.sessions)
    report = Ingestor(app).ingest(source, threading.Event())
    source.close()
    return report


def batch_bot(tmp_path: Path, db_url: str, mails: list[bytes]):  # type: ignore[no-untyped-def]
    app = batch_app(tmp_path, db_url, mails)
    return app, ingest_all(app)


def test_the_robot_loop_cap_counts_replies_made_earlier_in_the_same_batch(tmp_path: Path, db_url: str) -> None:
    mails = [customer_mail(sender="john@globex.test", sender_name="John Smith", subject=f"Request {n}",
                           body="The server does not start.", message_id=f"loop-{n}@globex.test") for n in range(8)]
    app, report = batch_bot(tmp_path, db_url, mails)
    with app.sessions() as session:
        replies = session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.recipient == "john@globex.test", OutboxMessage.is_auto_reply.is_(True)))
    app.dispose()
    assert sum(report.outcomes.values()) == 8
    assert replies == 5  # the cap (5 an hour), as when each message had a transaction of its own


def test_a_message_id_twice_in_one_batch_opens_one_case(tmp_path: Path, db_url: str) -> None:
    twice = customer_mail(sender="john@globex.test", sender_name="John Smith", subject="Request",
                          body="The server does not start.", message_id="twice@globex.test")
    app, report = batch_bot(tmp_path, db_url, [twice, twice])
    with app.sessions() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
    app.dispose()
    assert report.outcomes == {"case_opened": 1, "duplicate": 1} and cases == 1


def test_a_batch_that_goes_through_whole_takes_no_savepoints(tmp_path: Path, db_url: str) -> None:
    from sqlalchemy import event

    mails = [customer_mail(sender="john@globex.test", sender_name="John Smith", subject=f"Request {n}",
                           body="The server does not start.", message_id=f"whole-{n}@globex.test") for n in range(5)]
    app = batch_app(tmp_path, db_url, mails)
    statements: list[str] = []
    event.listen(app.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
    report = ingest_all(app)
    app.dispose()
    assert report.outcomes == {"case_opened": 5}
    assert [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO"))] == []
