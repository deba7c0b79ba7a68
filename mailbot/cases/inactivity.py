"""Cases waiting on the customer: a reminder after some business days, then closure as inactive."""

from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import select

from mailbot.config import ALWAYS_OPEN
from mailbot.db.engine import transaction
from mailbot.db.models import Case
from mailbot.logs import fields
from mailbot.policy.calendar import BusinessCalendar, add_business_days
from mailbot.app import App
from mailbot.cases.work import WAITING, CaseWork

log = logging.getLogger(__name__)


def inactivity_sweep(app: App) -> Counter[str]:
    """Send due reminders and close due cases; each case in its own transaction, locked, so it happens once."""
    done: Counter[str] = Counter()
    with app.sessions() as session:
        waiting = list(session.scalars(select(Case.id).where(Case.status == WAITING)))
    for case_id in waiting:
        done[handle_waiting_case(app, case_id)] += 1
    done.pop("nothing", None)
    return done


def handle_waiting_case(app: App, case_id: int) -> str:
    now = app.clock.now()
    settings = app.settings.cases
    with transaction(app.sessions) as session:
        case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
        if case is None or case.status != WAITING or case.waiting_since is None:
            return "nothing"  # another instance, or the customer, got there first
        calendar = calendar_of(app, case)
        work = CaseWork(app, session, case, now)
        if case.reminded_at is None:
            if now < add_business_days(case.waiting_since, settings.waiting_reminder_business_days, calendar):
                return "nothing"
            work.tell_customer("inactivity_reminder", {"close_after_days": settings.inactivity_close_business_days})
            case.reminded_at = now
            work.event("mailbot", "reminder", "waiting on the customer")
            log.info("inactivity reminder sent", extra=fields(case=case.number))
            return "reminded"
        if now < add_business_days(case.reminded_at, settings.inactivity_close_business_days, calendar):
            return "nothing"
        work.close("inactive", "mailbot")
        log.info("case closed for inactivity", extra=fields(case=case.number))
        return "closed_inactive"


def calendar_of(app: App, case: Case) -> BusinessCalendar:
    plan = app.catalog.plan(case.account.plan_name)
    if plan is None or case.priority is None:
        return app.catalog.calendar(ALWAYS_OPEN)
    return app.catalog.calendar_for(plan, case.priority)
