"""Where a case's SLA clock stands for a reader: met, missed, running with time left, overdue or paused (pure).

Remaining and overdue time are BUSINESS time on the clock's calendar, the way the targets are counted, so
"2 h left" on a Friday evening means two working hours, not two wall-clock hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.policy.calendar import BusinessCalendar, elapsed

MET, MISSED, RUNNING, OVERDUE, PAUSED = "met", "missed", "running", "overdue", "paused"


@dataclass(frozen=True, slots=True)
class ClockReading:
    clock: str  # "response" | "resolution" | "replacement"
    state: str  # met, missed, running, overdue, paused
    due: datetime
    stopped_at: datetime | None  # when the clock stopped (first response, close); None while it runs
    business_left: timedelta  # until due (running, paused); zero otherwise
    business_late: timedelta  # past due (missed, overdue); zero otherwise
    business_taken: timedelta  # from the start to the stop (or now), less the time spent waiting on the customer
    calendar: str


def read_clock(clock: str, started_at: datetime, due: datetime, stopped_at: datetime | None, now: datetime,
               calendar: BusinessCalendar, *, paused: timedelta = timedelta(0),
               waiting_since: datetime | None = None) -> ClockReading:
    """`paused`: business time already spent waiting on the customer (the due date already allows for it);
    `waiting_since`: the case waits on the customer now, so the clock stands still since then."""
    end = stopped_at or waiting_since or now
    taken = max(elapsed(started_at, end, calendar) - paused, timedelta(0))
    zero = timedelta(0)
    if stopped_at is not None:
        state = MISSED if stopped_at > due else MET
        return ClockReading(clock, state, due, stopped_at, zero, elapsed(due, stopped_at, calendar), taken, calendar.name)
    if waiting_since is not None:
        return ClockReading(clock, PAUSED, due, None, elapsed(waiting_since, due, calendar), zero, taken, calendar.name)
    if now > due:
        return ClockReading(clock, OVERDUE, due, None, zero, elapsed(due, now, calendar), taken, calendar.name)
    return ClockReading(clock, RUNNING, due, None, elapsed(now, due, calendar), zero, taken, calendar.name)


def is_breached(readings: list[ClockReading]) -> bool:
    return any(reading.state in (MISSED, OVERDUE) for reading in readings)


def business_span(span: timedelta) -> str:
    """'1 d 2 h 5 min' is ambiguous on business calendars (a day of 8 h?): hours and minutes only, '26 h 5 min'."""
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
