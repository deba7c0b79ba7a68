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
from mailbot.db.models import Case, InboundRecord
from mailbot.app import App
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail

SANTIAGO, BOGOTA = ZoneInfo("America/Santiago"), ZoneInfo("America/Bogota")
TUESDAY_NOON_SANTIAGO = datetime(2026, 11, 24, 12, 0, tzinfo=SANTIAGO)
TUESDAY_17H_BOGOTA = datetime(2026, 11, 24, 17, 0, tzinfo=BOGOTA)
PLANS = ("standard", "advanced", "gold", "platinum", "basic", "xpears-advanced", "managed", "premium")
ZONES = {"standard": SANTIAGO, "advanced": SANTIAGO}
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
            f'[[accounts]]\nkey = "{plan}"\nname = "Cliente {plan}"\nplan = "{plan}"\ntimezone = "{zone}"\n'
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
    body: str = "Buenos días, necesitamos ayuda."
    reply_says: tuple[str, ...] = field(default=())
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
        first_response="2026-11-25 12:00"),
    Row("Xpears Managed: case on the 5x8 calendar", "managed", "[P1] down", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-25 10:00"),
    Row("Xpears Premium: P1 around the clock", "premium", "[P1] down", TUESDAY_17H_BOGOTA, priority="P1",
        first_response="2026-11-24 18:00"),
    Row("Xpears Premium: P3 in working hours", "premium", "[P3] question", TUESDAY_17H_BOGOTA, priority="P3",
        first_response="2026-11-25 12:00"),
]


def local(moment: datetime | None, plan: str) -> str | None:
    return None if moment is None else moment.astimezone(ZONES.get(plan, BOGOTA)).strftime("%Y-%m-%d %H:%M")


def scenario_app(tmp_path: Path, dovecot, mailbox_user: str, smtp_sink, at: datetime) -> App:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), presets=("lastcall", "calltech", "xpears"), directory=directory(),
                          limits={"auto_replies_per_sender_per_hour": 100})
    return prepared_app(config, FixedClock(at))


@pytest.mark.parametrize("row", ROWS, ids=[row.line for row in ROWS])
def test_plan_table_line(row: Row, tmp_path: Path, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app = scenario_app(tmp_path, dovecot, mailbox_user, smtp_sink, row.at)
    sender = f"c@{row.account or row.plan}.test"
    for n in range(row.earlier_requests):
        dovecot.append(mailbox_user, customer_mail(sender=sender, subject=f"[problem] earlier {n}"))
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
    [reply] = smtp_sink.wait_for(1)
    text = reply.message.get_body(("plain",)).get_content()
    for phrase in row.reply_says:
        assert phrase in text, text
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
