"""The database schema as SQLAlchemy 2 typed models (Alembic migrations in db/migrations mirror it)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back aware datetimes (SQLite keeps no zone, PostgreSQL does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; the clock must be time-zone aware")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Plan(Base):
    """A plan's name; its entitlements live in the configuration file."""

    __tablename__ = "plans"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # the operator's stable identifier
    name: Mapped[str] = mapped_column(String(256))
    plan_name: Mapped[str] = mapped_column(ForeignKey("plans.name"))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    tam_email: Mapped[str | None] = mapped_column(String(320))  # Technical Account Manager, kept informed
    cam_email: Mapped[str | None] = mapped_column(String(320))  # Commercial Account Manager, kept informed
    remote_hours_used: Mapped[float] = mapped_column(Float, default=0.0)  # against the plan's prepaid hours
    warranty_option: Mapped[str | None] = mapped_column(String(32))  # the plan's warranty option; None: no warranty
    warranty_starts_on: Mapped[date | None] = mapped_column(Date)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)  # last covered day
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    contracts: Mapped[list[Contract]] = relationship(back_populates="account", order_by="Contract.starts_on")
    contacts: Mapped[list[Contact]] = relationship(back_populates="account", order_by="Contact.email")


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("account_id", "reference"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(128))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # None: open-ended (e.g. free while products are held)
    prepaid_remote_hours: Mapped[float | None] = mapped_column(Float)  # None: the plan's prepaid hours
    account: Mapped[Account] = relationship(back_populates="contracts")


class Contact(Base):
    """A designated contact: the only people who may open cases for an account."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised, lower case
    name: Mapped[str] = mapped_column(String(256), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(256))  # job title ("cargo"), for engineers
    phone: Mapped[str | None] = mapped_column(String(64))  # with extension, as the directory file wrote it
    account: Mapped[Account] = relationship(back_populates="contacts")


class CaseNumberCounter(Base):
    """Last sequence number handed out per scope (prefix + year); its row lock orders concurrent openers."""

    __tablename__ = "case_number_counters"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_account_opened", "account_id", "opened_at"),)  # monthly quota counts
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), index=True)
    ticket_type: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_due: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None: the plan sets no target
    resolution_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # first engineer reply to the customer
    assigned_to: Mapped[str | None] = mapped_column(String(320))  # an engineer's address
    waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime)  # waiting on the customer since
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # inactivity reminder sent
    close_reason: Mapped[str | None] = mapped_column(String(32))
    related_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # the closed case this follows up
    escalation_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    remote_hours: Mapped[float] = mapped_column(Float, default=0.0)
    survey_rating: Mapped[int | None] = mapped_column(Integer)
    survey_comment: Mapped[str | None] = mapped_column(Text)
    survey_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # answered (survey_rating is the overall, if given)
    survey_corrected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # asked once to fix an incomplete answer
    # The next SLA threshold; indexed so the escalation sweep never reads closed or quiet cases.
    next_escalation_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # business time spent waiting on the customer
    # An RMA case: the warranty it was opened under, and the replacement clock (the third SLA clock).
    warranty_option: Mapped[str | None] = mapped_column(String(32))
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    rma_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the RMA's start: the replacement counts from it
    replacement_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    raw_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # retention: raw mail and file contents dropped
    account: Mapped[Account] = relationship()
    contact: Mapped[Contact | None] = relationship(foreign_keys=[contact_id])
    messages: Mapped[list[CaseMessage]] = relationship(back_populates="case", order_by="CaseMessage.id")
    survey_ratings: Mapped[list[SurveyRating]] = relationship(order_by="SurveyRating.id", cascade="all, delete-orphan")


class SurveyRating(Base):
    """One aspect of a closure survey answer (response time, solution quality...), 1-5; keys come from the config."""

    __tablename__ = "survey_ratings"
    __table_args__ = (UniqueConstraint("case_id", "aspect"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    aspect: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)


class PrepaidHoursCard(Base):
    """An account's prepaid remote-support hours for one contract period (seed 003's "tarjeta prepaga").

    The unique row makes one card per period; its statement columns make each statement go out once.
    """

    __tablename__ = "prepaid_hours_cards"
    __table_args__ = (UniqueConstraint("account_id", "contract_reference", "starts_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contract_reference: Mapped[str] = mapped_column(String(128))
    starts_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)  # the last day its hours may be used
    granted: Mapped[float] = mapped_column(Float)
    low_statement_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # "below the threshold" statement queued
    exhausted_statement_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # "run out" statement queued
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    entries: Mapped[list[PrepaidHoursEntry]] = relationship(back_populates="card", order_by="PrepaidHoursEntry.id")


class PrepaidHoursEntry(Base):
    """One line of a card's ledger: its grant, or hours an engineer logged on a case (#time)."""

    __tablename__ = "prepaid_hours_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("prepaid_hours_cards.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "grant" | "debit"
    hours: Mapped[float] = mapped_column(Float)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    engineer: Mapped[str | None] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UtcDateTime)  # a debit: when the engineer wrote it
    overdraft: Mapped[bool] = mapped_column(Boolean, default=False)  # logged past the balance with "overdraft"
    card: Mapped[PrepaidHoursCard] = relationship(back_populates="entries")


