"""The configured plans and calendars as ready-to-use values: which calendar and targets apply to a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from mailbot.config import ALWAYS_OPEN, WEEKDAYS, CalendarSettings, PlanSettings, Settings, WarrantyOption, parse_interval
from mailbot.policy.calendar import BusinessCalendar, deadline
from mailbot.policy.warranty import replacement_due


def build_calendar(name: str, settings: CalendarSettings) -> BusinessCalendar:
    zone = ZoneInfo(settings.timezone)
    if settings.always_open:
        return BusinessCalendar(name, zone, always_open=True)
    hours = tuple(parse_interval(value) for value in settings.hours)
    weekly = {WEEKDAYS.index(day): hours for day in settings.days}
    return BusinessCalendar(name, zone, weekly, closed_day_check(settings))


def closed_day_check(settings: CalendarSettings):  # type: ignore[no-untyped-def]
    extra = frozenset(settings.closed_dates)
    public = None
    if settings.holidays_country:
        import holidays  # ~60 ms to load: only for a calendar that has public holidays

        public = holidays.country_holidays(settings.holidays_country, subdiv=settings.holidays_subdivision)

    @lru_cache(maxsize=4096)
    def is_closed(day: date) -> bool:
        return day in extra or (public is not None and day in public)

    return is_closed


@dataclass(frozen=True, slots=True)
class Targets:
    first_response_due: datetime | None
    resolution_due: datetime | None
    calendar: str


class Catalog:
    def __init__(self, settings: Settings) -> None:
        self._plans = dict(settings.plans)
        self._calendars = {name: build_calendar(name, value) for name, value in settings.calendars.items()}
        self._calendars.setdefault(ALWAYS_OPEN, BusinessCalendar(ALWAYS_OPEN, ZoneInfo("UTC"), always_open=True))

    def plan(self, name: str) -> PlanSettings | None:
        return self._plans.get(name)

    def calendar_for(self, plan: PlanSettings, priority: str) -> BusinessCalendar:
        return self._calendars[plan.calendar_by_priority.get(priority, plan.calendar)]

    def calendar(self, name: str) -> BusinessCalendar:
        return self._calendars[name]

    def targets(self, plan: PlanSettings, priority: str, start: datetime) -> Targets:
        calendar = self.calendar_for(plan, priority)
        target = plan.targets.get(priority)
        first = target.first_response if target else None
        resolution = target.resolution if target else None
        return Targets(
            first_response_due=deadline(start, first, calendar) if first else None,
            resolution_due=deadline(start, resolution, calendar) if resolution else None,
            calendar=calendar.name,
        )



    def warranty_option(self, plan: PlanSettings | None, option: str | None) -> WarrantyOption | None:
        return plan.warranty.options.get(option or "") if plan and plan.warranty else None

    def replacement_calendar(self, plan: PlanSettings | None, option: str | None) -> BusinessCalendar | None:
        """The calendar an RMA's replacement is counted on; None when the plan has no such warranty option."""
        found = self.warranty_option(plan, option)
        return self._calendars[found.calendar] if found else None

    def replacement_due(self, plan: PlanSettings | None, option: str | None, rma_started_at: datetime) -> datetime | None:
        found, calendar = self.warranty_option(plan, option), self.replacement_calendar(plan, option)
        return replacement_due(rma_started_at, found, calendar) if found and calendar else None
