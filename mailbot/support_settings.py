"""How support is run, as configuration: calendars, plans, engineers and routing, case lifecycle, escalation."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from mailbot.config_base import Language, Section, check_timezone


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICKET_TYPES = ("problem", "question", "request", "maintenance", "rma")
PRIORITY_SCHEMES: dict[str, tuple[str, ...]] = {
    "impact": ("A1", "B2", "C3"),  # critical, moderate, minimal impact (Last Call)
    "severity": ("P1", "P2", "P3", "P4"),  # system down .. information request (Calltech, Xpears)
}
ALWAYS_OPEN = "24x7"  # a calendar every configuration has


def parse_duration(value: object) -> timedelta:
    """'2h', '30m', '1h30m', '90' (minutes) or a number of minutes."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(minutes=float(value))
    text = str(value).strip().lower().replace(" ", "")
    match = DURATION.fullmatch(text)
    if not match or not text:
        raise ValueError(f"{value!r} is not a duration such as \"2h\", \"30m\" or \"1h30m\"")
    hours, minutes = match.group(1), match.group(2)
    return timedelta(hours=float(hours or 0), minutes=float(minutes or 0))


DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m?)?")
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class CalendarSettings(Section):
    """Weekly working hours in a time zone, minus public holidays of a country and extra closed dates."""

    timezone: str = "UTC"
    always_open: bool = False
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = ("mon", "tue", "wed", "thu", "fri")
    hours: tuple[str, ...] = ("09:00-18:00",)  # intervals "HH:MM-HH:MM"; "24:00" is midnight
    holidays_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    holidays_subdivision: str | None = None
    closed_dates: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("hours")
    @classmethod
    def _intervals(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        """Sorted, and never overlapping: overlaps would count the same hour twice."""
        ordered = sorted(values, key=lambda value: parse_interval(value)[0])
        for earlier, later in zip(ordered, ordered[1:]):
            earlier_end = parse_interval(earlier)[1]
            if earlier_end == time(0, 0) or earlier_end > parse_interval(later)[0]:
                raise ValueError(f"intervals {earlier!r} and {later!r} overlap")
        return tuple(ordered)

    @model_validator(mode="after")
    def _opens_sometime(self) -> "CalendarSettings":
        if not self.always_open and (not self.days or not self.hours):
            raise ValueError("a calendar that is not always_open needs at least one day and one interval of hours")
        if self.holidays_country:
            import holidays

            try:
                holidays.country_holidays(self.holidays_country, subdiv=self.holidays_subdivision)
            except (NotImplementedError, ValueError) as error:
                raise ValueError(f"holidays: {error}") from None
        return self

    @field_validator("holidays_country")
    @classmethod
    def _supported_country(cls, value: str | None) -> str | None:
        if value is not None:
            import holidays

            if value not in holidays.list_supported_countries():
                raise ValueError(f"no public-holiday data for country {value!r}")
        return value


def parse_interval(value: str) -> tuple[time, time]:
    try:
        opens_text, closes_text = value.split("-")
        opens = _clock_time(opens_text)
        closes = _clock_time(closes_text)
    except ValueError:
        raise ValueError(f"{value!r} is not an interval such as \"07:30-17:30\"") from None
    if closes != time(0, 0) and closes <= opens:
        raise ValueError(f"{value!r}: the interval ends before it starts")
    return opens, closes


def _clock_time(text: str) -> time:
    text = text.strip()
    return time(0, 0) if text == "24:00" else time.fromisoformat(text)


class TargetSettings(Section):
    first_response: Duration | None = None
    resolution: Duration | None = None


class PlanSettings(Section):
    """A support plan: entitlements and service levels, all data."""

    display_name: str | None = None
    requests_per_month: int | None = Field(default=None, ge=0)  # None: unlimited
    max_contacts: int | None = Field(default=None, ge=1)  # None: no limit
    ticket_types: tuple[Literal["problem", "question", "request", "maintenance", "rma"], ...] = ("problem", "question", "request")
    default_ticket_type: str = "problem"
    priority_scheme: Literal["impact", "severity"] = "severity"
    default_priority: str | None = None  # None: the scheme's middle level
    targets: dict[str, TargetSettings] = Field(default_factory=dict)
    calendar: str = ALWAYS_OPEN
    calendar_by_priority: dict[str, str] = Field(default_factory=dict)
    proactive_alerts: bool = False
    account_managers: bool = False  # TAM/CAM receive copies of case notices
    queue_priority: int = 0  # higher is served first
    prepaid_remote_hours: float = Field(default=0, ge=0)
    upgrade_hint: str | None = None  # said in quota and ticket-type refusals, e.g. "ask for the Advanced plan"
    maintenance_lead_days: int = Field(default=8, ge=0)

    @property
    def priorities(self) -> tuple[str, ...]:
        return PRIORITY_SCHEMES[self.priority_scheme]

    @property
    def effective_default_priority(self) -> str:
        return self.default_priority or self.priorities[len(self.priorities) // 2]


class EngineerSettings(Section):
    """A support engineer: may work cases by replying from this address; commands are obeyed only from engineers."""

    email: str
    name: str
    team: str = "support"
    level: Literal["N1", "N2", "N3", "N4"] = "N1"  # seed 001's support levels
    language: Language | None = None

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"{value!r} is not an email address")
        return value.strip().lower()


class RoutingRule(Section):
    """New cases of these plans and/or ticket types are notified to this team (first matching rule wins)."""

    team: str
    plans: tuple[str, ...] = ()
    ticket_types: tuple[str, ...] = ()


class CaseSettings(Section):
    reopen_window_days: int = Field(default=10, ge=0)  # a customer's reply reopens a closed case within this
    waiting_reminder_business_days: int = Field(default=3, ge=1)  # reminder to a customer we wait on
    inactivity_close_business_days: int = Field(default=5, ge=1)  # then closed as inactive, after the reminder
    survey: bool = True  # closure notices carry a 1-5 survey


class EscalationPerson(Section):
    name: str
    email: str
    language: Language | None = None


class EscalationLevel(Section):
    title: str  # e.g. "Support lead" (N2 in seed 001's matrix)
    people: tuple[EscalationPerson, ...] = ()


STEP_AT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*(?:\+\s*(.+))?$")


class EscalationStep(Section):
    """'At 75% of the first-response time, warn the assigned engineer; at breach + 2h, N3.'"""

    clock: Literal["response", "resolution"]
    at: str  # "75%", "100%", "100% + 2h" (business time on the case's calendar)
    notify: str  # "assigned" (the case's engineer, else its routed engineers) or a level name such as "N2"
    plans: tuple[str, ...] = ()  # empty: every plan
    priorities: tuple[str, ...] = ()  # empty: every priority

    @field_validator("at")
    @classmethod
    def _threshold(cls, value: str) -> str:
        match = STEP_AT.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a threshold such as \"75%\" or \"100% + 2h\"")
        if match.group(2):
            parse_duration(match.group(2))
        return value

    @property
    def fraction(self) -> float:
        match = STEP_AT.match(self.at)
        assert match is not None
        return float(match.group(1)) / 100

    @property
    def extra(self) -> timedelta:
        match = STEP_AT.match(self.at)
        assert match is not None
        return parse_duration(match.group(2)) if match.group(2) else timedelta(0)


class EscalationSettings(Section):
    levels: dict[str, EscalationLevel] = Field(default_factory=dict)
    steps: tuple[EscalationStep, ...] = ()
    sweep_seconds: float = Field(default=60.0, gt=0)
    monthly_report_to: tuple[str, ...] = ()  # managers who get last month's SLA report on the 1st
