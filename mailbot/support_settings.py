"""How support is run, as configuration: calendars, plans, engineers and routing, case lifecycle, escalation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError, field_validator, model_validator

from mailbot.config_base import Language, LocalizedText, Section, check_timezone


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICKET_TYPES = ("problem", "question", "request", "maintenance", "rma")
PRIORITY_SCHEMES: dict[str, tuple[str, ...]] = {
    "impact": ("A1", "B2", "C3"),  # critical, moderate, minimal impact (Last Call)
    "severity": ("P1", "P2", "P3", "P4"),  # system down .. information request (Calltech, Xpears)
}
ALWAYS_OPEN = "24x7"  # a calendar every configuration has
ACCOUNT_MANAGER_ROLES = ("tam", "cam")  # Technical / Commercial Account Manager (seed 003)
AccountManagerRole = Literal["tam", "cam"]


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


def parse_account_managers(value: object) -> object:
    """`["cam"]`, `["tam", "cam"]`; the older true/false still reads: true = both roles, false = none."""
    if value is True:
        return ACCOUNT_MANAGER_ROLES
    if value is False:
        return ()
    return value


def unique_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(roles)) != len(roles):
        raise ValueError(f"a role is named twice in {list(roles)}")
    return roles


AccountManagerRoles = Annotated[tuple[AccountManagerRole, ...], BeforeValidator(parse_account_managers)]


class TargetSettings(Section):
    first_response: Duration | None = None
    resolution: Duration | None = None


class WarrantyOption(Section):
    """A hardware warranty option: a replacement unit delivered within `replacement`, counted on `calendar`."""

    display_name: LocalizedText | None = None  # e.g. "Calltech Extended Warranty"
    replacement: Duration  # from the RMA's start (the case that opens the RMA process) to the unit on site
    calendar: str = ALWAYS_OPEN  # the replacement clock's calendar (a 5x8 option counts business hours)


class WarrantySettings(Section):
    """The plan's hardware warranty: its options, the default one, its term and what it never covers."""

    options: dict[str, WarrantyOption] = Field(default_factory=dict)
    default_option: str | None = None  # for accounts whose directory entry names none
    term_months: int = Field(default=12, ge=1)  # from the warranty's start, unless the directory gives an end
    exclusions: tuple[LocalizedText, ...] = ()  # listed in every RMA acknowledgment
    delivery_area: LocalizedText | None = None  # where the replacement is delivered, e.g. "Bogotá and main cities"


