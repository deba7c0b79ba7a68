"""Prepaid remote-support hours (seed 003's "tarjetas prepagas"): which card is current, its balance, refusals, statements.

Pure functions over plain values; the ledger rows live in mailbot.cases.prepaid_hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from mailbot.domain.directory import ContractTerm
from mailbot.policy.commands import Command, CommandError

LOW, EXHAUSTED = "low", "exhausted"  # the two statements a card sends, once each
OVERDRAFT = "overdraft"  # the word after the hours that allows a debit past the balance


@dataclass(frozen=True, slots=True)
class CardTerms:
    """What a card grants: hours for a contract period, expiring with it (seed 003: with the support maintenance)."""

    contract_reference: str
    starts_on: date
    expires_on: date  # the last day the hours may be used
    granted: float


@dataclass(frozen=True, slots=True)
class CardBalance:
    terms: CardTerms
    used: float  # debits so far, overdrafts included

    @property
    def remaining(self) -> float:
        return round(self.terms.granted - self.used, 4)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def contract_period(term: ContractTerm, today: date) -> tuple[date, date]:
    """The card period of a contract containing `today`: the whole contract when it has an end; an open-ended
    contract grants a card per contract year counted from its start (ASSUMPTION: the seed only speaks of cards
    that expire with the support maintenance, and an open-ended contract has no such date)."""
    if term.ends_on is not None:
        return term.starts_on, term.ends_on
    years = today.year - term.starts_on.year
    if add_years(term.starts_on, years) > today:
        years -= 1
    start = add_years(term.starts_on, years)
    return start, add_years(term.starts_on, years + 1) - timedelta(days=1)


def hours_of(term: ContractTerm, plan_hours: float) -> float:
    return plan_hours if term.prepaid_remote_hours is None else term.prepaid_remote_hours


def current_card(contracts: Iterable[ContractTerm], plan_hours: float, today: date) -> CardTerms | None:
    """The card of the contract covering today (the latest-starting one if several do); None: no prepaid hours."""
    covering = sorted((term for term in contracts if term.covers(today)), key=lambda term: term.starts_on)
    for term in reversed(covering):
        granted = hours_of(term, plan_hours)
        if granted > 0:
            starts_on, expires_on = contract_period(term, today)
            return CardTerms(term.reference, starts_on, expires_on, granted)
    return None


def has_prepaid_hours(contracts: Iterable[ContractTerm], plan_hours: float) -> bool:
    return any(hours_of(term, plan_hours) > 0 for term in contracts)


def time_command_problems(commands: Iterable[Command], balance: CardBalance | None) -> list[CommandError]:
    """#time lines that would take the card past its balance without the word 'overdraft'.

    Lines are taken in order, each against what the earlier ones of the same message left.
    """
    if balance is None:
        return []  # no prepaid card: time is only logged on the case (the behaviour of plans without hours)
    problems: list[CommandError] = []
    remaining = balance.remaining
    for command in commands:
        if command.name != "time":
            continue
        if command.detail != OVERDRAFT and command.hours > remaining + 1e-9:
            problems.append(CommandError(
                f"#time {command.argument}", "hours_exceed_balance",
                (("hours", format_hours(command.hours)), ("remaining", format_hours(max(remaining, 0.0))),
                 ("expires_on", balance.terms.expires_on.isoformat())),
            ))
            continue
        remaining -= command.hours
    return problems


def statements_due(granted: float, after: float, low_at: float, already_sent: Iterable[str]) -> tuple[str, ...]:
    """Statements a debit leaving `after` remaining hours calls for, each once per card.

    Below `low_at` of the grant: LOW; at or under zero: EXHAUSTED (which alone is sent when one debit crosses both,
    since it says everything the low one would).
    """
    sent = set(already_sent)
    if after <= 0:
        return () if EXHAUSTED in sent else (EXHAUSTED,)
    if after < granted * low_at and LOW not in sent:
        return (LOW,)
    return ()


def format_hours(hours: float) -> str:
    """1.5 -> '1.5', 2.0 -> '2': hours as people write them."""
    return f"{hours:.2f}".rstrip("0").rstrip(".")
