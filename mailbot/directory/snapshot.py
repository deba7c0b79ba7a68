"""The customer directory held in memory: who may write and for which account, without a query per message.

The directory changes only through `directory import` (and the erasure of a contact), which bump the version row;
the ingest reads that one number per round and the whole directory again only when it changed. A message handled
with a directory that changed meanwhile is at most one round stale; a contact removed meanwhile makes its case
insert fail on the foreign key, and the message is retried with the directory read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from mailbot.db.models import Account, Contact, DirectoryVersion
from mailbot.db.queries import account_terms, standing_of
from mailbot.domain.directory import ContractTerm, SenderStanding

VERSION_ROW = 1
ATTACHED = "mailbot_attached_accounts"  # session.info key


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the ingest needs of an account beyond a sender's standing: its contacts, plan, calendar and contracts."""

    account_id: int
    plan_name: str
    timezone: str | None
    contact_emails: frozenset[str]
    contracts: tuple[ContractTerm, ...]


@dataclass(frozen=True)
class DirectorySnapshot:
    version: int
    standings: Mapping[str, SenderStanding] = field(default_factory=dict)  # by the contact's address, as stored
    accounts: Mapping[int, AccountFacts] = field(default_factory=dict)
    rows: Mapping[int, Account] = field(default_factory=dict)  # detached, with their contracts and contacts loaded

    def standing(self, email: str) -> SenderStanding | None:
        return self.standings.get(email)

    def account(self, account_id: int) -> AccountFacts | None:
        return self.accounts.get(account_id)

    def attach(self, session: Session, account_id: int) -> None:
        """Put the account (with its contacts and contracts) in the session's identity map without a query, so
        `case.account` and `case.contact` of its cases need no SELECT; a row the session holds already stays."""
        row = self.rows.get(account_id)
        if row is not None and session.identity_map.get(identity_key(Account, account_id)) is None:
            # The identity map holds clean objects weakly: the session's info keeps the copy alive as long as it.
            session.info.setdefault(ATTACHED, []).append(session.merge(row, load=False))


def directory_version(session: Session) -> int:
    return int(session.scalar(select(DirectoryVersion.version).where(DirectoryVersion.id == VERSION_ROW)) or 0)


def bump_directory_version(session: Session) -> None:
    """Called in the transaction that changes accounts, contracts or contacts: running bots read them again."""
    session.execute(update(DirectoryVersion).where(DirectoryVersion.id == VERSION_ROW)
                    .values(version=DirectoryVersion.version + 1))


def load_snapshot(session: Session, version: int) -> DirectorySnapshot:
    accounts = session.scalars(select(Account).options(selectinload(Account.contracts), selectinload(Account.contacts))).all()
    standings: dict[str, SenderStanding] = {}
    facts: dict[int, AccountFacts] = {}
    for account in accounts:
        terms = account_terms(account)
        contacts = frozenset(contact.email for contact in account.contacts)
        for contact in account.contacts:
            standings[contact.email] = standing_of(contact, account, terms, contacts)
        facts[account.id] = AccountFacts(account.id, account.plan_name, account.timezone, contacts, terms)
    return DirectorySnapshot(version, standings, facts, {account.id: account for account in accounts})


class DirectoryCache:
    """The snapshot one ingestor works with; read again when the version changed or after `forget`."""

    def __init__(self) -> None:
        self._snapshot: DirectorySnapshot | None = None

    def current(self, session: Session) -> DirectorySnapshot:
        version = directory_version(session)
        if self._snapshot is None or self._snapshot.version != version:
            # Read in the caller's transaction (on SQLite a second one would wait behind its write lock), but
            # through a session of its own: its rows come fresh from the database, never from the caller's
            # identity map, and stay detached, never changed or expired by the caller's work.
            with Session(bind=session.connection(), expire_on_commit=False) as reader:
                self._snapshot = load_snapshot(reader, version)
        return self._snapshot

    @property
    def snapshot(self) -> DirectorySnapshot | None:
        return self._snapshot

    def forget(self) -> None:
        self._snapshot = None