class PlanSettings(Section):
    """A support plan: entitlements and service levels, all data."""

    display_name: LocalizedText | None = None
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
    account_managers: AccountManagerRoles = ()  # which of the account's managers ("tam", "cam") get copies of case notices
    tam_meeting_months: int | None = Field(default=None, ge=1)  # the TAM meets the contacts every N months (seed 003: 6)
    tam_meeting_notice_days: int = Field(default=14, ge=0)  # the TAM is reminded this many days before (and at most after)
    queue_priority: int = 0  # higher is served first
    prepaid_remote_hours: float = Field(default=0, ge=0)  # a card per contract period; a contract may set its own
    prepaid_hours_low_at: float = Field(default=0.25, gt=0, lt=1)  # statement when the balance drops below this share
    upgrade_hint: LocalizedText | None = None  # said in quota and ticket-type refusals, e.g. "ask for the Advanced plan"
    maintenance_lead_days: int = Field(default=8, ge=0)
    # Preventive maintenances included per contract year (counted from the contract's start); a further one is
    # still opened, and its acknowledgment and notice say it is beyond the allowance. None: unlimited.
    maintenances_per_year: int | None = Field(default=None, ge=0)
    # Requests that read as development, implementation, tuning, monitoring, administration or training are
    # opened but flagged "out of scope?" for the engineer, never refused.
    flag_out_of_scope: bool = False
    out_of_scope_phrases: tuple[str, ...] | None = None  # None: the built-in es/en phrases (policy/scope.py)
    warranty: WarrantySettings | None = None  # None: no hardware warranty; RMA requests are refused

    @field_validator("account_managers")
    @classmethod
    def _roles_once(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        return unique_roles(roles)

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


SURVEY_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OVERALL_ASPECT = "overall"  # what a reply with a single number rates; also Case.survey_rating


class SurveyAspect(Section):
    """One question of the closure survey: 'Response time', rated 1-5; the key is what is stored and reported."""

    key: str
    label: LocalizedText

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not SURVEY_KEY.match(value):
            raise ValueError(f"{value!r}: a survey aspect key is lower case letters, digits and _ (e.g. response_time)")
        return value


DEFAULT_SURVEY_ASPECTS = (
    SurveyAspect(key="response_time", label={"es": "Tiempo de respuesta", "en": "Response time"}),
    SurveyAspect(key="solution_quality", label={"es": "Calidad de la solución", "en": "Quality of the solution"}),
    SurveyAspect(key="communication", label={"es": "Comunicación del ingeniero", "en": "The engineer's communication"}),
    SurveyAspect(key=OVERALL_ASPECT, label={"es": "Valoración general", "en": "Overall"}),
)


class CaseSettings(Section):
    reopen_window_days: int = Field(default=10, ge=0)  # a customer's reply reopens a closed case within this
    waiting_reminder_business_days: int = Field(default=3, ge=1)  # reminder to a customer we wait on
    inactivity_close_business_days: int = Field(default=5, ge=1)  # then closed as inactive, after the reminder
    survey: bool = True  # closure notices carry a 1-5 survey
    # Seed 001: the survey rates "different aspects" of the service, one number each, in this order.
    survey_aspects: tuple[SurveyAspect, ...] = DEFAULT_SURVEY_ASPECTS

    @field_validator("survey_aspects")
    @classmethod
    def _aspects(cls, value: tuple[SurveyAspect, ...]) -> tuple[SurveyAspect, ...]:
        keys = [aspect.key for aspect in value]
        if len(set(keys)) != len(keys):
            raise ValueError(f"survey aspect keys repeat: {', '.join(keys)}")
        if OVERALL_ASPECT not in keys:
            raise ValueError(f"survey aspects must include {OVERALL_ASPECT!r} (what a reply with one number rates)")
        return value


class EscalationPerson(Section):
    name: str
    email: str
    language: Language | None = None


class EscalationLevel(Section):
    title: LocalizedText  # e.g. "Support lead" (N2 in seed 001's matrix)
    people: tuple[EscalationPerson, ...] = ()


STEP_AT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*(?:\+\s*(.+))?$")


class EscalationStep(Section):
    """'At 75% of the first-response time, warn the assigned engineer; at breach + 2h, N3.'"""

    clock: Literal["response", "resolution", "replacement"]  # replacement: an RMA's hardware-replacement target
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
    levels: dict[str, EscalationLevel] = Field(default_factory=dict)  # a preset's levels, with the file's replacing by name
    steps: tuple[EscalationStep, ...] = ()  # the presets' steps, unless the file has its own (see own_steps)
    own_steps: Literal["replace", "extend"] = "replace"  # the file's steps replace the presets', or follow them
    sweep_seconds: float = Field(default=60.0, gt=0)
    monthly_report_to: tuple[str, ...] = ()  # managers who get last month's SLA report on the 1st


@dataclass(frozen=True)
class SupportSections:
    """What the cross-checks look at: names as written in the file, and the items that are valid on their own.

    Names come from the raw file so that a plan or calendar with a mistake of its own is still known by name
    (no second, misleading "unknown calendar" about it); objects are only those that validated, so the
    checks run even while other parts of the file are wrong.
    """

    support_address: str | None
    plans: Mapping[str, PlanSettings]
    plan_names: frozenset[str]
    calendar_names: frozenset[str]
    engineers: tuple[EngineerSettings, ...]
    team_names: frozenset[str]
    routing: tuple[RoutingRule, ...]
    level_names: frozenset[str]
    steps: tuple[EscalationStep, ...]

    @classmethod
    def from_raw(cls, data: Mapping[str, Any]) -> "SupportSections":
        """From an unvalidated file: each plan, engineer, rule and step validated on its own."""
        plans = _table(data, "plans")
        engineers = _valid_items(EngineerSettings, _array(data, "engineers"))
        escalation = data.get("escalation") if isinstance(data.get("escalation"), dict) else {}
        support = data.get("support") if isinstance(data.get("support"), dict) else {}
        address = support.get("address")
        return cls(
            support_address=address.strip().lower() if isinstance(address, str) else None,
            plans={name: plan for name, raw in plans.items() if (plan := _valid(PlanSettings, raw)) is not None},
            plan_names=frozenset(plans),
            calendar_names=frozenset(_table(data, "calendars")),
            engineers=engineers,
            team_names=frozenset(str(raw.get("team", "support")) for raw in _array(data, "engineers") if isinstance(raw, dict)),
            routing=_valid_items(RoutingRule, _array(data, "routing")),
            level_names=frozenset(_table(escalation, "levels")),
            steps=_valid_items(EscalationStep, _array(escalation, "steps")),
        )


Model = TypeVar("Model", bound=BaseModel)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _array(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _valid(model: type[Model], raw: object) -> Model | None:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None  # its own errors are reported by the whole file's validation


def _valid_items(model: type[Model], raws: list[Any]) -> tuple[Model, ...]:
    return tuple(item for raw in raws if (item := _valid(model, raw)) is not None)


def consistency_problems(sections: SupportSections) -> list[str]:
    """Consistency between plans, their priority scheme, the calendars, engineers, routing and escalation."""
    return (
        _engineer_problems(sections)
        + _escalation_problems(sections)
        + _routing_problems(sections)
        + [problem for name, plan in sections.plans.items() for problem in _plan_problems(name, plan, sections.calendar_names)]
    )


def _engineer_problems(sections: SupportSections) -> list[str]:
    emails = [engineer.email for engineer in sections.engineers]
    problems = [f"engineers: {email} is listed twice" for email in sorted(set(emails)) if emails.count(email) > 1]
    if sections.support_address in emails:
        problems.append(f"engineers: {sections.support_address} is the support address itself")
    return problems


def _escalation_problems(sections: SupportSections) -> list[str]:
    problems: list[str] = []
    for index, step in enumerate(sections.steps):
        if step.notify != "assigned" and step.notify not in sections.level_names:
            problems.append(f"escalation.steps[{index}].notify: unknown level {step.notify!r}"
                            f" (levels: {', '.join(sorted(sections.level_names)) or 'none'}; or \"assigned\")")
        problems += [f"escalation.steps[{index}].plans: unknown plan {plan!r}" for plan in step.plans if plan not in sections.plan_names]
    return problems


def _routing_problems(sections: SupportSections) -> list[str]:
    problems: list[str] = []
    teams = sections.team_names
    for index, rule in enumerate(sections.routing):
        if rule.team not in teams:
            problems.append(f"routing[{index}].team: no engineer is in team {rule.team!r} (teams: {', '.join(sorted(teams)) or 'none'})")
        problems += [f"routing[{index}].plans: unknown plan {plan!r}" for plan in rule.plans if plan not in sections.plan_names]
    return problems


def _plan_problems(name: str, plan: PlanSettings, calendar_names: frozenset[str]) -> list[str]:
    known_calendars = {ALWAYS_OPEN, *calendar_names}
    where, scheme = f"plans.{name}", plan.priorities
    problems = [
        f"{where}.targets.{priority}: priority {priority} is not in the {plan.priority_scheme} scheme ({', '.join(scheme)})"
        for priority in plan.targets if priority not in scheme
    ]
    if plan.default_priority is not None and plan.default_priority not in scheme:
        problems.append(f"{where}.default_priority: {plan.default_priority} is not in the {plan.priority_scheme} scheme ({', '.join(scheme)})")
    if plan.default_ticket_type not in plan.ticket_types:
        problems.append(f"{where}.default_ticket_type: {plan.default_ticket_type!r} is not one of the plan's ticket_types")
    if plan.calendar not in known_calendars:
        problems.append(f"{where}.calendar: unknown calendar {plan.calendar!r} (known: {', '.join(sorted(known_calendars))})")
    for priority, calendar in plan.calendar_by_priority.items():
        if priority not in scheme:
            problems.append(f"{where}.calendar_by_priority.{priority}: priority {priority} is not in the {plan.priority_scheme} scheme")
        if calendar not in known_calendars:
            problems.append(f"{where}.calendar_by_priority.{priority}: unknown calendar {calendar!r}")
    return problems + _warranty_problems(where, plan.warranty, known_calendars)


def _warranty_problems(where: str, warranty: WarrantySettings | None, known_calendars: set[str]) -> list[str]:
    if warranty is None:
        return []
    problems = [
        f"{where}.warranty.options.{name}.calendar: unknown calendar {option.calendar!r}"
        for name, option in warranty.options.items() if option.calendar not in known_calendars
    ]
    if warranty.default_option is not None and warranty.default_option not in warranty.options:
        problems.append(f"{where}.warranty.default_option: {warranty.default_option!r} is not one of the options"
                        f" ({', '.join(sorted(warranty.options)) or 'none'})")
    return problems

