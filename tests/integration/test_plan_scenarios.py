"""Every line of SPEC.md's plan tables, proven with real mail through Dovecot, the pipeline and SMTP.

One row per table line: a customer of an account on that preset plan writes; the asserted outcome is the
case (with its priority and deadlines, in the plan calendar's local time) or the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot.clock import FixedClock
from mailbot.db.models import Case, CaseEvent, InboundRecord
from mailbot.app import App
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.mailgen import customer_mail
from tests.support.survey import ENGINEER, Mailboxes, answer_survey, closed_case, text_of

SANTIAGO, BOGOTA = ZoneInfo("America/Santiago"), ZoneInfo("America/Bogota")
TUESDAY_NOON_SANTIAGO = datetime(2026, 11, 24, 12, 0, tzinfo=SANTIAGO)
TUESDAY_17H_BOGOTA = datetime(2026, 11, 24, 17, 0, tzinfo=BOGOTA)
PLANS = ("standard", "advanced", "gold", "platinum", "basic", "xpears-advanced", "managed", "premium")
ZONES = {"standard": SANTIAGO, "advanced": SANTIAGO}
MANAGED_ACCOUNTS = ("basic", "xpears-advanced", "managed", "premium")  # each has a TAM and a CAM in the directory


def managers(plan: str) -> str:
    return f'tam = "tam@{plan}.vendor.test"\ncam = "cam@{plan}.vendor.test"\n' if plan in MANAGED_ACCOUNTS else ""


# Accounts with a warranty other than the plan's default (Standard, one year from the first contract).
WARRANTY_ACCOUNTS = {
    "gold-extended": ("gold", 'warranty = "extended"\n'),
    "platinum-nbd": ("platinum", 'warranty = "nbd-24x7"\n'),
    "gold-expired": ("gold", "warranty_starts_on = 2024-12-01\n"),  # one year: ended on 30 November 2025
}


def directory() -> str:
    blocks = []
    for plan in PLANS:
        zone = ZONES.get(plan, BOGOTA).key
        blocks.append(
            f'[[accounts]]\nkey = "{plan}"\nname = "Cliente {plan}"\nplan = "{plan}"\ntimezone = "{zone}"\n{managers(plan)}'
            f'contracts = [{{ reference = "{plan}-1", starts_on = 2026-01-01, ends_on = 2027-12-31 }}]\n'
            f'contacts = [{{ email = "c@{plan}.test", name = "Cliente" }}]\n'
        )
    for key, (plan, warranty) in WARRANTY_ACCOUNTS.items():
        blocks.append(
            f'[[accounts]]\nkey = "{key}"\nname = "Cliente {key}"\nplan = "{plan}"\ntimezone = "America/Bogota"\n{warranty}'
            f'contracts = [{{ reference = "{key}-1", starts_on = 2026-01-01, ends_on = 2027-12-31 }}]\n'
            f'contacts = [{{ email = "c@{key}.test", name = "Cliente" }}]\n'
        )
    return "\n".join(blocks)


@dataclass(frozen=True)
class Row:
    line: str  # the table line it proves
    plan: str
    subject: str
    at: datetime
    outcome: str = "case_opened"
    rule: str = "open_case"
    priority: str | None = None
    first_response: str | None = None  # local "YYYY-MM-DD HH:MM" in the calendar's zone
    resolution: str | None = None
    earlier_requests: int = 0  # requests already opened this month
    earlier_subject: str = "[problem] earlier {n}"
    body: str = "Buenos días, necesitamos ayuda."
    reply_says: tuple[str, ...] = field(default=())
    reply_lacks: tuple[str, ...] = field(default=())
    copied: tuple[str, ...] = ()  # account managers who get a copy of the new-case notice (no engineers are configured)
    account: str = ""  # another account on the plan (WARRANTY_ACCOUNTS); default: the plan's own
    replacement: str | None = None  # an RMA's replacement target, local like first_response


ROWS = [
    # Last Call Standard (seed 000); calendar assumed Mon-Fri 09:00-18:00, Santiago.
    Row("LC Standard: 3 requests/month (3rd opens)", "standard", "[problema] tercera", TUESDAY_NOON_SANTIAGO, earlier_requests=2),
    Row("LC Standard: 3 requests/month (4th refused)", "standard", "[problema] cuarta", TUESDAY_NOON_SANTIAGO,
        "refused", "monthly_quota", earlier_requests=3,
        reply_says=("3 solicitudes por mes", "ya se han abierto 3", "martes 1 de diciembre de 2026", "Last Call Advanced: solicitudes ilimitadas")),
    Row("LC Standard: ticket types problem, question (question)", "standard", "[consulta] licencias", TUESDAY_NOON_SANTIAGO,
        priority="B2"),
    Row("LC Standard: ticket types problem, question (request refused)", "standard", "[solicitud] alta usuario",
        TUESDAY_NOON_SANTIAGO, "refused", "ticket_type_not_allowed", reply_says=("solicitud", "problema, consulta")),
    Row("LC Standard: A1 2h / 8h", "standard", "[A1] caída", TUESDAY_NOON_SANTIAGO, priority="A1",
        first_response="2026-11-24 14:00", resolution="2026-11-25 11:00"),
    Row("LC Standard: B2 4h / 16h", "standard", "[B2] lento", TUESDAY_NOON_SANTIAGO, priority="B2",
        first_response="2026-11-24 16:00", resolution="2026-11-26 10:00"),
    Row("LC Standard: C3 8h / 32h", "standard", "[C3] duda", TUESDAY_NOON_SANTIAGO, priority="C3",
        first_response="2026-11-25 11:00", resolution="2026-11-27 17:00"),
    # Last Call Advanced
    Row("LC Advanced: unlimited requests", "advanced", "[problem] fifth", TUESDAY_NOON_SANTIAGO, earlier_requests=4),
    Row("LC Advanced: ticket type request allowed", "advanced", "[request] new user", TUESDAY_NOON_SANTIAGO),
    Row("LC Advanced: A1 1h / 4h", "advanced", "[A1] down", TUESDAY_NOON_SANTIAGO, priority="A1",
        first_response="2026-11-24 13:00", resolution="2026-11-24 16:00"),
    Row("LC Advanced: B2 2h / 8h", "advanced", "[B2] slow", TUESDAY_NOON_SANTIAGO, priority="B2",
        first_response="2026-11-24 14:00", resolution="2026-11-25 11:00"),
    Row("LC Advanced: C3 4h / 16h", "advanced", "[C3] question", TUESDAY_NOON_SANTIAGO, priority="C3",
        first_response="2026-11-24 16:00", resolution="2026-11-26 10:00"),
    # Calltech Gold 8x5: Mon-Fri 07:30-17:30 Bogota, Colombian holidays; seed example P1 at 17:00 -> 09:00.
    Row("Calltech Gold: P1 system down 2h (seed example)", "gold", "Sistema caído", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-25 09:00"),
    Row("Calltech Gold: P2 6h", "gold", "[P2] degradado", TUESDAY_17H_BOGOTA, priority="P2", first_response="2026-11-25 13:00"),  # 30 min Tue + 5.5 h Wed
    Row("Calltech Gold: P3 16h", "gold", "[P3] con workaround", TUESDAY_17H_BOGOTA, priority="P3", first_response="2026-11-26 13:00"),
    Row("Calltech Gold: P4 32h", "gold", "[P4] información", TUESDAY_17H_BOGOTA, priority="P4", first_response="2026-11-30 09:00"),
    Row("Calltech Gold: preventive maintenance 8 days ahead (too soon)", "gold", "[mantenimiento] ventana",
        TUESDAY_17H_BOGOTA, "refused", "maintenance_too_soon", body="Proponemos el 27/11/2026.",
        reply_says=("8 días", "viernes 27 de noviembre de 2026", "miércoles 2 de diciembre de 2026")),
    Row("Calltech Gold: preventive maintenance 8 days ahead (accepted)", "gold", "[mantenimiento] ventana",
        TUESDAY_17H_BOGOTA, body="Proponemos el 15 de diciembre."),
    Row("Calltech Gold: RMA starts as a case", "gold", "[RMA] fuente dañada", TUESDAY_17H_BOGOTA),
    # Two remote preventive maintenances per support year (contract from 2026-01-01); a third is opened, with a note.
    Row("Calltech Gold: 2 preventive maintenances per support year (2nd included)", "gold", "[mantenimiento] ventana",
        TUESDAY_17H_BOGOTA, body="Proponemos el 15 de diciembre.", earlier_requests=1, earlier_subject="[mantenimiento] ventana {n}",
        reply_lacks=("más allá de los incluidos",)),
    Row("Calltech Gold: 2 preventive maintenances per support year (3rd beyond the allowance)", "gold", "[mantenimiento] ventana",
        TUESDAY_17H_BOGOTA, body="Proponemos el 15 de diciembre.", earlier_requests=2, earlier_subject="[mantenimiento] ventana {n}",
        reply_says=("su plan incluye 2 por año de soporte", "va más allá de los incluidos")),
    Row("Calltech Platinum: 2 preventive maintenances per support year (3rd beyond the allowance)", "platinum",
        "[mantenimiento] ventana", TUESDAY_17H_BOGOTA, body="Proponemos el 15 de diciembre.", earlier_requests=2,
        earlier_subject="[mantenimiento] ventana {n}", reply_says=("va más allá de los incluidos",)),
    Row("Calltech Gold: out-of-scope request (capacitación) still opened", "gold", "Capacitación para operadores",
        TUESDAY_17H_BOGOTA, body="Queremos una capacitación del módulo de grabación para cinco personas."),
    Row("Calltech Gold: missing information includes sample code, if applicable", "gold", "Error en la API",
        TUESDAY_17H_BOGOTA, body="La integración con la API de grabación devuelve error 500 desde ayer.",
        reply_says=("código de ejemplo que permita reproducir el problema, si aplica",)),
    # Hardware warranty: Standard 48 h / Extended 8 h in the 5x8 modality (business hours, as assumed), NBD 24x7
    # round the clock, counted from the RMA's start (the case that opens it); exclusions listed in the acknowledgment.
    Row("Calltech warranty: Standard replacement within 48 h", "gold", "[RMA] fuente dañada", TUESDAY_17H_BOGOTA,
        replacement="2026-12-01 15:00",
        reply_says=("Calltech Standard Warranty", "martes 1 de diciembre de 2026, 15:00 (hora de Bogota)", "48 horas hábiles",
                    "jueves 31 de diciembre de 2026", "daños eléctricos", "infección de virus informáticos")),
    Row("Calltech warranty: Extended replacement within 8 h", "gold", "[garantía] disco dañado", TUESDAY_17H_BOGOTA,
        account="gold-extended", replacement="2026-11-25 15:00",
        reply_says=("Calltech Extended Warranty", "miércoles 25 de noviembre de 2026, 15:00 (hora de Bogota)", "8 horas hábiles")),
    Row("Calltech warranty: optional 24x7 NBD round the clock", "platinum", "[RMA] fuente dañada", TUESDAY_17H_BOGOTA,
        account="platinum-nbd", replacement="2026-11-25 17:00", reply_says=("24 horas, todos los días",)),
    Row("Calltech warranty: one year, expired warranty refused with the reason", "gold", "[RMA] fuente dañada",
        TUESDAY_17H_BOGOTA, "refused", "no_valid_warranty", account="gold-expired",
        reply_says=("garantía de hardware", "terminó el domingo 30 de noviembre de 2025")),
    # Calltech Platinum 24x7; P3/P4 in normal (8x5) hours.
    Row("Calltech Platinum: P1 2h 24x7", "platinum", "[P1] caída", TUESDAY_17H_BOGOTA, priority="P1", first_response="2026-11-24 19:00"),
    Row("Calltech Platinum: P2 4h 24x7", "platinum", "[P2] degradado", TUESDAY_17H_BOGOTA, priority="P2", first_response="2026-11-24 21:00"),
    Row("Calltech Platinum: P3 in normal hours", "platinum", "[P3] consulta", TUESDAY_17H_BOGOTA, priority="P3", first_response="2026-11-26 13:00"),
    Row("Calltech Platinum: P4 in normal hours", "platinum", "[P4] info", TUESDAY_17H_BOGOTA, priority="P4", first_response="2026-11-30 09:00"),
    # Xpears (seed 003); targets are assumptions (see the preset), calendar Mon-Fri 08:00-17:00 Bogota.
    Row("Xpears Basic: case on the 5x8 calendar", "basic", "[P1] down", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-25 16:00", resolution="2026-12-01 12:00"),
    Row("Xpears Advanced: case on the 5x8 calendar", "xpears-advanced", "[P1] down", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-25 12:00", copied=("cam@xpears-advanced.vendor.test",)),
    Row("Xpears Managed: case on the 5x8 calendar", "managed", "[P1] down", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-25 10:00", copied=("tam@managed.vendor.test", "cam@managed.vendor.test")),
    Row("Xpears Premium: P1 around the clock", "premium", "[P1] down", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-24 18:00", copied=("tam@premium.vendor.test", "cam@premium.vendor.test")),
    Row("Xpears Premium: P3 in working hours", "premium", "[P3] question", TUESDAY_17H_BOGOTA, priority="P3",
        first_response="2026-11-25 12:00", copied=("tam@premium.vendor.test", "cam@premium.vendor.test")),
    # Prepaid remote hours: the card expires with the contract (its ledger: tests/integration/test_prepaid_hours.py).
    Row("Xpears Managed: prepaid remote-hours card, balance and expiry in the acknowledgment", "managed", "[P3] VPN",
        TUESDAY_17H_BOGOTA, priority="P3", reply_says=("le quedan 10 h de 10 h", "31 de diciembre de 2027"),
        copied=("tam@managed.vendor.test", "cam@managed.vendor.test")),
    Row("Xpears Premium: prepaid remote-hours card, balance and expiry in the acknowledgment", "premium", "[P3] VPN",
        TUESDAY_17H_BOGOTA, priority="P3", reply_says=("le quedan 20 h de 20 h", "31 de diciembre de 2027"),
        copied=("tam@premium.vendor.test", "cam@premium.vendor.test")),
    # Xpears account managers (seed 003): a CAM from Advanced up, a TAM on Managed and Premium only.
    Row("Xpears Basic: no account manager is copied", "basic", "[P3] question", TUESDAY_17H_BOGOTA),
    Row("Xpears Advanced: the CAM is copied, no TAM", "xpears-advanced", "[P3] question", TUESDAY_17H_BOGOTA,
        copied=("cam@xpears-advanced.vendor.test",)),
    Row("Xpears Managed: the TAM and the CAM are copied", "managed", "[P3] question", TUESDAY_17H_BOGOTA,
        copied=("tam@managed.vendor.test", "cam@managed.vendor.test")),
]


def local(moment: datetime | None, plan: str) -> str | None:
    return None if moment is None else moment.astimezone(ZONES.get(plan, BOGOTA)).strftime("%Y-%m-%d %H:%M")


def scenario_config(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink, db_url: str | None = None,  # type: ignore[no-untyped-def]
                    **sections) -> Path:
    return write_config(tmp_path, db_url=db_url or f"sqlite:///{tmp_path}/bot.db", source=imap_source(dovecot, mailbox_user, tmp_path),
                        delivery=smtp_delivery(smtp_sink), presets=("lastcall", "calltech", "xpears"), directory=directory(),
                        limits={"auto_replies_per_sender_per_hour": 100}, **sections)


def scenario_app(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink, at: datetime, db_url: str | None = None,  # type: ignore[no-untyped-def]
                 **sections) -> App:
    return prepared_app(scenario_config(tmp_path, dovecot, mailbox_user, smtp_sink, db_url, **sections), FixedClock(at))


@pytest.mark.parametrize("row", ROWS, ids=[row.line for row in ROWS])
def test_plan_table_line(row: Row, tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, row.at)
    sender = f"c@{row.account or row.plan}.test"
    for n in range(row.earlier_requests):
        dovecot.append(mailbox_user, customer_mail(sender=sender, subject=row.earlier_subject.format(n=n)))
    if row.earlier_requests:
        run_once(app)
        smtp_sink.wait_for(row.earlier_requests)
        smtp_sink.clear()
    dovecot.append(mailbox_user, customer_mail(sender=sender, subject=row.subject, body=row.body, message_id=f"row@{row.account or row.plan}.test"))

    run_once(app)

    with app.sessions() as session:
        record = session.scalars(select(InboundRecord).where(InboundRecord.message_id == f"row@{row.account or row.plan}.test")).one()
        case = session.get(Case, record.case_id) if record.case_id else None
    app.dispose()
    assert (record.outcome, record.rule) == (row.outcome, row.rule), record.reason
    received = smtp_sink.wait_for(1 + len(row.copied))
    [reply] = [mail for mail in received if mail.rcpt_tos == (sender,)]
    assert sorted(recipient for mail in received if mail is not reply for recipient in mail.rcpt_tos) == sorted(row.copied)
    text = reply.message.get_body(("plain",)).get_content()
    for phrase in row.reply_says:
        assert phrase in text, text
    for phrase in row.reply_lacks:
        assert phrase not in text, text
    if row.outcome != "case_opened":
        return
    assert case is not None
    if row.priority:
        assert case.priority == row.priority
    if row.first_response:
        assert local(case.first_response_due, row.plan) == row.first_response
    if row.resolution:
        assert local(case.resolution_due, row.plan) == row.resolution
    if row.first_response:
        assert "Primera respuesta" in text or "First response" in text
    if row.replacement:
        assert local(case.replacement_due, row.plan) == row.replacement
        assert case.rma_started_at == row.at  # the RMA starts with the case that opens it


def test_follow_ups_and_refused_mail_never_use_the_quota(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, TUESDAY_NOON_SANTIAGO)
    sender = "c@standard.test"
    dovecot.append(mailbox_user, customer_mail(sender=sender, subject="[solicitud] no incluida"))  # refused: type
    dovecot.append(mailbox_user, customer_mail(sender=sender, subject="[problema] uno", message_id="one@standard.test"))
    for n in range(3):  # follow-ups in the first case's thread
        dovecot.append(mailbox_user, customer_mail(sender=sender, subject="Re: uno", in_reply_to="one@standard.test"))
    dovecot.append(mailbox_user, customer_mail(sender=sender, subject="[problema] dos"))
    dovecot.append(mailbox_user, customer_mail(sender=sender, subject="[problema] tres"))
    dovecot.append(mailbox_user, customer_mail(sender=sender, subject="[problema] cuatro"))
    summary = run_once(app)
    app.dispose()
    assert summary.ingest.outcomes == {"refused": 2, "case_opened": 3, "appended": 3}


def test_quota_counts_the_accounts_calendar_month(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # 3 requests on 30 November (Santiago); on 1 December local time the count starts again.
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, datetime(2026, 11, 30, 20, 0, tzinfo=SANTIAGO))
    for n in range(3):
        dovecot.append(mailbox_user, customer_mail(sender="c@standard.test", subject=f"[problema] {n}"))
    run_once(app)
    app.clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=SANTIAGO))  # still 30 November in UTC-5 zones, December here
    dovecot.append(mailbox_user, customer_mail(sender="c@standard.test", subject="[problema] diciembre"))
    assert run_once(app).ingest.outcomes == {"case_opened": 1}
    app.dispose()


def test_account_on_a_plan_missing_from_the_configuration_is_quarantined(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, TUESDAY_NOON_SANTIAGO)
    with app.sessions() as session:
        from mailbot.db.models import Account, Plan

        session.add(Plan(name="retired"))
        session.flush()
        session.scalars(select(Account).where(Account.key == "standard")).one().plan_name = "retired"
        session.commit()
    dovecot.append(mailbox_user, customer_mail(sender="c@standard.test", subject="[problema] x"))
    assert run_once(app).ingest.outcomes == {"quarantined": 1}
    app.dispose()


def test_tag_of_another_accounts_case_still_counts_toward_the_quota(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, TUESDAY_NOON_SANTIAGO)
    dovecot.append(mailbox_user, customer_mail(sender="c@advanced.test", subject="[problem] other account"))
    run_once(app)
    for n in range(4):  # the Standard customer quotes the other account's case number every time
        dovecot.append(mailbox_user, customer_mail(sender="c@standard.test", subject=f"[LC-2026-00001] [problema] {n}"))
    assert run_once(app).ingest.outcomes == {"case_opened": 3, "refused": 1}
    app.dispose()


@dataclass(frozen=True)
class SurveyRow:
    """Seed 001: on closing, the customer rates "different aspects" of the service (one line: a number per aspect)."""

    line: str
    answers: tuple[str, ...]  # the customer's replies to the closure notice, in turn
    replies_say: tuple[str, ...]  # a phrase of the bot's reply to each
    ratings: dict[str, int]  # stored per aspect
    overall: int | None  # Case.survey_rating


THANKS, CORRECTION = "Hemos registrado su valoración", "No hemos podido leer toda su respuesta"
SURVEY_ROWS = [
    SurveyRow("Calltech survey: one rating per aspect", ("5 4 3 5",), (THANKS,),
              {"response_time": 5, "solution_quality": 4, "communication": 3, "overall": 5}, 5),
    SurveyRow("Calltech survey: partial answer corrected once", ("5 4", "5 4 4 5"), ("Falta: Comunicación del ingeniero", THANKS),
              {"response_time": 5, "solution_quality": 4, "communication": 4, "overall": 5}, 5),
    SurveyRow("Calltech survey: out of range corrected once", ("5 4 6 5\nbien",), ("no hemos podido usar: 6",), {}, None),
    SurveyRow("Calltech survey: one number is the overall rating", ("4 muy bien",), (THANKS,), {"overall": 4}, 4),
    SurveyRow("Calltech survey: a second bad answer is kept as far as valid", ("5 4", "5 0 4"), (CORRECTION, "Sin valorar"),
              {"response_time": 5, "communication": 4}, None),
]


@pytest.mark.parametrize("row", SURVEY_ROWS, ids=[row.line for row in SURVEY_ROWS])
def test_survey_table_line(row: SurveyRow, tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), presets=("lastcall", "calltech", "xpears"), directory=directory(),
                          engineers=[ENGINEER], limits={"auto_replies_per_sender_per_hour": 100})
    app = prepared_app(config, FixedClock(TUESDAY_17H_BOGOTA))
    boxes = Mailboxes(app, dovecot, mailbox_user, smtp_sink)
    closure = closed_case(boxes, "c@gold.test", "[P3] consulta")
    for label in ("Tiempo de respuesta", "Calidad de la solución", "Comunicación del ingeniero", "Valoración general"):
        assert label in text_of(closure)
    for body, phrase in zip(row.answers, row.replies_say, strict=True):
        reply = text_of(answer_survey(boxes, "c@gold.test", closure, body))
        assert phrase in reply, reply
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert ({rating.aspect: rating.rating for rating in case.survey_ratings}, case.survey_rating) == (row.ratings, row.overall)
    app.dispose()


def received_by(smtp_sink, address: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The plain text of the mail `address` received, once `count` messages in all have arrived."""
    return [mail.message.get_body(("plain",)).get_content() for mail in smtp_sink.wait_for(count) if address in mail.rcpt_tos]


