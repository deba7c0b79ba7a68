"""When a case's SLA thresholds fall due, and which escalation notice is owed now (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.config import EscalationStep
from mailbot.policy.calendar import BusinessCalendar, deadline


CLOCKS = ("response", "resolution", "replacement")


@dataclass(frozen=True, slots=True)
class ClockState:
    """What the thresholds depend on."""

    plan_name: str
    priority: str | None
    started_at: datetime
    responded: bool  # the first-response clock has stopped
    closed: bool  # the resolution clock has stopped
    response_target: timedelta | None
    resolution_target: timedelta | None
    paused: timedelta = timedelta(0)  # business time spent waiting on the customer: the clocks stood still
    waiting: bool = False  # waiting on the customer now: no threshold falls due
    replacement: ReplacementClock | None = None  # an RMA case: the hardware-replacement clock


@dataclass(frozen=True, slots=True)
class ReplacementClock:
    """The third clock: from the RMA's start to the replacement unit on site, on the warranty option's calendar.

    It neither pauses nor waits on the customer: seed 001 counts the delivery time from the RMA's start, and the
    unit's shipment does not depend on the customer's answers.
    """

    started_at: datetime
    target: timedelta
    calendar: BusinessCalendar


@dataclass(frozen=True, slots=True)
class Threshold:
    clock: str  # "response" | "resolution"
    step: int  # index in the configured steps: identifies the notice for exactly-once
    due: datetime
    notify: str
    at: str
    breach: datetime  # when the clock's target itself is missed (100%)


def thresholds(state: ClockState, steps: Iterable[EscalationStep], calendar: BusinessCalendar) -> list[Threshold]:
    found: list[Threshold] = []
    after: dict[timedelta, datetime] = {}  # working time -> its deadline: steps of a clock share their breach

    def deadline_after(duration: timedelta) -> datetime:
        if duration not in after:
            after[duration] = deadline(state.started_at, duration, calendar)
        return after[duration]

    for index, step in enumerate(steps):
        if step.plans and state.plan_name not in step.plans:
            continue
        if step.priorities and state.priority not in step.priorities:
            continue
        if step.clock == "replacement":
            if state.replacement is not None and not state.closed:
                found.append(replacement_threshold(state.replacement, step, index))
            continue
        running, target = clock_of(state, step.clock)
        if not running or target is None or state.waiting:
            continue
        due = deadline_after(target * step.fraction + step.extra + state.paused)
        breach = deadline_after(target + state.paused)
        found.append(Threshold(step.clock, index, due, step.notify, step.at, breach))
    return sorted(found, key=lambda item: (item.due, item.step))


def replacement_threshold(clock: ReplacementClock, step: EscalationStep, index: int) -> Threshold:
    due = deadline(clock.started_at, clock.target * step.fraction + step.extra, clock.calendar)
    breach = deadline(clock.started_at, clock.target, clock.calendar)
    return Threshold(step.clock, index, due, step.notify, step.at, breach)


def clock_of(state: ClockState, clock: str) -> tuple[bool, timedelta | None]:
    if clock == "response":
        return (not state.responded and not state.closed), state.response_target
    return (not state.closed), state.resolution_target


@dataclass(frozen=True, slots=True)
class Plan:
    send: tuple[Threshold, ...]  # at most one per clock: the highest step due
    settle: tuple[Threshold, ...]  # every due step, sent or superseded: never owed again
    next_due: datetime | None


def what_is_owed(all_thresholds: list[Threshold], done: set[tuple[str, int]], now: datetime) -> Plan:
    """After downtime several steps may be due at once: send only the highest of each clock, settle the rest."""
    pending = [item for item in all_thresholds if (item.clock, item.step) not in done]
    due = [item for item in pending if item.due <= now]
    send: list[Threshold] = []
    for clock in CLOCKS:
        of_clock = [item for item in due if item.clock == clock]
        if of_clock:
            send.append(max(of_clock, key=lambda item: (item.due, item.step)))
    later = [item.due for item in pending if item.due > now]
    return Plan(tuple(send), tuple(due), min(later) if later else None)
