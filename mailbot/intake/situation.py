"""Everything policy needs to know about one message, read inside the message's transaction: the Situation.

Who the sender is comes from the directory held in memory; what the database alone knows (the thread, the month's
requests, the auto-replies of the last hour, the prepaid-hours card) is read here, each with one statement.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases.prepaid_hours import balance_of
from mailbot.config import PlanSettings
from mailbot.db.queries import cases_of_type_between, requests_in_month, thread_match
from mailbot.directory.snapshot import DirectorySnapshot
from mailbot.domain.decisions import Situation
from mailbot.domain.directory import SenderStanding, ThreadMatch
from mailbot.domain.messages import InboundMessage
from mailbot.policy.classify import Classification, classify
from mailbot.policy.prepaid_hours import CardBalance, current_card
from mailbot.policy.quota import day_window, month_window, support_year
from mailbot.policy.rules import is_new_request


class PlanNotConfigured(Exception):
    """A designated contact's account is on a plan the configuration does not define."""


def read_situation(app: App, session: Session, directory: DirectorySnapshot, message: InboundMessage,
                   now: datetime, auto_replies_last_hour: int) -> Situation:
    """`auto_replies_last_hour`: automatic replies to the sender since an hour ago (read with the first look)."""
    email = message.sender.email if message.sender else ""
    sender = directory.standing(email) if email else None
    if sender is not None:
        directory.attach(session, sender.account_id)  # its cases' account and contact then need no query
    thread = thread_match(session, message, app.numbering)
    if thread is not None and not app.settings.cases.survey:
        thread = replace(thread, survey_pending=False)
    plan = app.catalog.plan(sender.plan_name) if sender else None
    if sender is not None and plan is None and email not in app.engineers:
        raise PlanNotConfigured(
            f"account {sender.account_key}'s plan {sender.plan_name!r} is not in the configuration;"
            " add it (or a preset) and release this message from the quarantine"
        )
    zone = ZoneInfo((sender.account_timezone if sender else None) or app.settings.support.default_timezone)
    used = 0
    new_request = is_new_request(thread, sender, now, app.policy)
    if sender is not None and plan is not None and plan.requests_per_month is not None and new_request:
        used = requests_in_month(session, sender.account_id, *month_window(now, zone))
    found = classify(message, plan, now.astimezone(zone).date()) if plan else None
    return Situation(
        message=message,
        sender=sender,
        thread=thread,
        auto_replies_to_sender_last_hour=auto_replies_last_hour,
        now=now,
        plan=plan,
        classification=found,
        requests_this_month=used,
        maintenances_this_year=maintenances_this_year(session, sender, plan, found, new_request, now, zone),
        engineer=app.engineers.get(email),
        case_plan=app.catalog.plan(thread.plan_name) if thread else None,
        prepaid_hours=prepaid_hours(app, session, directory, sender, thread, email, now),
    )


def maintenances_this_year(session: Session, sender: SenderStanding | None, plan: PlanSettings | None,
                           found: Classification | None, new_request: bool, now: datetime, zone: ZoneInfo) -> int:
    """Maintenance cases the account opened in the current contract year, when the plan limits them."""
    if sender is None or plan is None or plan.maintenances_per_year is None or not new_request:
        return 0
    today = now.astimezone(zone).date()
    contract = sender.contract_on(today)
    if found is None or found.ticket_type != "maintenance" or contract is None:
        return 0
    start, end = day_window(*support_year(contract.starts_on, today), zone)
    return cases_of_type_between(session, sender.account_id, "maintenance", start, end)


def prepaid_hours(app: App, session: Session, directory: DirectorySnapshot, sender: SenderStanding | None,
                  thread: ThreadMatch | None, email: str, now: datetime) -> CardBalance | None:
    """The card an engineer's #time would draw on (the case's account), or the one a new case's acknowledgment names."""
    if email in app.engineers and thread is not None:
        account_id = thread.account_id
    elif sender is not None:
        account_id = sender.account_id
    else:
        return None
    account = directory.account(account_id)
    if account is None:
        return None
    plan = app.catalog.plan(account.plan_name)
    # Contract days are the account's own calendar days.
    today = now.astimezone(ZoneInfo(account.timezone or app.settings.support.default_timezone)).date()
    terms = current_card(account.contracts, plan.prepaid_remote_hours if plan else 0.0, today)
    return balance_of(session, account_id, terms) if terms else None