class CaseMessage(Base):
    """One message of a case's thread, inbound or outbound; Message-IDs make threading work."""

    __tablename__ = "case_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out"
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    author: Mapped[str] = mapped_column(String(16), default="customer")  # customer | engineer | bot
    internal: Mapped[bool] = mapped_column(Boolean, default=False)  # seen by engineers only, never by the customer
    case: Mapped[Case] = relationship(back_populates="messages")
    attachments: Mapped[list[StoredAttachment]] = relationship(back_populates="message")
    # Set instead of outbox_id when both rows are new: one flush inserts them, the outbox row first.
    outbox: Mapped[OutboxMessage | None] = relationship(foreign_keys=[outbox_id])


class CaseEscalation(Base):
    """An SLA step settled for a case (sent, or superseded by a higher one): the unique row makes it once only."""

    __tablename__ = "case_escalations"
    __table_args__ = (UniqueConstraint("case_id", "clock", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(32))
    sent: Mapped[bool] = mapped_column(Boolean)  # False: superseded by a higher step due at the same time
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseEvent(Base):
    """What happened to a case and who did it: commands, status changes, clock pauses, ratings."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class StoredAttachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_message_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: over the storage limit, or purged
    content_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # dropped by retention or erasure
    message: Mapped[CaseMessage] = relationship(back_populates="attachments")


class InboundRecord(Base):
    """Every message the bot has seen, with its outcome: the idempotency key and the operator's audit log."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_source_ref", "source", "source_ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(998), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    content_digest: Mapped[str | None] = mapped_column(String(64))  # InboundMessage.content_digest; None before 0009
    source: Mapped[str] = mapped_column(String(512))
    source_ref: Mapped[str] = mapped_column(String(255))  # IMAP "uidvalidity:uid" or Maildir key
    sender: Mapped[str] = mapped_column(String(320), default="", index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    rule: Mapped[str] = mapped_column(String(64))  # which policy rule decided
    reason: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)


class OutboxMessage(Base):
    """A rendered message waiting for, or done with, delivery."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_auto_reply_rate", "recipient", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    kind: Mapped[str] = mapped_column(String(160))  # a reply template's name, or "alert:<key>"
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    is_auto_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # the plan's queue priority: higher goes out first
    status: Mapped[str] = mapped_column(String(16))  # pending | sending (leased) | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# The claim's own order (delivery/outbox.py), so a claim reads the next rows off the index instead of sorting every
# pending one: equality on status first, then the ORDER BY's columns in its directions.
Index("ix_outbox_claim", OutboxMessage.status, OutboxMessage.priority.desc(), OutboxMessage.next_attempt_at, OutboxMessage.id)


class AlertSend(Base):
    """Who got which proactive alert: the unique pair makes each alert reach an address once, even from two runs."""

    __tablename__ = "alert_sends"
    __table_args__ = (UniqueConstraint("alert_key", "recipient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(128))
    recipient: Mapped[str] = mapped_column(String(320))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MailboxCheckpoint(Base):
    """Where a source is: UIDVALIDITY + highest UID handled (IMAP), or just a lock row (Maildir)."""

    __tablename__ = "mailbox_checkpoints"
    source: Mapped[str] = mapped_column(String(512), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DirectoryVersion(Base):
    """One row whose number `directory import` (and an erasure of a contact) bumps: the bot keeps the directory in
    memory and reads it again only when this number changed, instead of querying contacts for every message."""

    __tablename__ = "directory_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class QuarantinedMessage(Base):
    """A message the bot could not handle, kept whole with the error for an operator."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(512))
    source_ref: Mapped[str] = mapped_column(String(255))
    message_key: Mapped[str | None] = mapped_column(String(998))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Erasure(Base):
    """A `contact forget` that erased something: when, whose (a hash, never the address) and how much."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 of the normalised address
    counts: Mapped[str] = mapped_column(Text)  # JSON: what was erased, by kind


# The full-text search index over case subjects and message text (migration 0014) is kept by the database,
# not the ORM: PostgreSQL's generated `search_document` columns and their GIN indexes, SQLite's FTS5 tables
# (with their shadow tables) and triggers. Autogenerate must neither drop them nor call them differences.
SEARCH_TABLE_PREFIXES = ("case_subject_fts", "case_message_fts")
SEARCH_COLUMN = "search_document"


def is_modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's include_object hook: False for the search objects that exist only in the database."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE_PREFIXES)
    return not (type_ in ("column", "index") and name.endswith(SEARCH_COLUMN))
