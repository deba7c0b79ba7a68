"""The TAM meeting reminder (seed 003): when an account's periodic meeting falls due, its TAM is told, once per due date."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbot.alerts.send import queue_once
from mailbot.config_base import in_language
from mailbot.db.models import Account, AlertSend
from mailbot.domain.directory import ContractTerm
from mailbot.logs import fields
from mailbot.outbound.labels import long_local_date
from mailbot.policy.tam_meetings import MeetingDates, meeting_dates, reminder_owed
from mailbot.app import App

log = logging.getLogger(__name__)
KEY_PREFIX = "tam_meeting"


@dataclass(frozen=True, slots=True)
class AccountMeeting:
    """What the account views say: how often, the last due date and the next, and the reminders sent."""

    every_months: int
    dates: MeetingDates | None  # None: no contract valid today
    reminders: tuple[tuple[str, str, datetime], ...]  # (due date, TAM address, when queued)


def meeting_key(account: Account, due: date) -> str:
    return f"{KEY_PREFIX}:{account.id}:{due.isoformat()}"


def account_today(app: App, account: Account, now: datetime) -> date:
    return now.astimezone(ZoneInfo(account.timezone or app.settings.support.default_timezone)).date()


def dates_for(app: App, account: Account, every_months: int, now: datetime) -> MeetingDates | None:
    terms = [ContractTerm(c.reference, c.starts_on, c.ends_on) for c in account.contracts]
    return meeting_dates(terms, every_months, account_today(app, account, now))


def tam_meeting_sweep(app: App) -> Counter[str]:
    """Queue the reminder of every meeting due today or missed since the last due date; the key makes it once."""
    plans = {name: plan for name, plan in app.settings.plans.items() if plan.tam_meeting_months}
    done: Counter[str] = Counter()
    if not plans:
        return done
    now = app.clock.now()
    with app.sessions() as session:  # read, then queue each reminder in its own transaction (SQLite has one writer)
        accounts = list(session.scalars(
            select(Account).where(Account.plan_name.in_(sorted(plans)), Account.tam_email.is_not(None))
            .options(selectinload(Account.contracts), selectinload(Account.contacts)).order_by(Account.key)))
        sent = set(session.scalars(select(AlertSend.alert_key).where(AlertSend.alert_key.like(f"{KEY_PREFIX}:%"))))
    for account in accounts:
        plan = plans[account.plan_name]
        assert plan.tam_meeting_months is not None
        dates = dates_for(app, account, plan.tam_meeting_months, now)
        due = reminder_owed(dates, plan.tam_meeting_notice_days, account_today(app, account, now)) if dates else None
        if dates is None or due is None or meeting_key(account, due) in sent:
            continue
        if remind_tam(app, account, dates, due, plan.tam_meeting_months, now):
            done["tam_meeting_reminders"] += 1
            log.info("TAM meeting reminder queued", extra=fields(account=account.key, due=due.isoformat()))
    return done


def remind_tam(app: App, account: Account, dates: MeetingDates, due: date, every_months: int, now: datetime) -> bool:
    assert account.tam_email
    support = app.settings.support
    language = account.language or support.default_language
    plan = app.catalog.plan(account.plan_name)
    context = {
        "language": language, "support_name": support.display_name, "support_address": support.address,
        "account_name": account.name, "account_key": account.key,
        "plan_name": (in_language(plan.display_name, language) if plan else None) or account.plan_name,
        "every_months": every_months, "due_date": long_local_date(due, language), "contract": dates.contract,
        "contacts": [f"{contact.name} <{contact.email}>" if contact.name else contact.email for contact in account.contacts],
    }
    content = app.replies.renderer.render("tam_meeting_reminder", language, context)
    return queue_once(app, meeting_key(account, due), "tam_meeting_reminder", account.tam_email, "", content, now)


def account_meeting(app: App, session: Session, account: Account, now: datetime) -> AccountMeeting | None:
    """For `mailbot accounts show`: None when the account's plan has no TAM meetings."""
    plan = app.catalog.plan(account.plan_name)
    if plan is None or not plan.tam_meeting_months:
        return None
    rows = session.execute(select(AlertSend.alert_key, AlertSend.recipient, AlertSend.created_at)
                           .where(AlertSend.alert_key.like(f"{KEY_PREFIX}:{account.id}:%")).order_by(AlertSend.id))
    reminders = tuple((key.rpartition(":")[2], recipient, at) for key, recipient, at in rows)
    return AccountMeeting(plan.tam_meeting_months, dates_for(app, account, plan.tam_meeting_months, now), reminders)
