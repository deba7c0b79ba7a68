"""Proactive alerts (seed 003): one templated notice to every designated contact of plans that include them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbot.db.engine import transaction
from mailbot.db.models import Account, Contact, OutboxMessage
from mailbot.outbound.compose import Envelope, as_bytes, compose, new_message_id, single_line
from mailbot.service.app import App


@dataclass(frozen=True, slots=True)
class AlertRecipient:
    email: str
    name: str
    account_name: str
    plan_name: str
    language: str


@dataclass
class AlertReport:
    queued: int = 0
    already_sent: int = 0
    recipients: list[AlertRecipient] = field(default_factory=list)


def alert_plans(app: App, only: Iterable[str] = ()) -> set[str]:
    wanted = set(only)
    return {name for name, plan in app.settings.plans.items() if plan.proactive_alerts and (not wanted or name in wanted)}


def alert_recipients(session: Session, app: App, plans: set[str], now: datetime) -> list[AlertRecipient]:
    """Designated contacts of accounts on those plans with a contract valid today; each address once."""
    accounts = session.scalars(
        select(Account).where(Account.plan_name.in_(plans)).options(selectinload(Account.contacts), selectinload(Account.contracts))
        .order_by(Account.key)
    )
    seen: dict[str, AlertRecipient] = {}
    for account in accounts:
        today = now.astimezone(ZoneInfo(account.timezone or app.settings.support.default_timezone)).date()
        if not any(c.starts_on <= today and (c.ends_on is None or today <= c.ends_on) for c in account.contracts):
            continue
        for contact in account.contacts:
            seen.setdefault(contact.email, AlertRecipient(
                contact.email, contact.name, account.name, account.plan_name,
                contact.language or account.language or app.settings.support.default_language,
            ))
    return list(seen.values())


def send_alert(
    app: App, template: str, key: str, variables: Mapping[str, Any], plans: set[str], *, dry_run: bool,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> AlertReport:
    now = app.clock.now()
    kind = f"alert:{key}"
    report = AlertReport()
    with app.sessions() as session:
        report.recipients = alert_recipients(session, app, plans, now)
        done = set(session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.kind == kind)))
    for index, recipient in enumerate(report.recipients, start=1):
        if recipient.email in done:
            report.already_sent += 1
        elif not dry_run:
            queue_alert(app, template, kind, recipient, variables, now)
            report.queued += 1
        progress(index, len(report.recipients))
    return report


def queue_alert(app: App, template: str, kind: str, recipient: AlertRecipient, variables: Mapping[str, Any], now: datetime) -> None:
    support = app.settings.support
    context = {
        "language": recipient.language, "support_name": support.display_name, "support_address": support.address,
        "contact_name": recipient.name, "account_name": recipient.account_name, "plan_name": recipient.plan_name,
        **variables,
    }
    content = app.replies.renderer.render(f"alerts/{template}", recipient.language, context)
    message_id = new_message_id(support.id_domain)
    envelope = Envelope(
        from_address=support.address, from_name=support.display_name, to_address=recipient.email, to_name=recipient.name,
        reply_to=support.address, message_id=message_id, date=now, auto_submitted="auto-generated",
        loop_marker=support.address, extra_headers=(("Precedence", "bulk"),),
    )
    with transaction(app.sessions) as session:  # one row per transaction: an interrupted send resumes cleanly
        session.add(OutboxMessage(
            message_id=message_id, kind=kind, recipient=recipient.email,
            envelope_from=app.settings.outbox.envelope_from or support.address, subject=single_line(content.subject),
            raw=as_bytes(compose(envelope, content)), is_auto_reply=False, status="pending", attempts=0,
            next_attempt_at=now, created_at=now,
        ))

