"""Reads and small atomic writes the service layer needs, returning plain domain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from mailbot.db.case_counters import next_number
from mailbot.db.models import Account, Case, CaseMessage, Contact, InboundRecord, OutboxMessage
from mailbot.domain.directory import ContractTerm, SenderStanding, ThreadEvidence, ThreadMatch
from mailbot.domain.messages import InboundMessage
from mailbot.policy.case_numbers import CaseNumbering
from mailbot.policy.warranty import WarrantyCover


def account_terms(account: Account) -> tuple[ContractTerm, ...]:
    return tuple(ContractTerm(term.reference, term.starts_on, term.ends_on, term.prepaid_remote_hours) for term in account.contracts)


def standing_of(contact: Contact, account: Account, contracts: tuple[ContractTerm, ...],
                contacts: frozenset[str] = frozenset()) -> SenderStanding:
    return SenderStanding(
        contact_id=contact.id,
        contact_email=contact.email,
        contact_name=contact.name,
        account_id=account.id,
        account_key=account.key,
        account_name=account.name,
        plan_name=account.plan_name,
        language=contact.language or account.language,
        timezone=contact.timezone or account.timezone,
        account_timezone=account.timezone,
        contracts=contracts,
        warranty=WarrantyCover(account.warranty_option, account.warranty_starts_on, account.warranty_ends_on)
        if account.warranty_option else None,
        account_contacts=contacts,
    )


# The hot statements are built once (compiled once, their cache keys too) and run with parameters.
_MESSAGES_WITH_IDS = (select(CaseMessage.case_id, CaseMessage.internal, CaseMessage.recipients, CaseMessage.direction)
                      .where(CaseMessage.message_id.in_(bindparam("ids", expanding=True))))
_CASE_NUMBERED = select(Case.id).where(func.upper(Case.number) == bindparam("number"))
_LOCK_ACCOUNT = select(Account.id).where(Account.id == bindparam("account")).with_for_update()
_CASES_OPENED_BETWEEN = (select(func.count()).select_from(Case)
                         .where(Case.account_id == bindparam("account"), Case.opened_at >= bindparam("start"),
                                Case.opened_at < bindparam("end")))


def thread_match(session: Session, message: InboundMessage, numbering: CaseNumbering) -> ThreadMatch | None:
    """The case this message answers: by a Message-ID the case sent or received, else by the subject tag.

    The case row is locked: a scheduled job closing the case meanwhile cannot interleave with this message.
    """
    if message.thread_ids:
        rows = session.execute(_MESSAGES_WITH_IDS, {"ids": list(message.thread_ids)}).all()
        # What the bot sent decides before what it received: a reply names our message first.
        found = [row[:3] for row in rows if row[3] == "out"] + [row[:3] for row in rows if row[3] == "in"]
        if found:
            case_id = found[0][0]
            sender = message.sender.email if message.sender else ""
            # Proof of being an engineer in this case: answering a notice the bot sent to that very address.
            notified = any(internal and sender and is_among(sender, recipients) for cid, internal, recipients in found
                           if cid == case_id)
            case = locked_case(session, case_id)
            if case is not None:
                return _match(case, ThreadEvidence.REFERENCE, via_notice=notified)
    number = numbering.find_in_subject(message.subject)
    if number is not None:
        case_id = session.scalar(_CASE_NUMBERED, {"number": number.upper()})
        case = locked_case(session, case_id) if case_id is not None else None
        if case is not None:
            return _match(case, ThreadEvidence.SUBJECT_TAG)
    return None


def is_among(address: str, recipients: str) -> bool:
    """Exact address match in a stored recipient list ("a@x, b@y"): ana@vendor is not juana@vendor."""
    return address.lower() in {item.strip().lower() for item in recipients.split(",")}


def locked_case(session: Session, case_id: int) -> Case | None:
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is not None:
        # The identity map holds clean rows weakly: kept here, the rest of the transaction finds it without a query.
        session.info.setdefault(LOCKED_CASES, []).append(case)
    return case


SURVEYED_CLOSE_REASONS = ("solved", "inactive")
LOCKED_CASES = "mailbot_locked_cases"  # session.info key


def _match(case: Case, evidence: ThreadEvidence, *, via_notice: bool = False) -> ThreadMatch:
    return ThreadMatch(
        case.id, case.number, case.account_id, case.status, evidence, via_notice=via_notice,
        closed_at=case.closed_at,
        survey_pending=case.status == "closed" and case.survey_at is None and case.close_reason in SURVEYED_CLOSE_REASONS,
        survey_corrected=case.survey_corrected_at is not None,
        plan_name=case.account.plan_name,
    )


def requests_in_month(session: Session, account_id: int, month_start: datetime, month_end: datetime) -> int:
    """Cases the account opened in [month_start, month_end), after locking the account row.

    The lock makes check-then-open atomic: two workers handling the same account's 3rd and 4th request at
    the same instant queue here, and the second one counts the first one's case.
    """
    session.execute(_LOCK_ACCOUNT, {"account": account_id})
    return session.scalar(_CASES_OPENED_BETWEEN, {"account": account_id, "start": month_start, "end": month_end}) or 0


def cases_of_type_between(session: Session, account_id: int, ticket_type: str, start: datetime, end: datetime) -> int:
    """The account's cases of a type opened in [start, end) (maintenances in a contract year), under the account's lock,
    so two maintenance requests handled at once cannot both be counted as the last included one."""
    session.execute(_LOCK_ACCOUNT, {"account": account_id})
    return session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.account_id == account_id, Case.ticket_type == ticket_type, Case.opened_at >= start, Case.opened_at < end)
    ) or 0


def _auto_replies_since(recipient: str, since: datetime):  # type: ignore[no-untyped-def]
    return select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient == recipient, OutboxMessage.is_auto_reply.is_(True), OutboxMessage.created_at >= since)


@dataclass(frozen=True, slots=True)
class FirstLook:
    """What the inbound log and the outbox say of a message before anything else is read: one round trip."""

    known: bool  # a message with this key was recorded
    digest: str | None  # the content digest it was recorded with
    auto_replies: int  # automatic replies to the sender since the given time (the robot-loop cap)


def first_look(session: Session, message_key: str, sender: str, since: datetime) -> FirstLook:
    recorded = select(InboundRecord.content_digest).where(InboundRecord.message_key == message_key)
    known, digest, replies = session.execute(select(
        recorded.exists(),
        recorded.limit(1).scalar_subquery(),
        _auto_replies_since(sender, since).scalar_subquery() if sender else literal(0),
    )).one()
    return FirstLook(bool(known), digest, int(replies or 0))


@dataclass(frozen=True, slots=True)
class BatchLook:
    """The first look of a whole batch, read in one round trip before its first message.

    It holds for a message only while no earlier message of the batch could have changed what it says: one under
    the same key, or one from or to the same address (whose auto-replies would count). The ingest asks again,
    inside the transaction, for any other message.
    """

    digests: dict[str, str | None]  # key -> the content digest it was recorded with, for the keys recorded
    auto_replies: dict[str, int]  # address -> automatic replies to it since the given time
    known_files: frozenset[str]  # source refs of the batch recorded already (sources without UIDs)

    def first_look(self, message_key: str, sender: str) -> FirstLook:
        known = message_key in self.digests
        return FirstLook(known, self.digests.get(message_key), self.auto_replies.get(sender, 0) if sender else 0)


def batch_first_look(session: Session, message_keys: list[str], senders: list[str], source: str,
                     source_refs: list[str], since: datetime) -> BatchLook:
    """What first_look says of each message of a batch (and which files are handled), in one statement."""
    parts = []
    if message_keys:
        parts.append(select(literal("key", String), InboundRecord.message_key, InboundRecord.content_digest, literal(0, Integer))
                     .where(InboundRecord.message_key.in_(sorted(set(message_keys)))))
    if senders:
        parts.append(select(literal("address", String), OutboxMessage.recipient, cast(null(), String), func.count())
                     .where(OutboxMessage.recipient.in_(sorted(set(senders))), OutboxMessage.is_auto_reply.is_(True),
                            OutboxMessage.created_at >= since)
                     .group_by(OutboxMessage.recipient))
    if source_refs:
        parts.append(select(literal("file", String), InboundRecord.source_ref, cast(null(), String), literal(0, Integer))
                     .where(InboundRecord.source == source, InboundRecord.source_ref.in_(sorted(set(source_refs)))))
    digests: dict[str, str | None] = {}
    replies: dict[str, int] = {}
    files: set[str] = set()
    if not parts:
        return BatchLook(digests, replies, frozenset())
    for kind, value, digest, count in session.execute(parts[0] if len(parts) == 1 else union_all(*parts)):
        if kind == "key":
            digests[value] = digest
        elif kind == "address":
            replies[value] = int(count)
        else:
            files.add(value)
    return BatchLook(digests, replies, frozenset(files))


def is_known_message(session: Session, message_key: str) -> bool:
    return session.scalar(select(InboundRecord.id).where(InboundRecord.message_key == message_key)) is not None


def is_known_source_ref(session: Session, source: str, source_ref: str) -> bool:
    return (
        session.scalar(
            select(InboundRecord.id).where(InboundRecord.source == source, InboundRecord.source_ref == source_ref)
        )
        is not None
    )


def allocate_case_number(session: Session, numbering: CaseNumbering, year: int) -> str:
    return numbering.format(year, next_number(session, numbering.counter_scope(year)))
