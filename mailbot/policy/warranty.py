"""Hardware warranty and RMA (seed 001): an account's cover, whether it holds today, and the replacement deadline (pure)."""

from __future__ import annotations

import calendar as months
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from mailbot.config import WarrantyOption, WarrantySettings
from mailbot.policy.calendar import BusinessCalendar, deadline


class WarrantyGap(StrEnum):
    """Why an RMA request is not covered; each value names the sentence of the refusal template."""

    NONE = "none"  # the account has no hardware warranty at all
    EXPIRED = "expired"
    NOT_STARTED = "not_started"


@dataclass(frozen=True, slots=True)
class WarrantyCover:
    """An account's hardware warranty: which option, and the days it covers (both inclusive)."""

    option: str
    starts_on: date | None  # None: no known start (covered from any day up to the end)
    ends_on: date | None  # None: no end (e.g. the directory gives an option but no dates)

    def covers(self, day: date) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (self.ends_on is None or day <= self.ends_on)


def warranty_gap(cover: WarrantyCover | None, today: date) -> WarrantyGap | None:
    """None when the warranty covers today."""
    if cover is None:
        return WarrantyGap.NONE
    if cover.ends_on is not None and today > cover.ends_on:
        return WarrantyGap.EXPIRED
    if cover.starts_on is not None and today < cover.starts_on:
        return WarrantyGap.NOT_STARTED
    return None


def add_months(day: date, count: int) -> date:
    """The same day `count` months later, clamped to the month's last day (Feb 29 -> Feb 28)."""
    index = day.month - 1 + count
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, months.monthrange(year, month)[1]))


def warranty_end(starts_on: date, term_months: int) -> date:
    """The last covered day of a term: "one year" from 2026-03-01 covers up to 2027-02-28."""
    return date.fromordinal(add_months(starts_on, term_months).toordinal() - 1)


def effective_cover(
    warranty: WarrantySettings | None, option: str | None, starts_on: date | None, ends_on: date | None,
    contract_starts: Iterable[date],
) -> WarrantyCover | None:
    """The directory's values with the plan's defaults filled in; None when the account has no warranty.

    Without a start date the warranty starts with the account's first contract (the support certificate that
    also documents the warranty, seed 001); the end is the start plus the plan's term unless given.
    """
    chosen = option or (warranty.default_option if warranty else None)
    if chosen is None:
        return None
    start = starts_on or min(contract_starts, default=None)
    end = ends_on
    if end is None and start is not None and warranty is not None:
        end = warranty_end(start, warranty.term_months)
    return WarrantyCover(chosen, start, end)


def replacement_due(rma_started_at: datetime, option: WarrantyOption, calendar: BusinessCalendar) -> datetime:
    """When the replacement unit is due on site: the option's time on its calendar, from the RMA's start."""
    return deadline(rma_started_at, option.replacement, calendar)
