"""An engineer's #time on a prepaid card: the debit, and the statement to the account when the balance runs low or out."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases.prepaid_hours import account_today, add_debit, card_terms, open_card, recent_debits, used_hours
from mailbot.db.models import Account, Contact, PrepaidHoursCard
from mailbot.outbound.labels import long_local_date, long_local_time
from mailbot.outbound.notices import Addressee
from mailbot.policy.commands import Command
from mailbot.policy.prepaid_hours import EXHAUSTED, LOW, OVERDRAFT, format_hours, statements_due

if TYPE_CHECKING:
    from mailbot.cases.work import CaseWork

STATEMENT = "prepaid_hours_statement"


def debit_prepaid_hours(app: App, session: Session, work: CaseWork, command: Command, actor: str, at: datetime) -> None:
    """Debit the case's account's current card (none: the plan has no prepaid hours, and only the case counts them).

    Policy has already refused a debit past the balance without 'overdraft' (policy.prepaid_hours), against the
    balance read before this transaction; the card's row lock orders two engineers debiting at once.
    """
    account = session.get(Account, work.case.account_id)
    if account is None:
        return
    plan = app.catalog.plan(account.plan_name)
    terms = card_terms(session, account, plan, account_today(account, app.settings.support.default_timezone, at))
    if terms is None or plan is None:
        return
    card = open_card(session, account.id, terms, work.now)
    before = card.granted - used_hours(session, card.id)
    overdraft = command.detail == OVERDRAFT
    if not overdraft and command.hours > before + 1e-9:
        # Another engineer's debit committed after policy read the balance: never a silent overdraft.
        overdraft = True
        work.event("mailbot", "hours_overdraft", f"{format_hours(command.hours)} h past the balance of {format_hours(before)} h"
                                                 " (another debit came first): recorded as an overdraft")
    add_debit(session, card, work.case.id, actor, command.hours, at, overdraft)
    remaining = before - command.hours
    sent = [kind for kind, moment in ((LOW, card.low_statement_at), (EXHAUSTED, card.exhausted_statement_at)) if moment]
    for kind in statements_due(card.granted, remaining, plan.prepaid_hours_low_at, sent):
        send_statement(app, session, work, account, card, kind, remaining)
        card.low_statement_at = card.low_statement_at or work.now  # an exhausted statement says all a low one would
        if kind == EXHAUSTED:
            card.exhausted_statement_at = work.now


def send_statement(app: App, session: Session, work: CaseWork, account: Account, card: PrepaidHoursCard, kind: str,
                   remaining: float) -> None:
    """To every designated contact in their language, and a copy to the account managers where the plan has them."""
    default = app.settings.support.default_language
    contacts = session.scalars(select(Contact).where(Contact.account_id == account.id).order_by(Contact.email))
    recipients = [(Addressee(contact.email, contact.name), contact.language or account.language or default, False)
                  for contact in contacts]
    recipients += [(Addressee(address), account.language or default, True) for address in work.account_managers()]
    for addressee, language, for_manager in recipients:
        context = statement_context(app, session, account, card, kind, remaining, language)
        mail = work.notices.build(STATEMENT, language, {**work.case_context(language), **context, "for_manager": for_manager,
                                                        "contact_name": addressee.name},
                                  addressee, work.now, case_number=work.case.number)
        work.send(mail, internal=True)  # about the account, not the case's conversation: kept out of its thread


def statement_context(app: App, session: Session, account: Account, card: PrepaidHoursCard, kind: str, remaining: float,
                      language: str) -> dict[str, Any]:
    zone = app.replies.zone_for(None)
    plan = app.catalog.plan(account.plan_name)
    return {
        "statement": kind, "account_name": account.name,
        "hours_granted": format_hours(card.granted), "hours_used": format_hours(card.granted - remaining),
        "hours_remaining": format_hours(max(remaining, 0.0)), "hours_overdrawn": format_hours(max(-remaining, 0.0)),
        "hours_expires_on": long_local_date(card.expires_on, language), "contract_reference": card.contract_reference,
        "low_at_percent": round((plan.prepaid_hours_low_at if plan else 0.25) * 100),
        "recent_debits": [
            {"at": long_local_time(debit.at, zone, language), "hours": format_hours(debit.hours),
             "case_number": debit.case_number, "engineer": debit.engineer, "overdraft": debit.overdraft}
            for debit in recent_debits(session, card.id)
        ],
    }
