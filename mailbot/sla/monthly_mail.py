"""The monthly SLA report by email: last month's figures to the configured managers, once per month and address."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from mailbot.db.engine import transaction
from mailbot.db.models import AlertSend, OutboxMessage
from mailbot.entrypoints.tables import render_table
from mailbot.outbound.compose import Envelope, as_bytes, compose, new_message_id
from mailbot.outbound.templates import RenderedMail
from mailbot.app import App
from mailbot.sla.report import ASPECT_COLUMNS, sla_report, survey_by_aspect

COLUMNS = ("plan", "priority", "opened", "first_response_met_pct", "resolution_met_pct", "first_response_median_h",
           "first_response_p90_h", "resolution_median_h", "resolution_p90_h", "survey_average", "breaches")


def render_rows(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    return render_table(columns, [["" if row[column] is None else str(row[column]) for column in columns] for row in rows])


def previous_month(today: date) -> str:
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def send_monthly_report(app: App) -> int:
    """Queue last month's report for each recipient that has not had it; returns how many were queued."""
    recipients = app.settings.escalation.monthly_report_to
    if not recipients:
        return 0
    now = app.clock.now()
    month = previous_month(now.astimezone(ZoneInfo(app.settings.support.default_timezone)).date())
    with app.sessions() as session:
        rows = sla_report(app, session, month)
        aspects = survey_by_aspect(app, session, month)
    table = render_rows(COLUMNS, rows)
    survey = render_rows(ASPECT_COLUMNS, aspects)
    content = RenderedMail(subject=f"SLA report {month}", text=f"SLA report {month}\n\n{table}\n\nSurvey by aspect\n\n{survey}\n",
                           html=None)
    support = app.settings.support
    queued = 0
    for address in recipients:
        message_id = new_message_id(support.id_domain)
        envelope = Envelope(support.address, support.display_name, address, "", support.address, message_id, now,
                            auto_submitted="auto-generated", loop_marker=support.address)
        try:
            with transaction(app.sessions) as session:
                row = OutboxMessage(message_id=message_id, kind=f"sla_report:{month}", recipient=address,
                                    envelope_from=app.settings.outbox.envelope_from or support.address,
                                    subject=content.subject, raw=as_bytes(compose(envelope, content)), is_auto_reply=False,
                                    status="pending", attempts=0, next_attempt_at=now, created_at=now)
                session.add(row)
                session.flush()
                session.add(AlertSend(alert_key=f"sla_report:{month}", recipient=address, outbox_id=row.id, created_at=now))
            queued += 1
        except IntegrityError:
            continue  # already sent this month (another instance, or an earlier run)
    return queued
