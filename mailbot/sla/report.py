"""Monthly SLA report: compliance, business-time medians and p90s, breaches and survey averages per plan/priority,
and the survey's average per aspect."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from mailbot.config import ALWAYS_OPEN
from mailbot.config_base import in_language
from mailbot.db.models import Account, Case, SurveyRating
from mailbot.policy.calendar import elapsed
from mailbot.policy.quota import next_month_start
from mailbot.app import App

ASPECT_COLUMNS = ("aspect", "label", "average", "answers")


@dataclass
class Bucket:
    plan: str
    priority: str
    opened: int = 0
    response_met: int = 0
    response_missed: int = 0
    resolution_met: int = 0
    resolution_missed: int = 0
    response_hours: list[float] = field(default_factory=list)
    resolution_hours: list[float] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        return {
            "plan": self.plan, "priority": self.priority, "opened": self.opened,
            "first_response_met_pct": percent(self.response_met, self.response_met + self.response_missed),
            "resolution_met_pct": percent(self.resolution_met, self.resolution_met + self.resolution_missed),
            "first_response_median_h": quantile(self.response_hours, 0.5),
            "first_response_p90_h": quantile(self.response_hours, 0.9),
            "resolution_median_h": quantile(self.resolution_hours, 0.5),
            "resolution_p90_h": quantile(self.resolution_hours, 0.9),
            "breaches": ", ".join(sorted(set(self.breaches))),
            "survey_average": round(statistics.mean(self.ratings), 2) if self.ratings else None,
            "survey_answers": len(self.ratings),
        }


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] if q != 0.5 else statistics.median(ordered), 2)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = date.fromisoformat(month + "-01")
    return (datetime.combine(first, datetime.min.time(), tzinfo=zone),
            datetime.combine(next_month_start(first), datetime.min.time(), tzinfo=zone))


def sla_report(app: App, session: Session, month: str, account_key: str | None = None) -> list[dict[str, Any]]:
    now = app.clock.now()
    start, end = month_bounds(month, ZoneInfo(app.settings.support.default_timezone))
    query = (select(Case).join(Account, Case.account_id == Account.id).where(Case.opened_at >= start, Case.opened_at < end)
             .options(selectinload(Case.account)))
    if account_key:
        query = query.where(Account.key == account_key)
    buckets: dict[tuple[str, str], Bucket] = {}
    for case in session.scalars(query):
        key = (case.account.plan_name, case.priority or "-")
        bucket = buckets.setdefault(key, Bucket(*key))
        count_case(app, bucket, case, now)
    return [bucket.as_row() for _, bucket in sorted(buckets.items())]


def survey_by_aspect(app: App, session: Session, month: str, account_key: str | None = None) -> list[dict[str, Any]]:
    """Average and number of answers per survey aspect, over the cases opened in the month (as the rows above)."""
    start, end = month_bounds(month, ZoneInfo(app.settings.support.default_timezone))
    query = (select(SurveyRating.aspect, func.avg(SurveyRating.rating), func.count(SurveyRating.id))
             .join(Case, SurveyRating.case_id == Case.id).join(Account, Case.account_id == Account.id)
             .where(Case.opened_at >= start, Case.opened_at < end).group_by(SurveyRating.aspect))
    if account_key:
        query = query.where(Account.key == account_key)
    found = {aspect: (float(average), count) for aspect, average, count in session.execute(query)}
    language = app.settings.support.default_language
    configured = {aspect.key: in_language(aspect.label, language) or aspect.key for aspect in app.settings.cases.survey_aspects}
    # Configured aspects first, in the survey's order (unanswered ones too); then any no longer configured.
    order = [*configured, *sorted(set(found) - set(configured))]
    return [{"aspect": aspect, "label": configured.get(aspect, aspect),
             "average": round(found[aspect][0], 2) if aspect in found else None,
             "answers": found[aspect][1] if aspect in found else 0} for aspect in order]


def count_case(app: App, bucket: Bucket, case: Case, now: datetime) -> None:
    bucket.opened += 1
    plan = app.catalog.plan(case.account.plan_name)
    calendar = app.catalog.calendar_for(plan, case.priority) if plan and case.priority else app.catalog.calendar(ALWAYS_OPEN)
    paused = timedelta(seconds=case.paused_seconds)
    if case.first_response_at is not None:
        bucket.response_hours.append(hours(elapsed(case.opened_at, case.first_response_at, calendar) - paused))
    if case.closed_at is not None:
        bucket.resolution_hours.append(hours(elapsed(case.opened_at, case.closed_at, calendar) - paused))
    judge(bucket, case, case.first_response_due, case.first_response_at, now, "response")
    judge(bucket, case, case.resolution_due, case.closed_at, now, "resolution")
    if case.survey_rating is not None:
        bucket.ratings.append(case.survey_rating)


def judge(bucket: Bucket, case: Case, due: datetime | None, done: datetime | None, now: datetime, clock: str) -> None:
    """Met, missed, or not yet decided (still running and not due): the last is left out of the percentage."""
    if due is None:
        return
    if done is not None and done <= due:
        setattr(bucket, f"{clock}_met", getattr(bucket, f"{clock}_met") + 1)
    elif done is not None or now > due:
        setattr(bucket, f"{clock}_missed", getattr(bucket, f"{clock}_missed") + 1)
        bucket.breaches.append(case.number)


def hours(span: timedelta) -> float:
    return max(span.total_seconds(), 0) / 3600
