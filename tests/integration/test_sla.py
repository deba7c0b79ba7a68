"""SLA escalation on the plan's business calendar: once per step, after restarts, with two instances, after downtime."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot.clock import FixedClock
from mailbot.db.models import Case, CaseEscalation
from mailbot.app import App, build_app
from mailbot.runtime.runner import deliver_once, run_once
from mailbot.sla.escalations import escalation_sweep
from tests.support.bot import prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail

BOGOTA = ZoneInfo("America/Bogota")
FRIDAY_17H = datetime(2026, 1, 9, 17, 0, tzinfo=BOGOTA)  # Monday 12 January is a holiday in Colombia
DIRECTORY = """
[[accounts]]
key = "bank"
name = "Banco"
plan = "gold"
timezone = "America/Bogota"
contracts = [{ reference = "B", starts_on = 2025-01-01 }]
contacts = [{ email = "ana@bank.test", name = "Ana" }]
"""


def config_for(tmp_path: Path, db_url: str, sink) -> Path:  # type: ignore[no-untyped-def]
    (tmp_path / "in" / "new").mkdir(parents=True, exist_ok=True)
    text_steps = (
        '[[escalation.steps]]\nclock = "response"\nat = "75%"\nnotify = "assigned"\n\n'
        '[[escalation.steps]]\nclock = "response"\nat = "100%"\nnotify = "N2"\n\n'
        '[[escalation.steps]]\nclock = "response"\nat = "100% + 2h"\nnotify = "N3"\n\n'
        '[escalation.levels.N2]\ntitle = "Support lead"\npeople = [{ name = "Laura Gómez", email = "laura@vendor.test" }]\n\n'
        '[escalation.levels.N3]\ntitle = "Post-sales lead"\npeople = [{ name = "Alejo López", email = "alejo@vendor.test", language = "en" }]\n'
    )
    path = write_config(tmp_path, db_url=db_url, source={"kind": "maildir", "path": "in"}, delivery=smtp_delivery(sink),
                        presets=("calltech",), directory=DIRECTORY,
                        engineers=[{"email": "maria@vendor.test", "name": "María Ruiz"}])
    path.write_text(path.read_text() + "\n" + text_steps)
    return path


def open_p1(app: App, tmp_path: Path) -> None:
    (tmp_path / "in" / "new" / "1.p1.host").write_bytes(customer_mail(sender="ana@bank.test", subject="[P1] Sistema caído"))
    run_once(app)


def sent_levels(app: App) -> list[tuple[str, bool]]:
    with app.sessions() as session:
        return [(row.level, row.sent) for row in session.scalars(select(CaseEscalation).order_by(CaseEscalation.id))]


def test_p1_on_friday_before_a_holiday_escalates_on_tuesday_not_over_the_weekend(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(FRIDAY_17H)
    app = prepared_app(config_for(tmp_path, sqlite_url, smtp_sink), clock)
    open_p1(app, tmp_path)
    smtp_sink.clear()
    with app.sessions() as session:
        assert session.scalars(select(Case)).one().next_escalation_at == datetime(2026, 1, 13, 8, 30, tzinfo=BOGOTA)
    for moment in (datetime(2026, 1, 10, 12, 0), datetime(2026, 1, 11, 12, 0), datetime(2026, 1, 12, 12, 0),
                   datetime(2026, 1, 13, 8, 29)):
        clock.set(moment.replace(tzinfo=BOGOTA))
        assert escalation_sweep(app) == {}
    clock.set(datetime(2026, 1, 13, 8, 31, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {"response:assigned": 1}
    clock.set(datetime(2026, 1, 13, 9, 1, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {"response:N2": 1}
    assert escalation_sweep(app) == {}  # never the same notice twice
    deliver_once(app)
    notices = {mail.rcpt_tos[0]: mail.message for mail in smtp_sink.wait_for(2)}
    lead = notices["laura@vendor.test"]
    assert "SLA INCUMPLIDO" in lead["Subject"]
    text = lead.get_body(("plain",)).get_content()
    assert "Sistema caído" in lead["Subject"] and "0 h 01 min de retraso" in text and "N2 (Support lead)" in text
    app.dispose()


def test_after_downtime_only_the_highest_step_is_sent(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(FRIDAY_17H)
    app = prepared_app(config_for(tmp_path, sqlite_url, smtp_sink), clock)
    open_p1(app, tmp_path)
    clock.set(datetime(2026, 1, 13, 14, 0, tzinfo=BOGOTA))  # the bot was down from Friday to Tuesday afternoon
    assert escalation_sweep(app) == {"response:N3": 1}
    assert sent_levels(app) == [("assigned", False), ("N2", False), ("N3", True)]
    with app.sessions() as session:
        assert session.scalars(select(Case)).one().next_escalation_at is None
    app.dispose()


def test_first_response_stops_the_response_clock(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(FRIDAY_17H)
    app = prepared_app(config_for(tmp_path, sqlite_url, smtp_sink), clock)
    open_p1(app, tmp_path)
    with app.sessions() as session:
        session.scalars(select(Case)).one().first_response_at = FRIDAY_17H
        session.commit()
    clock.set(datetime(2026, 1, 13, 14, 0, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {}
    app.dispose()


@pytest.mark.postgres
def test_two_instances_and_a_restart_send_each_notice_once(tmp_path: Path, pg_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(FRIDAY_17H)
    config = config_for(tmp_path, pg_url, smtp_sink)
    app = prepared_app(config, clock)
    for n in range(20):
        (tmp_path / "in" / "new" / f"{n}.p1.host").write_bytes(customer_mail(sender="ana@bank.test", subject=f"[P1] caído {n}"))
    run_once(app)
    clock.set(datetime(2026, 1, 13, 9, 1, tzinfo=BOGOTA))
    other = build_app(app.settings, clock)  # a second instance on the same database
    results: list = []  # type: ignore[type-arg]
    threads = [threading.Thread(target=lambda a=a: results.append(escalation_sweep(a))) for a in (app, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    restarted = build_app(app.settings, clock)
    assert escalation_sweep(restarted) == {}
    total = sum((result.get("response:N2", 0) for result in results))
    assert total == 20
    with app.sessions() as session:
        assert len(session.scalars(select(CaseEscalation).where(CaseEscalation.sent.is_(True))).all()) == 20
    for instance in (app, other, restarted):
        instance.dispose()


def test_waiting_on_the_customer_pauses_both_clocks(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from mailbot.db.engine import transaction
    from mailbot.cases.work import CaseWork
    from mailbot.sla.escalations import reschedule

    clock = FixedClock(FRIDAY_17H)
    app = prepared_app(config_for(tmp_path, sqlite_url, smtp_sink), clock)
    open_p1(app, tmp_path)
    with transaction(app.sessions) as session:  # Tuesday 08:00: the engineer waits on the customer
        case = session.scalars(select(Case)).one()
        case.status, case.waiting_since = "waiting", datetime(2026, 1, 13, 8, 0, tzinfo=BOGOTA)
        reschedule(app, session, case, clock.now())
        assert case.next_escalation_at is None
    clock.set(datetime(2026, 1, 13, 12, 0, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {}  # four hours later, nothing: the clock stood still
    with transaction(app.sessions) as session:  # the customer answers at 12:00
        case = session.scalars(select(Case)).one()
        CaseWork(app, session, case, clock.now()).resume_if_waiting("ana@bank.test")
        reschedule(app, session, case, clock.now())
        # 30 min on Friday + 30 min on Tuesday ran before the pause: the 2 h target is met at 13:00.
        assert case.first_response_due == datetime(2026, 1, 13, 13, 0, tzinfo=BOGOTA)
        assert case.next_escalation_at == datetime(2026, 1, 13, 12, 30, tzinfo=BOGOTA)
    app.dispose()


def test_sla_report(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.support.cli import run_cli

    clock = FixedClock(FRIDAY_17H)
    config = config_for(tmp_path, sqlite_url, smtp_sink)
    app = prepared_app(config, clock)
    for n in range(3):
        (tmp_path / "in" / "new" / f"{n}.r.host").write_bytes(customer_mail(sender="ana@bank.test", subject=f"[P1] caso {n}"))
    run_once(app)
    with app.sessions() as session:
        first, second, third = session.scalars(select(Case).order_by(Case.id)).all()
        first.first_response_at = datetime(2026, 1, 13, 8, 0, tzinfo=BOGOTA)  # 1 h of business time: met
        second.first_response_at = datetime(2026, 1, 13, 10, 0, tzinfo=BOGOTA)  # 3 h: missed
        first.status, first.closed_at, first.survey_rating = "closed", datetime(2026, 1, 13, 9, 0, tzinfo=BOGOTA), 5
        session.commit()
        numbers = (second.number, third.number)
    app.dispose()
    result = run_cli(config, "sla", "report", "--month", "2026-01", "--format", "json")
    [row] = json.loads(result.stdout)["rows"]
    assert (row["plan"], row["priority"], row["opened"]) == ("gold", "P1", 3)
    assert row["first_response_met_pct"] == 33.3  # the third never answered and is long overdue
    assert row["first_response_median_h"] == 2.0 and row["survey_average"] == 5
    assert row["breaches"] == ", ".join(sorted(numbers))
    assert "gold" in run_cli(config, "sla", "report", "--month", "2026-01").stdout
    assert run_cli(config, "sla", "report", "--month", "2026-01", "--format", "csv").stdout.startswith("plan,priority")


def test_customer_escalation_and_monthly_report_mail(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from mailbot.db.models import OutboxMessage
    from mailbot.sla.monthly_mail import send_monthly_report

    clock = FixedClock(FRIDAY_17H)
    config = config_for(tmp_path, sqlite_url, smtp_sink)
    config.write_text(config.read_text() + '\n[escalation]\nmonthly_report_to = ["boss@vendor.test"]\n')
    app = prepared_app(config, clock)
    open_p1(app, tmp_path)
    with app.sessions() as session:
        ack = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "acknowledgment")).one()
    smtp_sink.clear()
    # Saturday: the customer asks to escalate; the first pending step's level hears of it at once.
    clock.set(datetime(2026, 1, 10, 10, 0, tzinfo=BOGOTA))
    (tmp_path / "in" / "new" / "2.esc.host").write_bytes(customer_mail(
        sender="ana@bank.test", subject="Re: caído", in_reply_to=ack.message_id, body="Por favor escalar, seguimos caídos."))
    run_once(app)
    received = {mail.rcpt_tos[0]: mail.message for mail in smtp_sink.wait_for(3)}
    assert "El cliente pide escalar" in received["maria@vendor.test"]["Subject"] or any(
        "pide escalar" in str(message["Subject"]) for message in received.values())
    assert sent_levels(app) == [("assigned", True)]
    # The monthly report goes once per month and address.
    clock.set(datetime(2026, 2, 1, 7, 0, tzinfo=BOGOTA))
    assert send_monthly_report(app) == 1 and send_monthly_report(app) == 0
    app.dispose()


def test_a_managers_reply_to_an_escalation_is_an_internal_note(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from mailbot.db.models import CaseMessage, InboundRecord

    clock = FixedClock(FRIDAY_17H)
    app = prepared_app(config_for(tmp_path, sqlite_url, smtp_sink), clock)
    open_p1(app, tmp_path)
    clock.set(datetime(2026, 1, 13, 9, 1, tzinfo=BOGOTA))
    escalation_sweep(app)
    deliver_once(app)
    notice = next(mail.message for mail in smtp_sink.wait_for(3) if mail.rcpt_tos == ("laura@vendor.test",))
    smtp_sink.clear()
    (tmp_path / "in" / "new" / "3.mgr.host").write_bytes(customer_mail(
        sender="laura@vendor.test", sender_name="Laura", subject=f"Re: {notice['Subject']}",
        in_reply_to=notice["Message-ID"].strip("<>"), body="María, llama al cliente ya. Lo sigo yo."))
    run_once(app)
    received = smtp_sink.wait_for(1)
    assert [mail.rcpt_tos for mail in received] == [("maria@vendor.test",)]  # the engineers hear of it; the customer does not
    with app.sessions() as session:
        assert session.scalars(select(InboundRecord.rule).order_by(InboundRecord.id.desc())).first() == "third_party_reply"
        note = session.scalars(select(CaseMessage).where(CaseMessage.sender == "laura@vendor.test")).one()
        assert note.internal
    app.dispose()


# -- the replacement clock of an RMA (seed 001's hardware warranty) -------------------------------------------

RMA_DIRECTORY = """
[[accounts]]
key = "bank"
name = "Banco"
plan = "gold"
timezone = "America/Bogota"
warranty = "extended"
contracts = [{ reference = "B", starts_on = 2025-06-01 }]
contacts = [{ email = "ana@bank.test", name = "Ana" }]
"""
RMA_STEPS = (
    '[[escalation.steps]]\nclock = "replacement"\nat = "75%"\nnotify = "assigned"\n\n'
    '[[escalation.steps]]\nclock = "replacement"\nat = "100%"\nnotify = "N3"\n\n'
    '[escalation.levels.N3]\ntitle = "Post-sales lead"\npeople = [{ name = "Alejo López", email = "alejo@vendor.test", language = "en" }]\n'
)


def rma_app(tmp_path: Path, db_url: str, sink, clock: FixedClock) -> App:  # type: ignore[no-untyped-def]
    (tmp_path / "in" / "new").mkdir(parents=True, exist_ok=True)
    path = write_config(tmp_path, db_url=db_url, source={"kind": "maildir", "path": "in"}, delivery=smtp_delivery(sink),
                        presets=("calltech",), directory=RMA_DIRECTORY,
                        engineers=[{"email": "maria@vendor.test", "name": "María Ruiz"}])
    path.write_text(path.read_text() + "\n" + RMA_STEPS)
    return prepared_app(path, clock)


def write_mail(app: App, tmp_path: Path, name: str, raw: bytes) -> None:
    (tmp_path / "in" / "new" / f"{name}.host").write_bytes(raw)
    run_once(app)


def engineer_answers(app: App, tmp_path: Path, sink, body: str) -> None:  # type: ignore[no-untyped-def]
    deliver_once(app)
    notice = next(mail.message for mail in sink.wait_for(2) if mail.rcpt_tos == ("maria@vendor.test",))
    sink.clear()
    write_mail(app, tmp_path, "eng", customer_mail(sender="maria@vendor.test", sender_name="María", subject=f"Re: {notice['Subject']}",
                                                   in_reply_to=notice["Message-ID"].strip("<>"), body=body))


def test_replacement_clock_escalates_to_its_steps(tmp_path: Path, db_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # Extended warranty, 8 business hours from Friday 17:00: 30 min Friday, Monday 12 is a holiday, 7.5 h Tuesday.
    clock = FixedClock(FRIDAY_17H)
    app = rma_app(tmp_path, db_url, smtp_sink, clock)
    write_mail(app, tmp_path, "1.rma", customer_mail(sender="ana@bank.test", subject="[RMA] Fuente dañada"))
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.replacement_due == datetime(2026, 1, 13, 15, 0, tzinfo=BOGOTA)
        assert case.next_escalation_at == datetime(2026, 1, 13, 13, 0, tzinfo=BOGOTA)  # 75% = 6 business hours
    clock.set(datetime(2026, 1, 13, 12, 59, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {}
    clock.set(datetime(2026, 1, 13, 13, 0, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {"replacement:assigned": 1}
    clock.set(datetime(2026, 1, 13, 15, 1, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {"replacement:N3": 1}
    assert escalation_sweep(app) == {}
    deliver_once(app)
    manager = next(mail.message for mail in smtp_sink.wait_for(4) if mail.rcpt_tos == ("alejo@vendor.test",))
    text = manager.get_body(("plain",)).get_content()
    assert "The replacement target of case" in text and "0 h 01 min late" in text and "(RMA)" in text
    app.dispose()


def test_closing_the_case_stops_the_replacement_clock(tmp_path: Path, db_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(FRIDAY_17H)
    app = rma_app(tmp_path, db_url, smtp_sink, clock)
    write_mail(app, tmp_path, "1.rma", customer_mail(sender="ana@bank.test", subject="[garantía] Disco dañado"))
    clock.set(datetime(2026, 1, 13, 9, 0, tzinfo=BOGOTA))
    engineer_answers(app, tmp_path, smtp_sink, "#close solved\nUnidad de repuesto entregada.")
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.status == "closed" and case.next_escalation_at is None
    clock.set(datetime(2026, 1, 14, 9, 0, tzinfo=BOGOTA))
    assert escalation_sweep(app) == {}
    app.dispose()


def test_an_engineers_type_rma_starts_the_rma_then(tmp_path: Path, db_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # Seed 001: a warranty request starts as a support case "whose result is to start an RMA", from which time counts.
    clock = FixedClock(FRIDAY_17H)
    app = rma_app(tmp_path, db_url, smtp_sink, clock)
    write_mail(app, tmp_path, "1.p3", customer_mail(sender="ana@bank.test", subject="[P3] El grabador no enciende"))
    clock.set(datetime(2026, 1, 13, 9, 0, tzinfo=BOGOTA))
    engineer_answers(app, tmp_path, smtp_sink, "#type rma\nIniciamos el RMA.")
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.ticket_type, case.warranty_option) == ("rma", "extended")
        assert case.rma_started_at == datetime(2026, 1, 13, 9, 0, tzinfo=BOGOTA)
        assert case.replacement_due == datetime(2026, 1, 13, 17, 0, tzinfo=BOGOTA)
    app.dispose()
