"""Apply a directory file to the database: all or nothing, idempotent, the file authoritative for its accounts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.config import PlanSettings
from mailbot.directory.snapshot import bump_directory_version
from mailbot.db.models import Account, Case, Contact, Contract, Plan
from mailbot.directory.files import AccountRecord, DirectoryFile, DirectoryFileError, read_directory_file
from mailbot.policy.warranty import effective_cover
from mailbot.wording import counted

T = TypeVar("T")
M = TypeVar("M", Account, Contact, Contract)
R = TypeVar("R", Contact, Contract)
IN_CHUNK = 500  # values per IN (...): far below SQLite's and PostgreSQL's limits on bound parameters

# The report's counters in the order the summary lists them: (counter, noun, what happened).
CHANGES = tuple((f"{noun}s {verb}", noun, verb) for noun in ("account", "contract", "contact")
                for verb in ("created", "updated", "removed"))


@dataclass
class ImportReport:
    changes: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        return ", ".join(f"{counted(self.changes[change], noun)} {verb}" for change, noun, verb in CHANGES
                         if self.changes[change]) or "no changes"


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
    for index, account in enumerate(directory.accounts):
        place = directory.place(source, index)
        if account.plan not in plan_names:
            problems.append(
                f"{place}: account {account.key!r}: plan {account.plan!r} is not defined in the configuration"
                f" (known: {', '.join(sorted(plan_names)) or 'none'})"
            )
        problems += warranty_problems(account, plans.get(account.plan), place)
        limit = plans[account.plan].max_contacts if account.plan in plans else None
        if limit is not None and len(account.contacts) > limit:
            problems.append(
                f"{place}: account {account.key!r}: {counted(len(account.contacts), 'designated contact')}, but plan"
                f" {account.plan!r} allows {limit}"
            )
        for contact in account.contacts:
            owner = owners.setdefault(contact.email, account.key)
            if owner != account.key:
                problems.append(
                    f"{place}: contact {contact.email} is listed for account {owner!r} and account {account.key!r};"
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


def checked_directory(path: Path, plans: Mapping[str, PlanSettings], session: Session | None = None) -> DirectoryFile:
    """The file's records, or a DirectoryFileError with every problem at once: the fields' mistakes, the readable
    accounts' fit with the plans and (given a session) their conflicts with the database."""
    source = str(path)
    try:
        directory, problems = read_directory_file(path), []
    except DirectoryFileError as error:
        if error.readable is None:
            raise
        directory, problems = error.readable, list(error.problems)
    problems += directory_problems(directory, plans, source)
    if session is not None:
        problems += _conflicts_with_database(session, directory, source)
    if problems:
        raise DirectoryFileError(sorted(problems, key=lambda problem: line_in(problem, source)))
    return directory


def line_in(problem: str, source: str) -> int:
    """The line a `source:LINE: ...` problem is about (0 for the file as a whole), to list problems in file order."""
    number = problem.removeprefix(source + ":").partition(":")[0]
    return int(number) if problem.startswith(source + ":") and number.isdigit() else 0


def _conflicts_with_database(session: Session, directory: DirectoryFile, source: str) -> list[str]:
    listed = {account.key for account in directory.accounts}
    emails = {contact.email: account.key for account in directory.accounts for contact in account.contacts}
    rows = [row for chunk in chunks(emails) for row in session.execute(
        select(Contact.email, Account.key).join(Account, Contact.account_id == Account.id).where(Contact.email.in_(chunk))
    )]
    return [
        f"{source}: contact {email} already belongs to account {owner!r} (not in this file);"
        f" it cannot also be a contact of account {emails[email]!r}"
        for email, owner in rows
        if owner not in listed and owner != emails[email]
    ]


