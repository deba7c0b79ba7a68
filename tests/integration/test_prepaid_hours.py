"""Prepaid remote-support hours (seed 003) through the real pipeline: Dovecot in, engineers' #time, SMTP out.

An Xpears Managed account with a 10 h card: its acknowledgment states the balance; 4 h + 4 h cross 25% and the
contacts (and TAM/CAM) get a statement; 3 h more is refused to the engineer; 3 h written with `overdraft` is logged
as such and the "used up" statement goes out. 11 h on a 10 h card, never silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.cases.views import show_case
from mailbot.clock import FixedClock
from mailbot.db.models import Case, InboundRecord, PrepaidHoursCard, PrepaidHoursEntry
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail

ENGINEER = {"email": "maria@vendor.test", "name": "María Ruiz", "language": "es"}
START = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
DIRECTORY = """
[[accounts]]
key = "bank"
name = "Banco Ejemplo"
plan = "managed"
language = "es"
timezone = "America/Bogota"
tam = "tam@vendor.test"
cam = "cam@vendor.test"
contracts = [{ reference = "XP-2026", starts_on = 2026-01-01, ends_on = 2026-12-31 }]
contacts = [
  { email = "ana@bank.test", name = "Ana" },
  { email = "bob@bank.test", name = "Bob", language = "en" },
]
"""
STATEMENT_RECIPIENTS = {"ana@bank.test", "bob@bank.test", "tam@vendor.test", "cam@vendor.test"}


@pytest.fixture
def bot(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> Iterator[App]:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), presets=("xpears",), directory=DIRECTORY, engineers=[ENGINEER])
    app = prepared_app(config, FixedClock(START))
    yield app
    app.dispose()


def deliver(app: App, dovecot, user: str, sink, raw: bytes, expect: int) -> dict[str, list[EmailMessage]]:  # type: ignore[no-untyped-def]
    sink.clear()
    dovecot.append(user, raw)
    run_once(app)
    received: dict[str, list[EmailMessage]] = {}
    for mail in sink.wait_for(expect):
        for address in mail.rcpt_tos:
            received.setdefault(address, []).append(mail.message)
    return received


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def kinds(app: App) -> list[str]:
    from mailbot.db.models import OutboxMessage

    with app.sessions() as session:
        return list(session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def test_time_logged_crosses_the_threshold_runs_out_and_is_refused_without_overdraft(  # type: ignore[no-untyped-def]
        bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:
    opened = deliver(bot, dovecot, mailbox_user, smtp_sink,
                     customer_mail(sender="ana@bank.test", subject="[P3] VPN intermitente"), 4)
    ack = text_of(opened["ana@bank.test"][0])
    assert "Horas prepagas de soporte remoto: le quedan 10 h de 10 h" in ack and "31 de diciembre de 2026" in ack
    notice = opened["maria@vendor.test"][0]

    def engineer(body: str, minutes: int, expect: int) -> dict[str, list[EmailMessage]]:
        bot.clock.set(START + timedelta(minutes=minutes + 3))  # the bot reads it a little after she wrote it
        return deliver(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
            sender="maria@vendor.test", sender_name="María Ruiz", subject=f"Re: {notice['Subject']}",
            in_reply_to=notice["Message-ID"].strip("<>"), body=body, date=START + timedelta(minutes=minutes)), expect)

    first = engineer("#time 4h\nRevisamos la configuración.", 10, 1)
    assert set(first) == {"ana@bank.test"}  # the relay only: 6 h left, above 25%

    second = engineer("#time 4h\nAplicamos el cambio.", 20, 5)  # 2 h left: below 25% of 10 h
    assert set(second) == {"ana@bank.test", *STATEMENT_RECIPIENTS}
    low_es = text_of(next(m for m in second["ana@bank.test"] if "Quedan pocas horas" in m["Subject"]))
    assert "Queda menos del 25%" in low_es and "Restantes:   2 h" in low_es and "Usadas:      8 h" in low_es
    assert "31 de diciembre de 2026" in low_es
    low_en = text_of(second["bob@bank.test"][0])
    assert "Fewer than 25%" in low_en and "Remaining:  2 h" in low_en and "maria@vendor.test" in low_en
    assert "account manager" in text_of(second["tam@vendor.test"][0]).lower() or "responsable de cuenta" in text_of(
        second["tam@vendor.test"][0])

    refused = engineer("#time 3h\nSeguimos con la migración.", 30, 1)
    assert set(refused) == {"maria@vendor.test"}  # nothing relayed, nothing logged
    answer = text_of(refused["maria@vendor.test"][0])
    assert "#time 3h" in answer and "3 h superan el saldo" in answer and "2 h" in answer and "overdraft" in answer

    overdrawn = engineer("#time 3h overdraft\nSeguimos con la migración.", 40, 5)
    assert set(overdrawn) == {"ana@bank.test", *STATEMENT_RECIPIENTS}
    out_es = text_of(next(m for m in overdrawn["ana@bank.test"] if "agotadas" in m["Subject"]))
    assert "Se agotaron" in out_es and "1 h más allá" in out_es and "Usadas:      11 h" in out_es and "(sobregiro)" in out_es

    engineer("#time 1h overdraft\nCerramos.", 50, 1)  # past zero again: each statement once per card
    assert kinds(bot).count("prepaid_hours_statement") == 8

    with bot.sessions() as session:
        [card] = session.scalars(select(PrepaidHoursCard)).all()
        assert (card.contract_reference, card.expires_on.isoformat(), card.granted) == ("XP-2026", "2026-12-31", 10.0)
        assert card.low_statement_at is not None and card.exhausted_statement_at is not None
        entries = [(entry.kind, entry.hours, entry.overdraft, entry.engineer, entry.at)
                   for entry in session.scalars(select(PrepaidHoursEntry).order_by(PrepaidHoursEntry.id))]
        assert entries == [
            ("grant", 10.0, False, None, START + timedelta(minutes=13)),  # written at the first debit
            ("debit", 4.0, False, "maria@vendor.test", START + timedelta(minutes=10)),  # the engineer's Date
            ("debit", 4.0, False, "maria@vendor.test", START + timedelta(minutes=20)),
            ("debit", 3.0, True, "maria@vendor.test", START + timedelta(minutes=40)),
            ("debit", 1.0, True, "maria@vendor.test", START + timedelta(minutes=50)),
        ]
        case = session.scalars(select(Case)).one()
        assert case.remote_hours == 12.0
        rules = list(session.scalars(select(InboundRecord.rule).order_by(InboundRecord.id)))
        assert rules.count("engineer_command_errors") == 1
        shown = show_case(bot, session, case.number)
    assert shown is not None
    assert [(entry["hours"], entry["overdraft"]) for entry in shown["prepaid_hours"]] == [
        (4.0, False), (4.0, False), (3.0, True), (1.0, True)]


def test_plans_without_prepaid_hours_log_time_as_before(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str,  # type: ignore[no-untyped-def]
                                                        smtp_sink) -> None:
    directory = DIRECTORY.replace('plan = "managed"', 'plan = "basic"')
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), presets=("xpears",), directory=directory, engineers=[ENGINEER])
    app = prepared_app(config, FixedClock(START))
    opened = deliver(app, dovecot, mailbox_user, smtp_sink, customer_mail(sender="ana@bank.test", subject="[P3] Duda"), 2)
    assert "Horas prepagas" not in text_of(opened["ana@bank.test"][0])
    notice = opened["maria@vendor.test"][0]
    deliver(app, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#time 30h\nListo."), 1)
    with app.sessions() as session:
        assert session.scalars(select(Case)).one().remote_hours == 30.0
        assert session.scalars(select(PrepaidHoursEntry)).all() == []
    app.dispose()


def test_a_debit_that_lost_a_race_for_the_balance_is_recorded_as_an_overdraft(  # type: ignore[no-untyped-def]
        bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:
    from mailbot.cases.hours_statements import debit_prepaid_hours
    from mailbot.cases.work import CaseWork
    from mailbot.policy.commands import Command

    deliver(bot, dovecot, mailbox_user, smtp_sink, customer_mail(sender="ana@bank.test", subject="[P3] VPN"), 4)
    with bot.sessions() as session:
        work = CaseWork(bot, session, session.scalars(select(Case)).one(), START)
        # Both passed policy against 10 h; the second is applied after the first committed.
        for hours in (9.0, 2.0):
            debit_prepaid_hours(bot, session, work, Command("time", f"{hours}h", hours=hours), "maria@vendor.test", START)
        session.commit()
        debits = [(entry.hours, entry.overdraft) for entry in
                  session.scalars(select(PrepaidHoursEntry).where(PrepaidHoursEntry.kind == "debit").order_by(PrepaidHoursEntry.id))]
    assert debits == [(9.0, False), (2.0, True)]
