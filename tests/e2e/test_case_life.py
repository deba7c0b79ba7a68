"""A whole case, worked from ordinary mail clients, through real Dovecot and a real SMTP server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.clock import FixedClock
from mailbot.db.models import Case, CaseEvent, InboundRecord
from mailbot.app import App
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail

ENGINEERS = [
    {"email": "maria@vendor.test", "name": "María Ruiz", "team": "network", "level": "N1", "language": "es"},
    {"email": "tom@vendor.test", "name": "Tom Baker", "team": "network", "level": "N2", "language": "en"},
]
START = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def bot(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), engineers=ENGINEERS,
                          limits={"auto_replies_per_sender_per_hour": 100})
    app = prepared_app(config, FixedClock(START))
    yield app
    app.dispose()


def step(app: App, dovecot, user: str, sink, raw: bytes, expect: int) -> list:  # type: ignore[no-untyped-def]
    sink.clear()
    dovecot.append(user, raw)
    run_once(app)
    return sink.wait_for(expect) if expect else []


def case(app: App) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case)).one()


def by_recipient(mails: list) -> dict:  # type: ignore[type-arg]
    return {mail.rcpt_tos[0]: mail.message for mail in mails}


def test_whole_life_of_a_case(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # 1. The customer opens a case: acknowledgment to her, notice to both engineers (with her attachment).
    opened = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        message_id="open@acme.test", subject="El backup falla", body="El backup falla cada noche con error 0x80070005.",
        attachment=("backup.log", "text/plain", b"ERROR 0x80070005\n")), 3))
    ack, notice = opened["ana@acme.test"], opened["maria@vendor.test"]
    number = case(bot).number
    assert ack["Subject"].startswith(f"[{number}]")
    assert notice["Subject"].startswith(f"[{number}] Caso nuevo") and "tom@vendor.test" in opened
    assert "0x80070005" in notice.get_body(("plain",)).get_content()
    assert [part.get_filename() for part in notice.iter_attachments()] == ["backup.log"]

    # 2. María answers by replying to the notice, with a command; the customer receives it in her thread.
    bot.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
    relayed = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", sender_name="María Ruiz", subject=f"Re: {notice['Subject']}",
        in_reply_to=notice["Message-ID"].strip("<>"),
        body="#priority P2\n\nHola Ana, revisa los permisos de la cuenta de servicio.\n\n"
             "El mar, 24 nov 2026, ACME Support escribió:\n> Caso nuevo ..."), 1)
    answer = relayed[0].message
    assert relayed[0].rcpt_tos == ("ana@acme.test",)
    assert answer["From"].startswith("=?utf-8?q?Mar=C3=ADa_Ruiz") or "María Ruiz" in str(answer["From"])
    assert "support@example.test" in answer["From"] and "maria@vendor.test" not in answer.as_string()
    assert answer["In-Reply-To"] == ack["Message-ID"] and "<open@acme.test>" in answer["References"]
    assert answer["Auto-Submitted"] is None
    text = answer.get_body(("plain",)).get_content()
    assert "revisa los permisos" in text and "#priority" not in text and "Caso nuevo" not in text
    state = case(bot)
    assert state.priority == "P2" and state.first_response_at == START + timedelta(minutes=30)

    # 3. The customer replies in the thread: forwarded to the engineers, appended, no new case.
    forwarded = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        message_id="r1@acme.test", subject=f"Re: {answer['Subject']}", in_reply_to=answer["Message-ID"].strip("<>"),
        body="Ya lo he cambiado, os aviso."), 2))
    assert "Ya lo he cambiado" in forwarded["maria@vendor.test"].get_body(("plain",)).get_content()

    # 4. María closes it: the customer gets the closure notice with the survey.
    closure = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", sender_name="María Ruiz", subject=f"Re: [{number}]",
        in_reply_to=forwarded["maria@vendor.test"]["Message-ID"].strip("<>"), body="#close solved\n"), 1)
    assert "del 1 (mal) al 5" in closure[0].message.get_body(("plain",)).get_content()
    assert case(bot).status == "closed" and case(bot).close_reason == "solved"

    # 5. "4 muy bien" is the rating; a thank-you comes back.
    thanks = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        subject=f"Re: {closure[0].message['Subject']}", in_reply_to=closure[0].message["Message-ID"].strip("<>"),
        body="4 muy bien\n\nEl mar, Soporte escribió:\n> Responda con un número"), 1)
    assert "valoración" in thanks[0].message["Subject"]
    assert (case(bot).survey_rating, case(bot).survey_comment) == (4, "muy bien")

    # 6. "Gracias" does not reopen it.
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        subject=f"Re: [{number}] cerrado", in_reply_to=closure[0].message["Message-ID"].strip("<>"), body="¡Muchas gracias!"), 0)
    assert case(bot).status == "closed"
    with bot.sessions() as session:
        rules = [row.rule for row in session.scalars(select(InboundRecord).order_by(InboundRecord.id))]
        events = [event.kind for event in session.scalars(select(CaseEvent).order_by(CaseEvent.id))]
    assert rules == ["open_case", "engineer_reply", "thread_reply", "engineer_reply", "survey_answer", "thanks_after_close"]
    assert events == ["#priority", "first_response", "#close", "closed", "survey", "thanks"]


@pytest.mark.parametrize(
    ("engineer", "expected", "foreign"),
    [
        ("tom@vendor.test", ("#priority P9: needs a priority: P1, P2, P3, P4", "#frob: unknown command", "NOT relayed"),
         ("falta", "desconocido")),
        # A Spanish-speaking engineer is told in Spanish; the #keywords stay as written, being syntax.
        ("maria@vendor.test", ("#priority P9: falta una prioridad: P1, P2, P3, P4", "#frob: comando desconocido",
                               "NO se ha reenviado"), ("needs", "unknown")),
    ],
)
def test_invalid_command_is_reported_to_the_engineer_and_not_relayed(  # type: ignore[no-untyped-def]
    bot: App, dovecot, mailbox_user: str, smtp_sink, engineer: str, expected: tuple[str, ...], foreign: tuple[str, ...]
) -> None:
    opened = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject="Duda"), 3))
    notice = opened[engineer]
    replies = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender=engineer, sender_name="Tom", subject=f"Re: {notice['Subject']}",
        in_reply_to=notice["Message-ID"].strip("<>"), body="#priority P9\n#frob\n\nHi Ana"), 1)
    assert replies[0].rcpt_tos == (engineer,)
    text = replies[0].message.get_body(("plain",)).get_content()
    assert all(phrase in text for phrase in expected) and not any(word in text for word in foreign)
    assert case(bot).first_response_at is None


def test_misthreading_cases(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    opened = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(message_id="m0@acme.test", subject="Impresora"), 3))
    number = case(bot).number
    # A stranger quoting the case number gets the unknown-sender reply; the case is untouched.
    stranger = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="eve@evil.test", subject=f"Re: [{number}] Impresora", body="#close solved"), 1)
    assert stranger[0].rcpt_tos == ("eve@evil.test",) and case(bot).status == "open"
    # A customer writing "#close" is just text.
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject=f"Re: [{number}]", body="#close\nYa está"), 2)
    assert case(bot).status == "open"
    # A mangled subject with a good In-Reply-To still threads (colleague in Cc replying all).
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="pedro@acme.test", subject="RV: AW: impr.", in_reply_to=opened["ana@acme.test"]["Message-ID"].strip("<>"),
        headers={"Cc": "ana@acme.test"}, body="Más datos: modelo HP 4200."), 2)
    with bot.sessions() as session:
        assert session.scalar(select(Case.id).where(Case.number != number)) is None
    # Closed long ago: a reply opens a new case that refers to the old one.
    with bot.sessions() as session:
        row = session.scalars(select(Case)).one()
        row.status, row.closed_at, row.close_reason = "closed", START - timedelta(days=30), "solved"
        session.commit()
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject=f"Re: [{number}] Impresora", body="Ha vuelto a fallar."), 3)
    with bot.sessions() as session:
        newer = session.scalars(select(Case).where(Case.number != number)).one()
        assert newer.related_case_id == session.scalar(select(Case.id).where(Case.number == number))


def test_reply_within_the_window_reopens_and_escalation_is_recorded(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    opened = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject="VPN"), 3))
    notice = opened["maria@vendor.test"]
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#waiting\nAna, ¿puedes enviar el log?"), 1)
    assert case(bot).status == "waiting"
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        subject="Re: [x]", in_reply_to=notice["Message-ID"].strip("<>") if False else opened["ana@acme.test"]["Message-ID"].strip("<>"),
        body="Por favor escalar, llevamos dos días sin VPN."), 3)
    state = case(bot)
    assert state.status == "open" and state.escalation_requested_at is not None
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#close solved\n#time 1.5h"), 1)
    assert case(bot).remote_hours == 1.5
    bot.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        subject="Re: VPN", in_reply_to=opened["ana@acme.test"]["Message-ID"].strip("<>"), body="Vuelve a fallar la VPN."), 2)
    assert case(bot).status == "open"


def test_waiting_case_gets_a_reminder_then_closes_as_inactive(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    opened = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject="Licencias"), 3))
    notice = opened["maria@vendor.test"]
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#waiting\n¿Qué versión usáis?"), 1)
    smtp_sink.clear()
    bot.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert run_once(bot).lifecycle == {}
    bot.clock.advance(timedelta(days=1, minutes=1))  # type: ignore[attr-defined]
    assert run_once(bot).lifecycle == {"reminded": 1}
    assert "Esperamos su respuesta" in smtp_sink.wait_for(1)[0].message["Subject"]
    smtp_sink.clear()
    bot.clock.advance(timedelta(days=5, minutes=1))  # type: ignore[attr-defined]
    assert run_once(bot).lifecycle == {"closed_inactive": 1}
    assert "por falta de respuesta" in smtp_sink.wait_for(1)[0].message.get_body(("plain",)).get_content()
    assert (case(bot).status, case(bot).close_reason) == ("closed", "inactive")


def test_account_managers_get_copies(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from tests.support.bot import DIRECTORY_TOML

    directory = DIRECTORY_TOML.replace('key = "globex"', 'key = "globex"\ntam = "tam@vendor.test"\ncam = "cam@vendor.test"')
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), engineers=ENGINEERS[:1], directory=directory,
                          plans__advanced={"display_name": "Advanced", "account_managers": True})
    app = prepared_app(config, FixedClock(START))
    opened = by_recipient(step(app, dovecot, mailbox_user, smtp_sink, customer_mail(sender="john@globex.test", subject="Down"), 4))
    assert {"john@globex.test", "maria@vendor.test", "tam@vendor.test", "cam@vendor.test"} == set(opened)
    notice = opened["maria@vendor.test"]
    closing = by_recipient(step(app, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject="Re: x", in_reply_to=notice["Message-ID"].strip("<>"), body="#close"), 3))
    assert set(closing) == {"john@globex.test", "tam@vendor.test", "cam@vendor.test"}
    app.dispose()


def test_files_travel_both_ways_and_assignment_is_announced(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    opened = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(subject="Firewall"), 3))
    notice = opened["maria@vendor.test"]
    # María assigns Tom and sends the customer a patch; Tom is told, the customer gets the file.
    sent = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#assign tom\nAna, aplica el parche adjunto.", attachment=("fix.zip", "application/zip", b"PK\x03\x04patch")), 2))
    assert "asignado" in sent["tom@vendor.test"]["Subject"] or "assigned" in sent["tom@vendor.test"].get_body(("plain",)).get_content()
    assert [part.get_filename() for part in sent["ana@acme.test"].iter_attachments()] == ["fix.zip"]
    # The customer answers with a log: it reaches the assignee attached.
    answer = sent["ana@acme.test"]
    forwarded = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        subject=f"Re: {answer['Subject']}", in_reply_to=answer["Message-ID"].strip("<>"), body="Sigue igual, adjunto log.",
        attachment=("fw.log", "text/plain", b"deny all")), 1)
    assert forwarded[0].rcpt_tos == ("tom@vendor.test",)
    assert [part.get_filename() for part in forwarded[0].message.iter_attachments()] == ["fw.log"]


def test_a_forged_engineer_cannot_act_on_a_case(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(message_id="f0@acme.test", subject="Correo"), 3)
    number = case(bot).number
    step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", sender_name="María Ruiz", subject=f"[{number}] info",
        body="#close solved\nPague la factura en http://evil.test"), 0)
    assert case(bot).status == "open"
    with bot.sessions() as session:
        assert session.scalars(select(InboundRecord.rule).order_by(InboundRecord.id.desc())).first() == "engineer_without_case"


def test_engineers_hear_of_higher_queue_priority_plans_first(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), engineers=ENGINEERS[:1],
                          plans__standard={"display_name": "Standard", "queue_priority": 0},
                          plans__advanced={"display_name": "Advanced", "queue_priority": 5})
    app = prepared_app(config, FixedClock(START))
    dovecot.append(mailbox_user, customer_mail(sender="ana@acme.test", subject="Standard first in"))
    dovecot.append(mailbox_user, customer_mail(sender="john@globex.test", subject="Advanced second in"))
    run_once(app)
    notices = [mail.message["Subject"] for mail in smtp_sink.wait_for(4) if mail.rcpt_tos == ("maria@vendor.test",)]
    app.dispose()
    assert "Advanced second in" in notices[0] and "Standard first in" in notices[1]


def test_colleagues_in_copy_stay_in_the_thread_and_notices_form_one_thread(bot: App, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    opening = customer_mail(message_id="cc-open@acme.test", subject="La VPN no conecta",
                            headers={"Cc": "Pedro López <pedro@acme.test>, Someone <someone@elsewhere.test>"})
    opened = step(bot, dovecot, mailbox_user, smtp_sink, opening, 3)
    [ack] = [mail for mail in opened if mail.rcpt_tos[0] == "ana@acme.test"]
    assert ack.rcpt_tos == ("ana@acme.test", "pedro@acme.test")  # the colleague, not the stranger
    assert "pedro@acme.test" in ack.message["Cc"] and "elsewhere" not in str(ack.message["Cc"])
    first_notice = by_recipient(opened)["maria@vendor.test"]

    follow_up = by_recipient(step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        message_id="cc-more@acme.test", subject=f"Re: {ack.message['Subject']}", in_reply_to="cc-open@acme.test",
        body="Adjunto más datos: falla desde ayer."), 2))
    second_notice = follow_up["maria@vendor.test"]
    assert second_notice["In-Reply-To"] == first_notice["Message-ID"]  # one thread in María's client

    relayed = step(bot, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", sender_name="María", subject=f"Re: {second_notice['Subject']}",
        in_reply_to=second_notice["Message-ID"].strip("<>"), body="Reinicie el túnel, por favor."), 1)
    assert relayed[0].rcpt_tos == ("ana@acme.test", "pedro@acme.test")