def import_directory(
    session: Session, directory: DirectoryFile, plans: Mapping[str, PlanSettings], source: str, now: datetime,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Rows are read in bulk (a few queries per IN_CHUNK accounts) and written in a few flushes: one query and one
    flush per account made 5,000 accounts take over a minute."""
    sync_plans(session, plans)
    problems = check_directory(session, directory, plans, source)
    if problems:
        raise DirectoryFileError(problems)
    report = ImportReport()
    known = {account.key: account for account in _rows_where(session, Account, Account.key, [a.key for a in directory.accounts])}
    accounts = [_upsert_account(session, known.get(record.key), record, plans[record.plan], now, report)
                for record in directory.accounts]
    session.flush()  # new accounts get their ids
    ids = [account.id for account in accounts]
    contracts = _grouped_by_account(_rows_where(session, Contract, Contract.account_id, ids))
    for account, record in zip(accounts, directory.accounts):
        _sync_contracts(session, account, record, contracts.get(account.id, []), report)
    session.flush()
    # Contacts may move between accounts in one file: free every listed address first, then re-attach.
    _move_contacts_to_their_new_accounts(session, accounts, directory)
    contacts = _grouped_by_account(_rows_where(session, Contact, Contact.account_id, ids))
    for done, (account, record) in enumerate(zip(accounts, directory.accounts), 1):
        _sync_contacts(session, account, record, contacts.get(account.id, []), report)
        progress(done, len(accounts))
    session.flush()
    bump_directory_version(session)
    return report


def chunks(values: Iterable[T]) -> Iterator[list[T]]:
    """Pieces small enough for one IN (...) on every database (SQLite's limit on bound values)."""
    items = list(values)
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]


def _rows_where(session: Session, model: type[M], column: Any, values: Iterable[Any]) -> list[M]:
    return [row for chunk in chunks(values) for row in session.scalars(select(model).where(column.in_(chunk)))]


def _grouped_by_account(rows: Iterable[R]) -> dict[int, list[R]]:
    grouped: dict[int, list[R]] = {}
    for row in rows:
        grouped.setdefault(row.account_id, []).append(row)
    return grouped


def _move_contacts_to_their_new_accounts(session: Session, accounts: list[Account], directory: DirectoryFile) -> None:
    """A contact changing accounts keeps its row (and its cases' links) instead of being deleted and re-created."""
    owner = {contact.email: account.id for account, record in zip(accounts, directory.accounts) for contact in record.contacts}
    for contact in _rows_where(session, Contact, Contact.email, owner):
        if contact.account_id != owner[contact.email]:  # an unchanged row left clean costs the flush nothing
            contact.account_id = owner[contact.email]
    session.flush()


def _upsert_account(session: Session, account: Account | None, record: AccountRecord, plan: PlanSettings, now: datetime,
                    report: ImportReport) -> Account:
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
        report.changes["accounts created"] += 1
        return account
    if any(getattr(account, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(account, name, value)
        account.updated_at = now
        report.changes["accounts updated"] += 1
    return account


def _sync_contracts(session: Session, account: Account, record: AccountRecord, stored: list[Contract],
                    report: ImportReport) -> None:
    existing = {contract.reference: contract for contract in stored}
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


def _sync_contacts(session: Session, account: Account, record: AccountRecord, stored: list[Contact],
                   report: ImportReport) -> None:
    """`stored`: the account's contacts after the moves, so every listed address already there is among them."""
    wanted = {item.email: item for item in record.contacts}
    current = {contact.email: contact for contact in stored}
    for email, contact in current.items():
        if email not in wanted:
            # Cases keep their history; they just no longer point at a person who lost the role.
            session.execute(update(Case).where(Case.contact_id == contact.id).values(contact_id=None))
            session.delete(contact)
            report.changes["contacts removed"] += 1
    for email, item in wanted.items():
        contact = current.get(email)
        values = {"account_id": account.id, "name": item.name, "language": item.language, "timezone": item.timezone,
                  "title": item.title, "phone": item.phone}
        if contact is None:
            session.add(Contact(email=email, **values))
            report.changes["contacts created"] += 1
        elif any(getattr(contact, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(contact, name, value)
            report.changes["contacts updated"] += 1
