"""Business calendars: when a support team is on duty, and how much working time lies between two instants.

All arithmetic is done on UTC instants; local wall-clock times only define the opening intervals, so days
that change clocks (DST) count the hours that really pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

MAX_SEARCH_DAYS = 3660  # a calendar that never opens must not loop forever
DAYS_KEPT = 4000  # days of intervals a calendar remembers (more than MAX_SEARCH_DAYS: one search never clears it)

OpeningHours = tuple[tuple[time, time], ...]  # (start, end) intervals; end time(0, 0) means midnight
IsClosedDay = Callable[[date], bool]


class CalendarNeverOpen(ValueError):
    """The calendar has no working time within the search horizon."""


def never_closed(day: date) -> bool:
    return False


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly opening hours in a time zone, minus closed days; `always_open` is 24x7 (holidays included)."""

    name: str
    zone: ZoneInfo
    weekly: dict[int, OpeningHours] = field(default_factory=dict)  # Monday=0 .. Sunday=6
    is_closed_day: IsClosedDay = never_closed
    always_open: bool = False
    # Each day's intervals, worked out once: every SLA deadline walks the same few days again.
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def intervals_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working intervals as UTC instants."""
        known = self._days.get(day)
        if known is None:
            if len(self._days) >= DAYS_KEPT:
                self._days.clear()
            known = self._days[day] = tuple(self._work_out(day))
        return known

    def _work_out(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_closed_day(day):
            return
        for opens, closes in self.weekly.get(day.weekday(), ()):
            start = datetime.combine(day, opens, tzinfo=self.zone)
            end_day = day + timedelta(days=1) if closes == time(0, 0) else day
            end = datetime.combine(end_day, closes, tzinfo=self.zone)
            yield start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()


def deadline(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant at which `duration` of working time has passed since `start`."""
    _require_aware(start)
    start = start.astimezone(timezone.utc)
    if calendar.always_open:
        return start + duration
    remaining = duration
    day = calendar.local_day(start) - timedelta(days=1)  # an interval may have begun the evening before
    for _ in range(MAX_SEARCH_DAYS):
        for opens, closes in calendar.intervals_on(day):
            usable_from = max(opens, start)
            if usable_from >= closes:
                continue
            available = closes - usable_from
            if remaining <= available:
                return usable_from + remaining
            remaining -= available
        day += timedelta(days=1)
    raise CalendarNeverOpen(f"calendar {calendar.name!r} has no working time within {MAX_SEARCH_DAYS} days")


def elapsed(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Working time between two instants (zero when end is not after start)."""
    _require_aware(start)
    _require_aware(end)
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    if end <= start:
        return timedelta(0)
    if calendar.always_open:
        return end - start
    total = timedelta(0)
    day = calendar.local_day(start) - timedelta(days=1)
    last = calendar.local_day(end)
    while day <= last:
        for opens, closes in calendar.intervals_on(day):
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def add_business_days(start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """The same local time `days` working days later (a working day is one with opening hours)."""
    _require_aware(start)
    local = start.astimezone(calendar.zone)
    day = local.date()
    counted = 0
    for _ in range(MAX_SEARCH_DAYS):
        day += timedelta(days=1)
        if calendar.always_open or any(True for _ in calendar.intervals_on(day)):
            counted += 1
            if counted >= days:
                return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=calendar.zone).astimezone(timezone.utc)
    raise CalendarNeverOpen(f"calendar {calendar.name!r} has no working day within {MAX_SEARCH_DAYS} days")


def is_open(instant: datetime, calendar: BusinessCalendar) -> bool:
    if calendar.always_open:
        return True
    instant = instant.astimezone(timezone.utc)
    day = calendar.local_day(instant)
    return any(
        opens <= instant < closes for d in (day - timedelta(days=1), day) for opens, closes in calendar.intervals_on(d)
    )


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("business-time arithmetic needs time-zone aware datetimes")
