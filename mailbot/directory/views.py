"""Read-only views of the directory for the CLI: one account with its plan's roles and its TAM meetings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbot.alerts.tam_meetings import account_meeting
from mailbot.app import App
from mailbot.cases.work import managers_in_roles
from mailbot.db.models import Account


def account_detail(app: App, session: Session, key: str, now: datetime) -> dict[str, Any] | None:
    account = session.scalars(select(Account).where(Account.key == key)
                              .options(selectinload(Account.contracts), selectinload(Account.contacts))).first()
    if account is None:
        return None
    plan = app.catalog.plan(account.plan_name)
    roles = plan.account_managers if plan else ()
    meeting = account_meeting(app, session, account, now)
    return {
        "key": account.key, "name": account.name, "plan": account.plan_name, "language": account.language,
        "timezone": account.timezone, "country": account.country,
        "contracts": [{"reference": c.reference, "starts_on": c.starts_on.isoformat(),
                       "ends_on": c.ends_on.isoformat() if c.ends_on else None} for c in account.contracts],
        "contacts": [{"email": c.email, "name": c.name} for c in account.contacts],
        "tam": account.tam_email, "cam": account.cam_email,
        "copies_to_roles": list(roles),
        "copies_to": managers_in_roles(roles, {"tam": account.tam_email, "cam": account.cam_email}),
        "tam_meeting": None if meeting is None else {
            "every_months": meeting.every_months,
            "contract": meeting.dates.contract if meeting.dates else None,
            "last_due": meeting.dates.last_due.isoformat() if meeting.dates and meeting.dates.last_due else None,
            "next_due": meeting.dates.next_due.isoformat() if meeting.dates and meeting.dates.next_due else None,
            "reminders": [{"due": due, "to": to, "queued_at": at.isoformat()} for due, to, at in meeting.reminders],
        },
    }


def describe_account(detail: dict[str, Any]) -> str:
    """The text form of `accounts show`."""
    lines = [f"{detail['key']}: {detail['name']} (plan {detail['plan']})",
             f"  tam: {detail['tam'] or '-'}   cam: {detail['cam'] or '-'}",
             f"  copies of case notices to: {', '.join(detail['copies_to']) or 'nobody'}"
             f" (plan roles: {', '.join(detail['copies_to_roles']) or 'none'})"]
    lines += [f"  contract {c['reference']}: {c['starts_on']} .. {c['ends_on'] or 'open-ended'}" for c in detail["contracts"]]
    lines += [f"  contact {c['email']}" + (f" ({c['name']})" if c["name"] else "") for c in detail["contacts"]]
    meeting = detail["tam_meeting"]
    if meeting is not None:
        lines.append(f"  TAM meeting every {meeting['every_months']} months from the contract's start:"
                     f" last due {meeting['last_due'] or '-'}, next due {meeting['next_due'] or '-'}"
                     + ("" if detail["tam"] else " (no TAM in the directory: no reminder is sent)"))
        lines += [f"  reminder for {r['due']} sent to {r['to']} (queued {r['queued_at']})" for r in meeting["reminders"]]
    return "\n".join(lines)
