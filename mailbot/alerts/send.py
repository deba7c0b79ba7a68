"""Proactive alerts (seed 003): one templated notice to every designated contact of plans that include them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mailbot.db.engine import transaction
from mailbot.db.models import Account, AlertSend, OutboxMessage
from mailbot.outbound.compose import Envelope, as_bytes, compose, new_message_id, single_line
from mailbot.outbound.templates import RenderedMail
from mailbot.app import App


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
    report = AlertReport()
    with app.sessions() as session:
        report.recipients = alert_recipients(session, app, plans, now)
        done = set(session.scalars(select(AlertSend.recipient).where(AlertSend.alert_key == key)))
    for index, recipient in enumerate(report.recipients, start=1):
        if recipient.email in done:
            report.already_sent += 1
        elif not dry_run:
            if queue_alert(app, template, key, recipient, variables, now):
                report.queued += 1
            else:
                report.already_sent += 1  # another run got there first
        progress(index, len(report.recipients))
    return report


def default_alert_key(template: str, variables: Mapping[str, Any]) -> str:
    """The same alert (template and values) is the same key: re-running it never sends twice."""
    digest = hashlib.sha256(json.dumps(sorted(variables.items()), ensure_ascii=False).encode()).hexdigest()[:12]
    return f"{template}:{digest}"


def queue_alert(app: App, template: str, key: str, recipient: AlertRecipient, variables: Mapping[str, Any], now: datetime) -> bool:
    """Queue one alert; False when this address already has it (the unique (key, recipient) pair decides)."""
    support = app.settings.support
    context = {
        "language": recipient.language, "support_name": support.display_name, "support_address": support.address,
        "contact_name": recipient.name, "account_name": recipient.account_name, "plan_name": recipient.plan_name,
        **variables,
    }
    content = app.replies.renderer.render(f"alerts/{template}", recipient.language, context)
    return queue_once(app, key, f"alert:{key}", recipient.email, recipient.name, content, now, (("Precedence", "bulk"),))


def queue_once(app: App, key: str, kind: str, address: str, name: str, content: RenderedMail, now: datetime,
               extra_headers: tuple[tuple[str, str], ...] = ()) -> bool:
    """Queue one generated mail; False when this address already has the key (the unique (key, recipient) pair decides)."""
    support = app.settings.support
    message_id = new_message_id(support.id_domain)
    envelope = Envelope(
        from_address=support.address, from_name=support.display_name, to_address=address, to_name=name,
        reply_to=support.address, message_id=message_id, date=now, auto_submitted="auto-generated",
        loop_marker=support.address, extra_headers=extra_headers,
    )
    try:
        with transaction(app.sessions) as session:  # one row per transaction: an interrupted send resumes cleanly
            row = OutboxMessage(
                message_id=message_id, kind=kind, recipient=address,
                envelope_from=app.settings.outbox.envelope_from or support.address, subject=single_line(content.subject),
                raw=as_bytes(compose(envelope, content)), is_auto_reply=False, status="pending", attempts=0,
                next_attempt_at=now, created_at=now,
            )
            session.add(row)
            session.flush()
            session.add(AlertSend(alert_key=key, recipient=address, outbox_id=row.id, created_at=now))
    except IntegrityError:
        return False
    return True
