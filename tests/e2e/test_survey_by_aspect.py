"""Closure surveys by aspect, answered from ordinary mail, then read back with `mailbot sla report` and `cases show`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from mailbot.clock import FixedClock
from mailbot.db.models import Case, OutboxMessage
from mailbot.sla.monthly_mail import send_monthly_report
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.survey import ENGINEER, Mailboxes, answer_survey, closed_case, text_of

START = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def test_surveys_by_aspect_and_their_averages(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), engineers=[ENGINEER],
                          limits={"auto_replies_per_sender_per_hour": 100}, escalation={"monthly_report_to": ["boss@vendor.test"]})
    clock = FixedClock(START)
    app = prepared_app(config, clock)
    boxes = Mailboxes(app, dovecot, mailbox_user, smtp_sink)

    # Ana answers every aspect at once.
    closure = closed_case(boxes, "ana@acme.test", "El backup falla")
    assert "1. Tiempo de respuesta" in text_of(closure) and "4. Valoración general" in text_of(closure)
    thanks = answer_survey(boxes, "ana@acme.test", closure, "5 4 3 5\nBuen trabajo.\n\nEl mar, Soporte escribió:\n> 5 4 5 4")
    assert "Comunicación del ingeniero: 3" in text_of(thanks)

    # Pedro rates two aspects: one correction naming what is missing, then his full answer.
    closure = closed_case(boxes, "pedro@acme.test", "La VPN se corta")
    correction = answer_survey(boxes, "pedro@acme.test", closure, "5 4")
    assert "Calidad de la solución: 4" in text_of(correction)
    assert "Falta: Comunicación del ingeniero, Valoración general" in text_of(correction)
    assert "valoración" in answer_survey(boxes, "pedro@acme.test", closure, "5,4,4,5")["Subject"]

    # John, in English, gives one number: the overall rating only.
    closure = closed_case(boxes, "john@globex.test", "Printer queue stuck")
    assert "1. Response time" in text_of(closure)
    thanks = answer_survey(boxes, "john@globex.test", closure, "4\n\nOn Tue, Support wrote:\n> for example: 5 4 5 4")
    assert "Overall: 4" in text_of(thanks)

    with app.sessions() as session:
        stored = {case.subject: ({rating.aspect: rating.rating for rating in case.survey_ratings}, case.survey_rating)
                  for case in session.scalars(select(Case))}
        number = session.scalars(select(Case.number).where(Case.subject == "La VPN se corta")).one()
    assert stored == {
        "El backup falla": ({"response_time": 5, "solution_quality": 4, "communication": 3, "overall": 5}, 5),
        "La VPN se corta": ({"response_time": 5, "solution_quality": 4, "communication": 4, "overall": 5}, 5),
        "Printer queue stuck": ({"overall": 4}, 4),
    }

    report = json.loads(run_cli(config, "sla", "report", "--month", "2026-11", "--format", "json").stdout)
    assert [(row["aspect"], row["average"], row["answers"]) for row in report["survey_by_aspect"]] == [
        ("response_time", 5.0, 2), ("solution_quality", 4.0, 2), ("communication", 3.5, 2), ("overall", 4.67, 3)]
    text = run_cli(config, "sla", "report", "--month", "2026-11").stdout
    assert "Survey by aspect" in text and "communication" in text and "3.5" in text
    assert "(response_time 5, solution_quality 4, communication 4, overall 5)" in run_cli(config, "cases", "show", number).stdout

    # The monthly mail renders the same report, the per-aspect table included.
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc))
    assert send_monthly_report(app) == 1
    with app.sessions() as session:
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sla_report:2026-11")).one()
    assert b"Survey by aspect" in mail.raw and b"4.67" in mail.raw
    app.dispose()
