"""The whole path on real servers: Dovecot INBOX -> case in the database -> acknowledgment at the SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.db.models import Case, CaseMessage, InboundRecord, MailboxCheckpoint, OutboxMessage, QuarantinedMessage
from mailbot.app import App
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail


@pytest.fixture
def bot(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> Iterator[App]:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    app = prepared_app(config)
    yield app
    app.dispose()


def outcomes(app: App) -> list[tuple[str, str]]:
    with app.sessions() as session:
        return [(row.sender, row.outcome) for row in session.scalars(select(InboundRecord).order_by(InboundRecord.id))]


def test_customer_mail_opens_a_case_and_is_acknowledged(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    raw = customer_mail(message_id="first@acme.test", subject="Error al exportar",
                        attachment=("error.log", "text/plain", b"ERROR 42\n"))
    uid = dovecot.append(mailbox_user, raw)

    summary = run_once(bot)

    assert summary.ingest.outcomes["case_opened"] == 1
    [ack] = smtp_sink.wait_for(1)
    assert ack.rcpt_tos == ("ana@acme.test",)
    message = ack.message
    assert message["Subject"].startswith("[LC-2026-00001] Error al exportar") or message["Subject"].startswith("[LC-")
    assert message["In-Reply-To"] == "<first@acme.test>"
    assert message["References"] == "<first@acme.test>"
    assert message["Auto-Submitted"] == "auto-replied"
    with bot.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.subject == "Error al exportar"
        incoming = session.scalars(select(CaseMessage).where(CaseMessage.direction == "in")).one()
        assert [a.filename for a in incoming.attachments] == ["error.log"]
        assert incoming.attachments[0].content == b"ERROR 42\n"
        assert session.scalars(select(OutboxMessage)).one().status == "sent"
        checkpoint = session.scalars(select(MailboxCheckpoint)).one()
        assert checkpoint.last_uid == uid
    assert "\\Seen" in dovecot.flags(mailbox_user, uid)


def test_each_kind_of_sender_gets_the_right_treatment(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailbox_user, customer_mail(sender="stranger@else.test", sender_name="X"))
    dovecot.append(mailbox_user, customer_mail(sender="luis@oldco.test"))
    dovecot.append(mailbox_user, customer_mail(headers={"Auto-Submitted": "auto-replied"}))
    dovecot.append(mailbox_user, customer_mail(headers={"List-Id": "<l.acme.test>"}))
    dovecot.append(mailbox_user, customer_mail(sender="john@globex.test", sender_name="John"))

    run_once(bot)

    assert outcomes(bot) == [
        ("stranger@else.test", "refused"),
        ("luis@oldco.test", "refused"),
        ("ana@acme.test", "ignored"),
        ("ana@acme.test", "ignored"),
        ("john@globex.test", "case_opened"),
    ]
    received = {mail.rcpt_tos[0]: mail.message for mail in smtp_sink.wait_for(3)}
    assert "not registered" in received["stranger@else.test"].get_body(("plain",)).get_content() or \
        "no está registrado" in received["stranger@else.test"].get_body(("plain",)).get_content()
    assert "2021-12-31" in received["luis@oldco.test"].get_body(("plain",)).get_content()
    assert "What happens next" in received["john@globex.test"].get_body(("plain",)).get_content()


def test_mail_already_read_by_another_client_is_still_processed(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailbox_user, customer_mail(), flags=("\\Seen",))
    assert run_once(bot).ingest.outcomes["case_opened"] == 1


def test_follow_up_in_the_thread_appends_without_new_case(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailbox_user, customer_mail(message_id="q1@acme.test"))
    run_once(bot)
    [ack] = smtp_sink.wait_for(1)
    ack_id = ack.message["Message-ID"].strip("<>")
    dovecot.append(mailbox_user, customer_mail(message_id="q2@acme.test", subject="Re: algo distinto",
                                               in_reply_to=ack_id, references=("q1@acme.test", ack_id)))
    dovecot.append(mailbox_user, customer_mail(sender="pedro@acme.test", subject=f"RE: {ack.message['Subject']}"))

    run_once(bot)

    with bot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(func.count()).select_from(CaseMessage).where(CaseMessage.direction == "in")) == 3
    assert outcomes(bot)[1:] == [("ana@acme.test", "appended"), ("pedro@acme.test", "appended")]


def test_running_twice_processes_nothing_twice(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        dovecot.append(mailbox_user, customer_mail())
    run_once(bot)
    run_once(bot)
    assert len(outcomes(bot)) == 3
    assert len(smtp_sink.wait_for(3)) == 3


def test_same_message_id_twice_is_handled_once(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    raw = customer_mail(message_id="dup@acme.test")
    dovecot.append(mailbox_user, raw)
    dovecot.append(mailbox_user, raw)
    summary = run_once(bot)
    assert summary.ingest.outcomes == {"case_opened": 1, "duplicate": 1}


def test_unparseable_mail_is_quarantined_and_the_rest_continues(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailbox_user, b"\x00\x01\x02 garbage without headers \xff\xfe")
    dovecot.append(mailbox_user, customer_mail())
    summary = run_once(bot)
    assert summary.ingest.outcomes == {"quarantined": 1, "case_opened": 1}
    with bot.sessions() as session:
        item = session.scalars(select(QuarantinedMessage)).one()
        assert b"garbage without headers" in item.raw and "unparseable" in item.error  # Dovecot turns NUL into 0x80


def test_uidvalidity_change_rescans_without_repeats(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailbox_user, customer_mail())
    dovecot.append(mailbox_user, customer_mail())
    run_once(bot)
    dovecot.reset_uidvalidity(mailbox_user)
    dovecot.append(mailbox_user, customer_mail(subject="nuevo tras el cambio"))

    summary = run_once(bot)

    assert summary.ingest.outcomes == {"duplicate": 2, "case_opened": 1}
    assert len(smtp_sink.wait_for(3)) == 3


def test_move_after_processing(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, delivery=smtp_delivery(smtp_sink),
                          source=imap_source(dovecot, mailbox_user, tmp_path, after_processing="move", move_to="Processed"))
    app = prepared_app(config)
    dovecot.append(mailbox_user, customer_mail())
    run_once(app)
    app.dispose()
    assert dovecot.uids(mailbox_user) == []
    assert len(dovecot.uids(mailbox_user, "Processed")) == 1


def test_temporary_smtp_failure_is_retried_then_sent(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from mailbot.clock import FixedClock
    from mailbot.runtime.runner import deliver_once

    smtp_sink.fail_next(1, 451)
    dovecot.append(mailbox_user, customer_mail())
    run_once(bot)
    with bot.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == ("pending", 1) and "451" in (row.last_error or "")
    clock = FixedClock(row.next_attempt_at + timedelta(seconds=1))
    later = App(**{**bot.__dict__, "clock": clock})
    assert deliver_once(later).outcomes == {"sent": 1}
    assert len(smtp_sink.wait_for(1)) == 1


def test_permanent_smtp_failure_is_visible(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from mailbot.cases.views import show_case

    smtp_sink.fail_next(1, 550, "no such user")
    dovecot.append(mailbox_user, customer_mail())
    run_once(bot)
    with bot.sessions() as session:
        case = show_case(bot, session, "LC-2026-00001")
    assert case is not None
    delivery = case["messages"][1]["delivery"]
    assert delivery["status"] == "failed" and "550" in delivery["last_error"]


def test_smtp_server_down_keeps_mail_pending(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str) -> None:  # type: ignore[no-untyped-def]
    from tests.support.dovecot import free_port

    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery={"kind": "smtp", "host": "127.0.0.1", "port": free_port(), "tls": "none"})
    app = prepared_app(config)
    dovecot.append(mailbox_user, customer_mail())
    summary = run_once(app)
    assert summary.delivery.server_unreachable
    with app.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == ("pending", 0)
    app.dispose()


def test_huge_attachment_is_recorded_but_not_stored(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), limits={"max_stored_attachment_bytes": 1_000_000})
    app = prepared_app(config)
    big = bytes(range(256)) * (48 * 1024)  # 12 MiB of binary
    dovecot.append(mailbox_user, customer_mail(attachment=("core.dump", "application/octet-stream", big)))
    dovecot.append(mailbox_user, customer_mail(attachment=("small.txt", "text/plain", b"ok")))
    assert run_once(app).ingest.outcomes == {"case_opened": 2}
    with app.sessions() as session:
        stored = {a.filename: (a.size, a.content is not None)
                  for m in session.scalars(select(CaseMessage)) for a in m.attachments}
    app.dispose()
    assert stored == {"core.dump": (len(big), False), "small.txt": (2, True)}


def test_oversize_message_is_quarantined_with_headers_and_can_be_released(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from mailbot.intake.ingest import Ingestor

    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), limits={"max_message_bytes": 200_000})
    app = prepared_app(config)
    dovecot.append(mailbox_user, customer_mail(message_id="big@acme.test",
                                               attachment=("video.mp4", "video/mp4", b"\0" * 400_000)))
    dovecot.append(mailbox_user, customer_mail())
    assert run_once(app).ingest.outcomes == {"quarantined": 1, "case_opened": 1}
    with app.sessions() as session:
        item = session.scalars(select(QuarantinedMessage)).one()
    assert "exceeds limits.max_message_bytes" in item.error and b"big@acme.test" in item.raw and len(item.raw) < 5000

    assert Ingestor(app).release(item.id) == "case_opened"  # the operator accepts it: headers are enough
    app.dispose()


def test_server_closing_the_channel_postpones_without_using_attempts(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    smtp_sink.fail_next(1, 421, "shutting down")
    dovecot.append(mailbox_user, customer_mail())
    summary = run_once(bot)
    assert summary.delivery.outcomes == {"postponed": 1}
    with bot.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("pending", 0)


def test_failed_mail_can_be_retried_by_the_operator(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from mailbot.delivery.outbox import retry_failed
    from mailbot.runtime.runner import deliver_once

    smtp_sink.fail_next(1, 550, "mailbox full")
    dovecot.append(mailbox_user, customer_mail())
    run_once(bot)
    with bot.sessions() as session:
        assert retry_failed(session, bot.clock.now()) == 1
        session.commit()
    assert deliver_once(bot).outcomes == {"sent": 1}


def test_release_is_atomic_a_failure_keeps_the_message_in_quarantine(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from mailbot.intake.ingest import Ingestor

    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), limits={"max_message_bytes": 200_000})
    app = prepared_app(config)
    dovecot.append(mailbox_user, customer_mail(message_id="held@acme.test", attachment=("v.mp4", "video/mp4", b"\0" * 400_000)))
    assert run_once(app).ingest.outcomes == {"quarantined": 1}
    with app.sessions() as session:
        item_id = session.scalars(select(QuarantinedMessage.id)).one()

    def refuse_inbound_inserts(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO inbound_messages"):
            raise OperationalError(statement, None, Exception("disk full"))

    event.listen(app.engine, "before_cursor_execute", refuse_inbound_inserts)
    try:
        with pytest.raises(OperationalError):
            Ingestor(app).release(item_id)
    finally:
        event.remove(app.engine, "before_cursor_execute", refuse_inbound_inserts)
    with app.sessions() as session:
        item = session.get_one(QuarantinedMessage, item_id)
        outcomes = list(session.scalars(select(InboundRecord.outcome)))
    assert item.released_at is None and outcomes == ["quarantined"]  # in the quarantine still, and recorded there
    assert Ingestor(app).release(item_id) == "case_opened"
    app.dispose()


def test_a_reused_message_id_with_other_content_is_its_own_message(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    first = customer_mail(message_id="same@acme.test", subject="Primera consulta", body="El servidor no arranca.")
    dovecot.append(mailbox_user, first)
    dovecot.append(mailbox_user, customer_mail(message_id="same@acme.test", subject="Otra cosa", body="Licencias."))
    dovecot.append(mailbox_user, first.replace(b"Subject:", b"X-Delivered-Again: yes\r\nSubject:"))  # a true copy
    assert run_once(bot).ingest.outcomes == {"case_opened": 2, "duplicate": 1}
    with bot.sessions() as session:
        records = list(session.execute(select(InboundRecord.message_key, InboundRecord.reason).order_by(InboundRecord.id)))
    assert records[0].message_key == "same@acme.test"
    assert records[1].message_key.startswith("same@acme.test#") and "seen before with other content" in records[1].reason
