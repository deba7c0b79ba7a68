"""SLA escalation: keep each case's next threshold up to date, and send the notices that fall due, once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.config import ALWAYS_OPEN, PlanSettings
from mailbot.config_base import in_language
from mailbot.db.engine import after_commit, transaction
from mailbot.db.models import Case, CaseEscalation, CaseEvent, CaseMessage
from mailbot.logs import fields
from mailbot.outbound.labels import label, long_local_time
from mailbot.outbound.notices import Addressee
from mailbot.policy.calendar import BusinessCalendar, elapsed
from mailbot.policy.escalation import ClockState, ReplacementClock, Threshold, thresholds, what_is_owed
from mailbot.app import App
from mailbot.cases.work import CLOSED, WAITING, CaseWork

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
BOT_PROSE_EVENTS = ("clock_paused", "clock_resumed", "reminder")  # details written in English by the bot itself
DETAIL_VALUES = {"closed": "close_reasons", "escalated": "clocks"}  # kinds whose detail starts with a stored value


def clock_state(app: App, case: Case) -> tuple[ClockState, BusinessCalendar]:
    plan = app.catalog.plan(case.account.plan_name)
    target = plan.targets.get(case.priority or "") if plan else None
    calendar = app.catalog.calendar_for(plan, case.priority) if plan and case.priority else app.catalog.calendar(ALWAYS_OPEN)
    return ClockState(
        plan_name=case.account.plan_name, priority=case.priority, started_at=case.opened_at,
        responded=case.first_response_at is not None, closed=case.status == CLOSED,
        response_target=target.first_response if target else None,
        resolution_target=target.resolution if target else None,
        paused=timedelta(seconds=case.paused_seconds), waiting=case.status == WAITING,
        replacement=replacement_clock(app, case, plan),
    ), calendar


def replacement_clock(app: App, case: Case, plan: PlanSettings | None) -> ReplacementClock | None:
    option = app.catalog.warranty_option(plan, case.warranty_option)
    calendar = app.catalog.replacement_calendar(plan, case.warranty_option)
    # A case retyped away from "rma" (an RMA called off) keeps its dates as history but no longer escalates.
    if case.rma_started_at is None or case.ticket_type != "rma" or option is None or calendar is None:
        return None
    return ReplacementClock(case.rma_started_at, option.replacement, calendar)


_SETTLED = select(CaseEscalation.clock, CaseEscalation.step).where(CaseEscalation.case_id == bindparam("case"))


def settled(session: Session, case_id: int) -> set[tuple[str, int]]:
    rows = session.execute(_SETTLED, {"case": case_id})
    return {(clock, step) for clock, step in rows}


def reschedule(app: App, session: Session, case: Case, now: datetime, *, opened_now: bool = False) -> None:
    """Recompute the case's next threshold (after opening, a priority change, a first response, closing).

    `opened_now`: the case was opened in this transaction, so no step of it can have been settled yet.
    """
    state, calendar = clock_state(app, case)
    done = set() if opened_now else settled(session, case.id)
    owed = what_is_owed(thresholds(state, app.settings.escalation.steps, calendar), done, now)
    case.next_escalation_at = min([item.due for item in owed.send + owed.settle] + ([owed.next_due] if owed.next_due else []),
                                  default=None)


def escalation_sweep(app: App) -> Counter[str]:
    """Cases whose next threshold has passed; the index on next_escalation_at keeps this flat as cases pile up."""
    now = app.clock.now()
    with app.sessions() as session:
        due = list(session.scalars(
            select(Case.id).where(Case.next_escalation_at <= now).order_by(Case.next_escalation_at).limit(SWEEP_BATCH)
        ))
    done: Counter[str] = Counter()
    for case_id in due:
        done.update(escalate_case(app, case_id, now))
    return done


def escalate_case(app: App, case_id: int, now: datetime, *, customer_request: bool = False) -> Counter[str]:
    sent: Counter[str] = Counter()
    with transaction(app.sessions) as session:
        case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
        if case is None:
            return sent
        sent.update(escalate_locked(app, session, case, now, customer_request=customer_request))
    return sent


def escalate_locked(app: App, session: Session, case: Case, now: datetime, *, customer_request: bool = False) -> Counter[str]:
    state, calendar = clock_state(app, case)
    steps = thresholds(state, app.settings.escalation.steps, calendar)
    done = settled(session, case.id)
    owed = what_is_owed(steps, done, now)
    send, settle = list(owed.send), list(owed.settle)
    if customer_request and not send:
        # The customer asks now: the next step up is owed at once, whatever its time.
        pending = [item for item in steps if (item.clock, item.step) not in done]
        if pending:
            send, settle = [pending[0]], [pending[0]]
    sent: Counter[str] = Counter()
    for item in settle:
        session.add(CaseEscalation(case_id=case.id, clock=item.clock, step=item.step, level=item.notify,
                                   sent=item in send, at=now))
    work = CaseWork(app, session, case, now)
    for item in send:
        counted_on = state.replacement.calendar if item.clock == "replacement" and state.replacement else calendar
        notify(app, session, work, case, item, counted_on, now, customer_request)
        work.event("mailbot", "escalated", f"{item.clock} {item.at} -> {item.notify}")
        sent[f"{item.clock}:{item.notify}"] += 1
        count_when_committed(app, session, item, now)
        log.info("escalation sent", extra=fields(case=case.number, clock=item.clock, at=item.at, level=item.notify))
    session.flush()
    reschedule(app, session, case, now)
    return sent


def managers_told(app: App, session: Session, case: Case, now: datetime, language: str) -> dict[str, Any]:
    """The levels above the engineers that the escalation carried out at `now` reached, by title, for the customer's answer.

    Empty when no such level is configured for the case (or its people list is empty): the answer then says
    only what is true, that the request was recorded and passed to the support team.
    """
    sent_levels = session.scalars(select(CaseEscalation.level).where(
        CaseEscalation.case_id == case.id, CaseEscalation.sent.is_(True), CaseEscalation.at == now))
    levels = app.settings.escalation.levels
    titles = [in_language(levels[name].title, language) for name in dict.fromkeys(sent_levels)
              if name in levels and levels[name].people]
    return {"managers_told": titles}


def count_when_committed(app: App, session: Session, item: Threshold, now: datetime) -> None:
    """A warning comes before the clock's target, a breach at or after it (as the notice itself says)."""
    breached = now >= item.breach
    after_commit(session, lambda: app.metrics.escalation_sent(item.clock, breached))


