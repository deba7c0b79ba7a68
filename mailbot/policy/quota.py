"""Quotas: the monthly request quota (calendar month, account's zone) and allowances per contract year."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def month_window(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar month containing `now`, as UTC instants."""
    today = now.astimezone(zone).date()
    start = datetime.combine(month_start(today), datetime.min.time(), tzinfo=zone)
    end = datetime.combine(next_month_start(today), datetime.min.time(), tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def support_year(contract_start: date, day: date) -> tuple[date, date]:
    """[start, end) of the contract year containing `day`: years run from the contract's start, anniversary to
    anniversary (a contract started on 29 February has its anniversary on 28 February in other years)."""
    years = day.year - contract_start.year
    start = anniversary(contract_start, years)
    if start > day:
        years -= 1
        start = anniversary(contract_start, years)
    return start, anniversary(contract_start, years + 1)


def anniversary(contract_start: date, years: int) -> date:
    year = contract_start.year + years
    try:
        return contract_start.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def day_window(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local days [start, end) as UTC instants."""
    return (datetime.combine(start, datetime.min.time(), tzinfo=zone).astimezone(timezone.utc),
            datetime.combine(end, datetime.min.time(), tzinfo=zone).astimezone(timezone.utc))


def is_beyond_allowance(used_before: int, allowance: int | None) -> bool:
    """A further maintenance when `used_before` of the year's `allowance` are taken (None: unlimited)."""
    return allowance is not None and used_before >= allowance
