"""When an account's TAM meeting falls due (seed 003: "una reunión semestral entre el TAM y los contactos designados")."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from mailbot.domain.directory import ContractTerm


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the 31st becomes the month's last day where the month is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class MeetingDates:
    """The meeting of the contract valid today: the last one due (if any yet) and the next."""

    contract: str
    last_due: date | None  # the latest due date on or before today; its reminder is owed until it is sent
    next_due: date | None  # the first due date after today, within the contract


def meeting_dates(contracts: Iterable[ContractTerm], every_months: int, today: date) -> MeetingDates | None:
    """Due dates count from the start of the contract valid today: start + N, + 2N ... months, up to its end.

    None when no contract is valid today (no meeting is owed to an account without support).
    """
    valid = [term for term in contracts if term.covers(today)]
    if not valid:
        return None
    term = max(valid, key=lambda item: item.starts_on)  # a renewal counts from its own start
    last_due: date | None = None
    step = 1
    due = add_months(term.starts_on, every_months)
    while due <= today:
        last_due, step = due, step + 1
        due = add_months(term.starts_on, every_months * step)  # from the start each time: no drift after a 31st
    next_due = due if term.ends_on is None or due <= term.ends_on else None
    return MeetingDates(term.reference, last_due, next_due)


def reminder_owed(dates: MeetingDates, notice_days: int, today: date) -> date | None:
    """The due date whose reminder is owed today: from `notice_days` before it, and for as long after it.

    A due date further in the past is not reminded: the bot was not running then, or the account came later, and
    a reminder months late helps nobody. The coming meeting wins over a passed one.
    """
    window = timedelta(days=notice_days)
    if dates.next_due is not None and dates.next_due - window <= today:
        return dates.next_due
    if dates.last_due is not None and today - dates.last_due <= window:
        return dates.last_due
    return None