def recipients(app: App, work: CaseWork, level: str) -> list[tuple[str, str, str | None]]:
    if level == "assigned":
        return [(engineer.email, engineer.name, engineer.language) for engineer in work.engineers_to_notify()]
    people = app.settings.escalation.levels[level].people
    return [(person.email, person.name, person.language) for person in people]


def notify(app: App, session: Session, work: CaseWork, case: Case, item: Threshold, calendar: BusinessCalendar,
           now: datetime, customer_request: bool) -> None:
    first = session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id, CaseMessage.author == "customer")
                            .order_by(CaseMessage.id).limit(1)).first()
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    late = elapsed(item.breach, now, calendar)
    level = app.settings.escalation.levels.get(item.notify)
    for address, name, language in recipients(app, work, item.notify):
        language = language or app.settings.support.default_language
        context = {
            **work.case_context(language), "clock": item.clock, "clock_label": label(language, "clocks", item.clock),
            "threshold": item.at, "level": item.notify,
            "level_title": in_language(level.title, language) if level else "", "breached": now >= item.breach,
            "breach_at": long_local_time(item.breach, calendar.zone, language),
            "late_by": format_business_time(late), "customer_request": customer_request,
            "customer_text": first.body_text if first else "", "history": history_lines(events, language),
        }
        mail = work._notices.build("escalation_notice", language, context, Addressee(address, name), now,  # noqa: SLF001
                                   case_number=case.number)
        work.send(mail, internal=True)


def history_lines(events: list[CaseEvent], language: str) -> list[str]:
    """What was done, one line per event, with the catalogue's words for the kinds of event the bot records.

    The bot's own details for these kinds are English prose (stored as written), so the label alone stands for them;
    commands (#priority P1) and people's details are shown as recorded.
    """
    return [f"{event.at:%Y-%m-%d %H:%M} {event.actor}: {event_text(event, language)}".rstrip() for event in events]


def event_text(event: CaseEvent, language: str) -> str:
    what = label(language, "events", event.kind)
    if event.kind in BOT_PROSE_EVENTS or not event.detail:
        return what
    first, _, rest = event.detail.partition(" ")
    group = DETAIL_VALUES.get(event.kind)
    if group is not None:  # "closed solved", "escalated response 100% -> N2": the first word is a stored value
        first = label(language, group, first)
    return " ".join(filter(None, (what, first, rest)))


def format_business_time(span) -> str:  # type: ignore[no-untyped-def]
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
