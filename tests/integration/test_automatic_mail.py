"""Automatic mail on real servers: an out-of-office never resumes a waiting case, a vacation reply is never answered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.db.models import Case, CaseMessage, InboundRecord, OutboxMessage
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail

ENGINEER = {"email": "maria@vendor.test", "name": "María Ruiz", "team": "network", "level": "N1", "language": "es"}
START = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def bot(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> Iterator[App]:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), engineers=[ENGINEER])
    app = prepared_app(config, FixedClock(START))
    yield app
    app.dispose()


def deliver(app: App, dovecot, user: str, sink, raw: bytes, expect: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    sink.clear()
    dovecot.append(user, raw)
    run_once(app)
    return {mail.rcpt_tos[0]: mail.message for mail in sink.wait_for(expect)} if expect else {}


def last_inbound(app: App) -> tuple[str, str, str]:
    with app.sessions() as session:
        row = session.scalars(select(InboundRecord).order_by(InboundRecord.id.desc())).first()
        assert row is not None
        return row.outcome, row.rule, row.reason


def outbox_size(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_out_of_office_keeps_a_waiting_case_waiting(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    opened = deliver(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject="El backup falla"), 2)
    notice = opened["maria@vendor.test"]
    deliver(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#waiting\nAna, ¿puedes enviar el log?"), 1)
    with bot.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.status == "waiting"
        paused_at, messages_before = case.waiting_since, len(session.scalars(select(CaseMessage)).all())
    sent_before = outbox_size(bot)

    # Issue 10: this shape, marked only by Precedence, was forwarded to María and resumed the clock.
    ack_id = opened["ana@acme.test"]["Message-ID"].strip("<>")
    deliver(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        subject=f"Re: {opened['ana@acme.test']['Subject']}", in_reply_to=ack_id, references=(ack_id,),
        headers={"Precedence": "auto_reply"}, body="Estoy fuera de la oficina hasta el lunes."), 0)

    assert last_inbound(bot)[:2] == ("ignored", "auto_submitted")
    assert "Precedence: auto_reply" in last_inbound(bot)[2]
    assert smtp_sink.received == [] and outbox_size(bot) == sent_before  # nothing to María, nothing to Ana
    with bot.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.status, case.waiting_since) == ("waiting", paused_at)
        assert len(session.scalars(select(CaseMessage)).all()) == messages_before


def test_icloud_vacation_reply_from_a_stranger_gets_no_answer(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    vacation = customer_mail(sender="emma.clarke@icloud.example.com", sender_name="Emma Clarke",
                             subject="Auto reply: Your message", headers={"X-Apple-Action": "VACATION"},
                             body="I am on vacation until 30 November.")
    deliver(bot, dovecot, mailbox_user, smtp_sink, vacation, 0)

    outcome, rule, reason = last_inbound(bot)
    assert (outcome, rule) == ("ignored", "auto_submitted") and "iCloud" in reason
    assert smtp_sink.received == [] and outbox_size(bot) == 0
