"""Apply a directory file to the database: all or nothing, idempotent, the file authoritative for its accounts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.config import PlanSettings
from mailbot.db.models import Account, Case, Contact, Contract, Plan
from mailbot.directory.files import AccountRecord, DirectoryFile, DirectoryFileError
from mailbot.policy.warranty import effective_cover


@dataclass
class ImportReport:
    changes: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        order = ("accounts created", "accounts updated", "contracts created", "contracts updated", "contracts removed",
                 "contacts created", "contacts updated", "contacts removed")
        return ", ".join(f"{self.changes[name]} {name}" for name in order if self.changes[name]) or "no changes"


def sync_plans(session: Session, plan_names: Iterable[str]) -> None:
    """Plans live in the configuration; the table only anchors accounts' foreign keys."""
    known = set(session.scalars(select(Plan.name)))
    session.add_all(Plan(name=name) for name in plan_names if name not in known)
    session.flush()


def check_directory(session: Session, directory: DirectoryFile, plans: Mapping[str, PlanSettings], source: str) -> list[str]:
    return directory_problems(directory, plans, source) + _conflicts_with_database(session, directory, source)


def directory_problems(directory: DirectoryFile, plans: Mapping[str, PlanSettings], source: str) -> list[str]:
    """What is wrong with the file against the configuration's plans, without looking at the database."""
    plan_names = set(plans)
    problems: list[str] = []
    owners: dict[str, str] = {}
    keys = Counter(account.key for account in directory.accounts)
    problems += [f"{source}: account {key!r} appears {count} times" for key, count in keys.items() if count > 1]
    for account in directory.accounts:
        if account.plan not in plan_names:
            problems.append(
                f"{source}: account {account.key!r}: plan {account.plan!r} is not defined in the configuration"
                f" (known: {', '.join(sorted(plan_names)) or 'none'})"
            )
        problems += warranty_problems(account, plans.get(account.plan), source)
        limit = plans[account.plan].max_contacts if account.plan in plans else None
        if limit is not None and len(account.contacts) > limit:
            problems.append(
                f"{source}: account {account.key!r}: {len(account.contacts)} designated contacts, but plan"
                f" {account.plan!r} allows {limit}"
            )
        for contact in account.contacts:
            owner = owners.setdefault(contact.email, account.key)
            if owner != account.key:
                problems.append(
                    f"{source}: contact {contact.email} is listed for account {owner!r} and account {account.key!r};"
                    " a designated contact belongs to one account"
                )
    return problems


def warranty_problems(account: AccountRecord, plan: PlanSettings | None, source: str) -> list[str]:
    if account.warranty is None or plan is None:
        return []
    options = plan.warranty.options if plan.warranty else {}
    if account.warranty not in options:
        return [f"{source}: account {account.key!r}: warranty {account.warranty!r} is not an option of plan {account.plan!r}"
                f" (options: {', '.join(sorted(options)) or 'none'})"]
    return []


def _conflicts_with_database(session: Session, directory: DirectoryFile, source: str) -> list[str]:
    listed = {account.key for account in directory.accounts}
    emails = {contact.email: account.key for account in directory.accounts for contact in account.contacts}
    rows = session.execute(
        select(Contact.email, Account.key).join(Account, Contact.account_id == Account.id).where(Contact.email.in_(emails))
    )
    return [
        f"{source}: contact {email} already belongs to account {owner!r} (not in this file);"
        f" it cannot also be a contact of account {emails[email]!r}"
        for email, owner in rows
        if owner not in listed and owner != emails[email]
    ]


def import_directory(
    session: Session, directory: DirectoryFile, plans: Mapping[str, PlanSettings], source: str, now: datetime
) -> ImportReport:
    sync_plans(session, plans)
    problems = check_directory(session, directory, plans, source)
    if problems:
        raise DirectoryFileError(problems)
    report = ImportReport()
    # Contacts may move between accounts in one file: free every listed address first, then re-attach.
    accounts = [_upsert_account(session, record, plans[record.plan], now, report) for record in directory.accounts]
    for account, record in zip(accounts, directory.accounts):
        _sync_contracts(session, account, record, report)
    _move_contacts_to_their_new_accounts(session, accounts, directory)
    for account, record in zip(accounts, directory.accounts):
        _sync_contacts(session, account, record, report)
    return report