def notice_to_engineer(smtp_sink):  # type: ignore[no-untyped-def]
    """The engineer's new-case notice, once it and the customer's acknowledgment arrived."""
    return next(mail.message for mail in smtp_sink.wait_for(2) if ENGINEER["email"] in mail.rcpt_tos)


def test_third_maintenance_of_the_support_year_is_flagged_for_the_engineer(  # type: ignore[no-untyped-def]
    tmp_path: Path, dovecot, mailbox_user: str, smtp_sink, db_url: str
) -> None:
    # Both databases: the count runs under the account's row lock (SELECT ... FOR UPDATE on PostgreSQL).
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, TUESDAY_17H_BOGOTA, db_url, engineers=[ENGINEER])
    for n in range(3):
        dovecot.append(mailbox_user, customer_mail(sender="c@gold.test", subject=f"[mantenimiento] ventana {n}",
                                                   body="Proponemos el 15 de diciembre."))
    run_once(app)
    notices = received_by(smtp_sink, ENGINEER["email"], 6)
    app.dispose()
    assert ["MÁS ALLÁ DE LO INCLUIDO" in text for text in notices] == [False, False, True]
    assert "el plan incluye 2 mantenimientos preventivos" in notices[2]


def test_maintenances_count_again_in_a_new_support_year(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, datetime(2026, 12, 1, 10, 0, tzinfo=BOGOTA))
    for n in range(2):
        dovecot.append(mailbox_user, customer_mail(sender="c@gold.test", subject=f"[mantenimiento] {n}"))
    run_once(app)
    smtp_sink.wait_for(2)
    smtp_sink.clear()
    app.clock.set(datetime(2027, 1, 5, 10, 0, tzinfo=BOGOTA))  # the contract started on 1 January: a new support year
    dovecot.append(mailbox_user, customer_mail(sender="c@gold.test", subject="[mantenimiento] enero", body="Proponemos el 20 de enero."))
    run_once(app)
    # The first two cases are long overdue by then: Calltech's matrix escalates them in the same run.
    ack = next(mail for mail in smtp_sink.wait_for(1) if mail.rcpt_tos == ("c@gold.test",) and "enero" in mail.message["Subject"])
    app.dispose()
    assert "más allá de los incluidos" not in ack.message.get_body(("plain",)).get_content()


