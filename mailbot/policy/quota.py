"""The monthly request quota runs by calendar month in the account's time zone."""

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