def _move_contacts_to_their_new_accounts(session: Session, accounts: list[Account], directory: DirectoryFile) -> None:
    """A contact changing accounts keeps its row (and its cases' links) instead of being deleted and re-created."""
    owner = {contact.email: account.id for account, record in zip(accounts, directory.accounts) for contact in record.contacts}
    for contact in session.scalars(select(Contact).where(Contact.email.in_(owner))):
        contact.account_id = owner[contact.email]
    session.flush()


def _upsert_account(session: Session, record: AccountRecord, plan: PlanSettings, now: datetime,
                    report: ImportReport) -> Account:
    account = session.scalars(select(Account).where(Account.key == record.key)).one_or_none()
    # Stored with the plan's defaults filled in, so a case carries the warranty the account had when it opened.
    cover = effective_cover(plan.warranty, record.warranty, record.warranty_starts_on, record.warranty_ends_on,
                            (contract.starts_on for contract in record.contracts))
    values = {
        "name": record.name,
        "plan_name": record.plan,
        "language": record.language,
        "timezone": record.timezone,
        "country": record.country,
        "tam_email": record.tam,
        "cam_email": record.cam,
        "warranty_option": cover.option if cover else None,
        "warranty_starts_on": cover.starts_on if cover else None,
        "warranty_ends_on": cover.ends_on if cover else None,
    }
    if account is None:
        account = Account(key=record.key, updated_at=now, **values)
        session.add(account)
        session.flush()
        report.changes["accounts created"] += 1
        return account
    if any(getattr(account, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(account, name, value)
        account.updated_at = now
        report.changes["accounts updated"] += 1
    return account


def _sync_contracts(session: Session, account: Account, record: AccountRecord, report: ImportReport) -> None:
    existing = {contract.reference: contract for contract in session.scalars(
        select(Contract).where(Contract.account_id == account.id)
    )}
    for item in record.contracts:
        contract = existing.pop(item.reference, None)
        if contract is None:
            session.add(Contract(account_id=account.id, reference=item.reference, starts_on=item.starts_on, ends_on=item.ends_on,
                                 prepaid_remote_hours=item.prepaid_remote_hours))
            report.changes["contracts created"] += 1
        elif (contract.starts_on, contract.ends_on, contract.prepaid_remote_hours) != (
                item.starts_on, item.ends_on, item.prepaid_remote_hours):
            contract.starts_on, contract.ends_on = item.starts_on, item.ends_on
            contract.prepaid_remote_hours = item.prepaid_remote_hours
            report.changes["contracts updated"] += 1
    for contract in existing.values():
        session.delete(contract)
        report.changes["contracts removed"] += 1
    session.flush()


def _sync_contacts(session: Session, account: Account, record: AccountRecord, report: ImportReport) -> None:
    wanted = {item.email: item for item in record.contacts}
    current = {contact.email: contact for contact in session.scalars(select(Contact).where(Contact.account_id == account.id))}
    for email, contact in current.items():
        if email not in wanted:
            # Cases keep their history; they just no longer point at a person who lost the role.
            session.execute(update(Case).where(Case.contact_id == contact.id).values(contact_id=None))
            session.delete(contact)
            report.changes["contacts removed"] += 1
    session.flush()
    for email, item in wanted.items():
        contact = current.get(email) or session.scalars(select(Contact).where(Contact.email == email)).one_or_none()
        values = {"account_id": account.id, "name": item.name, "language": item.language, "timezone": item.timezone,
                  "title": item.title, "phone": item.phone}
        if contact is None:
            session.add(Contact(email=email, **values))
            report.changes["contacts created"] += 1
        elif any(getattr(contact, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(contact, name, value)
            report.changes["contacts updated"] += 1
    session.flush()