def test_out_of_scope_spanish_request_is_opened_and_flagged_in_the_notice(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, TUESDAY_17H_BOGOTA, engineers=[ENGINEER])
    dovecot.append(mailbox_user, customer_mail(sender="c@gold.test", subject="Desarrollo de un reporte",
                                               body="Buenos días, necesitamos desarrollar un reporte de llamadas por agente."))
    assert run_once(app).ingest.outcomes == {"case_opened": 1}
    notice = notice_to_engineer(smtp_sink).get_body(("plain",)).get_content()
    with app.sessions() as session:
        [event] = session.scalars(select(CaseEvent).where(CaseEvent.kind == "out_of_scope")).all()
    app.dispose()
    assert "¿FUERA DEL ALCANCE?" in notice and '"desarrollar"' in notice and "#close unsupported" in notice
    assert event.detail == "desarrollar"


def engineer_answers(app: App, dovecot, mailbox_user: str, smtp_sink, customer: str, subject: str, commands: str) -> str:  # type: ignore[no-untyped-def]
    """A customer opens a case, the engineer replies to its notice with `commands`; returns what the engineer got back."""
    dovecot.append(mailbox_user, customer_mail(sender=customer, subject=subject))
    run_once(app)
    notice = notice_to_engineer(smtp_sink)
    smtp_sink.clear()
    dovecot.append(mailbox_user, customer_mail(sender=ENGINEER["email"], sender_name=ENGINEER["name"], subject=f"Re: {notice['Subject']}",
                                               in_reply_to=notice["Message-ID"].strip("<>"), body=f"{commands}\n\nHola, lo reviso."))
    run_once(app)
    [answer] = smtp_sink.wait_for(1)
    assert answer.rcpt_tos == (ENGINEER["email"],)  # refused to the engineer; nothing reaches the customer
    return answer.message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("customer", "at", "subject", "command", "refusal", "field", "kept"),
    [
        # Last Call Standard allows problem and question only.
        ("c@standard.test", TUESDAY_NOON_SANTIAGO, "[problema] lento", "#type request",
         "#type request: el plan de este caso no admite ese tipo; admitidos: #type problem|question", "ticket_type", "problem"),
        # Calltech's scheme is P1-P4; A1 is Last Call's.
        ("c@gold.test", TUESDAY_17H_BOGOTA, "[P2] degradado", "#priority A1",
         "#priority A1: A1 no pertenece a la escala de prioridades de este plan (P1, P2, P3, P4)", "priority", "P2"),
    ],
    ids=["type outside LC Standard", "priority outside the P scheme"],
)
def test_commands_the_plan_does_not_allow_are_refused_to_the_engineer(  # type: ignore[no-untyped-def]
    tmp_path: Path, dovecot, mailbox_user: str, smtp_sink, customer: str, at: datetime, subject: str, command: str,
    refusal: str, field: str, kept: str,
) -> None:
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, at, engineers=[ENGINEER])
    answer = engineer_answers(app, dovecot, mailbox_user, smtp_sink, customer, subject, command)
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
    app.dispose()
    assert refusal in answer
    assert getattr(case, field) == kept


def test_contacts_title_and_phone_from_directory_import_reach_the_notice(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = scenario_config(tmp_path, dovecot, mailbox_user, smtp_sink, engineers=[ENGINEER])
    app = prepared_app(config, FixedClock(TUESDAY_17H_BOGOTA))
    (tmp_path / "details.toml").write_text(
        '[[accounts]]\nkey = "gold"\nname = "Cliente gold"\nplan = "gold"\ntimezone = "America/Bogota"\n'
        'contracts = [{ reference = "gold-1", starts_on = 2026-01-01, ends_on = 2027-12-31 }]\n'
        'contacts = [{ email = "c@gold.test", name = "Cliente", title = "Jefa de sistemas", phone = "+57 1 555 0100 ext. 204" }]\n')
    assert "1 contact updated" in run_cli(config, "directory", "import", str(tmp_path / "details.toml")).stdout
    dovecot.append(mailbox_user, customer_mail(sender="c@gold.test", subject="[P3] consulta"))
    run_once(app)
    notice = notice_to_engineer(smtp_sink).get_body(("plain",)).get_content()
    app.dispose()
    assert "Contacto:           Cliente, Jefa de sistemas, tel. +57 1 555 0100 ext. 204" in notice
