"""The prepaid-hours ledger in the database: an account's current card, its balance, debits and statements.

Runs inside the caller's transaction (the engineer message's), so a debit and the statement it causes commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.config import PlanSettings
from mailbot.db.models import Account, Case, Contract, PrepaidHoursCard, PrepaidHoursEntry
from mailbot.domain.directory import ContractTerm
from mailbot.policy.prepaid_hours import CardBalance, CardTerms, current_card

GRANT, DEBIT = "grant", "debit"
RECENT_DEBITS = 10  # debits a statement lists, newest first


@dataclass(frozen=True, slots=True)
class Debit:
    at: datetime
    hours: float
    case_number: str
    engineer: str
    overdraft: bool


def contract_terms(session: Session, account_id: int) -> tuple[ContractTerm, ...]:
    rows = session.scalars(select(Contract).where(Contract.account_id == account_id).order_by(Contract.starts_on))
    return tuple(ContractTerm(row.reference, row.starts_on, row.ends_on, row.prepaid_remote_hours) for row in rows)


def account_today(account: Account, default_timezone: str, moment: datetime) -> date:
    """Contract days are the account's own calendar days."""
    return moment.astimezone(ZoneInfo(account.timezone or default_timezone)).date()


def card_terms(session: Session, account: Account, plan: PlanSettings | None, day: date) -> CardTerms | None:
    return current_card(contract_terms(session, account.id), plan.prepaid_remote_hours if plan else 0.0, day)


def find_card(session: Session, account_id: int, terms: CardTerms, *, lock: bool = False) -> PrepaidHoursCard | None:
    query = select(PrepaidHoursCard).where(
        PrepaidHoursCard.account_id == account_id, PrepaidHoursCard.contract_reference == terms.contract_reference,
        PrepaidHoursCard.starts_on == terms.starts_on,
    )
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def used_hours(session: Session, card_id: int) -> float:
    total = session.scalar(select(func.coalesce(func.sum(PrepaidHoursEntry.hours), 0.0)).where(
        PrepaidHoursEntry.card_id == card_id, PrepaidHoursEntry.kind == DEBIT))
    return float(total or 0.0)


def balance_of(session: Session, account_id: int, terms: CardTerms) -> CardBalance:
    """The card's balance; a card nobody has drawn on yet is all there (its row is written at the first debit)."""
    card = find_card(session, account_id, terms)
    if card is None:
        return CardBalance(terms, 0.0)
    return CardBalance(CardTerms(card.contract_reference, card.starts_on, card.expires_on, card.granted), used_hours(session, card.id))


def open_card(session: Session, account_id: int, terms: CardTerms, now: datetime) -> PrepaidHoursCard:
    """The period's card, locked; written with its grant the first time. The directory and plan stay authoritative:
    a changed figure or end date updates the card and its grant line."""
    card = find_card(session, account_id, terms, lock=True)
    if card is None:
        try:
            with session.begin_nested():  # two engineers' first debits at once: the unique row lets one create it
                card = PrepaidHoursCard(account_id=account_id, contract_reference=terms.contract_reference,
                                        starts_on=terms.starts_on, expires_on=terms.expires_on, granted=terms.granted,
                                        created_at=now)
                session.add(card)
                session.flush()
                session.add(PrepaidHoursEntry(card_id=card.id, kind=GRANT, hours=terms.granted, at=now, overdraft=False))
                session.flush()
        except IntegrityError:
            card = find_card(session, account_id, terms, lock=True)
            assert card is not None, "the card another transaction wrote"
    if (card.granted, card.expires_on) != (terms.granted, terms.expires_on):
        card.granted, card.expires_on = terms.granted, terms.expires_on
        for entry in card.entries:
            if entry.kind == GRANT:
                entry.hours = terms.granted
    return card


def add_debit(session: Session, card: PrepaidHoursCard, case_id: int, engineer: str, hours: float, at: datetime,
              overdraft: bool) -> None:
    session.add(PrepaidHoursEntry(card_id=card.id, kind=DEBIT, hours=hours, case_id=case_id, engineer=engineer, at=at,
                                  overdraft=overdraft))
    session.flush()


def recent_debits(session: Session, card_id: int, limit: int = RECENT_DEBITS) -> list[Debit]:
    rows = session.execute(
        select(PrepaidHoursEntry, Case.number).join(Case, PrepaidHoursEntry.case_id == Case.id)
        .where(PrepaidHoursEntry.card_id == card_id, PrepaidHoursEntry.kind == DEBIT)
        .order_by(PrepaidHoursEntry.at.desc(), PrepaidHoursEntry.id.desc()).limit(limit)
    ).all()
    return [Debit(entry.at, entry.hours, number, entry.engineer or "", entry.overdraft) for entry, number in rows]


def case_entries(session: Session, case_id: int) -> list[dict[str, object]]:
    """A case's ledger lines, for `cases show`."""
    rows = session.execute(
        select(PrepaidHoursEntry, PrepaidHoursCard).join(PrepaidHoursCard, PrepaidHoursEntry.card_id == PrepaidHoursCard.id)
        .where(PrepaidHoursEntry.case_id == case_id).order_by(PrepaidHoursEntry.at, PrepaidHoursEntry.id)
    ).all()
    return [{"at": entry.at.isoformat(), "hours": entry.hours, "engineer": entry.engineer, "overdraft": entry.overdraft,
             "contract": card.contract_reference, "card_expires_on": card.expires_on.isoformat()} for entry, card in rows]


def account_cards(session: Session, account: Account, plan: PlanSettings | None, today: date) -> list[dict[str, object]]:
    """Every card of the account, newest first, with the current one even before anyone drew on it."""
    cards = list(session.scalars(select(PrepaidHoursCard).where(PrepaidHoursCard.account_id == account.id)
                                 .order_by(PrepaidHoursCard.starts_on.desc(), PrepaidHoursCard.id.desc())))
    views = [_card_view(card.contract_reference, card.starts_on, card.expires_on, card.granted, used_hours(session, card.id),
                        today, _entries(session, card.id)) for card in cards]
    terms = card_terms(session, account, plan, today)
    recorded = {(card.contract_reference, card.starts_on) for card in cards}
    if terms is not None and (terms.contract_reference, terms.starts_on) not in recorded:
        views.insert(0, _card_view(terms.contract_reference, terms.starts_on, terms.expires_on, terms.granted, 0.0, today, []))
    return views


def _card_view(reference: str, starts_on: date, expires_on: date, granted: float, used: float, today: date,
               entries: list[dict[str, object]]) -> dict[str, object]:
    state = "expired" if expires_on < today else ("future" if starts_on > today else "current")
    return {"contract": reference, "starts_on": starts_on.isoformat(), "expires_on": expires_on.isoformat(), "state": state,
            "granted": granted, "used": round(used, 4), "remaining": round(granted - used, 4), "entries": entries}


def _entries(session: Session, card_id: int) -> list[dict[str, object]]:
    rows = session.execute(
        select(PrepaidHoursEntry, Case.number).outerjoin(Case, PrepaidHoursEntry.case_id == Case.id)
        .where(PrepaidHoursEntry.card_id == card_id).order_by(PrepaidHoursEntry.id)  # as recorded: the grant first
    ).all()
    return [{"kind": entry.kind, "at": entry.at.isoformat(), "hours": entry.hours, "case": number,
             "engineer": entry.engineer, "overdraft": entry.overdraft} for entry, number in rows]
