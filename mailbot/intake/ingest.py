"""The ingest stage: raw mail from a source -> parse -> situation -> decision -> one transaction per message.

Exactly once: the message's case change, outbox rows and checkpoint advance commit together, under a lock on
the source's checkpoint row, and the Message-ID (or the raw bytes' hash) is unique in the inbound log.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from mailbot.db.checkpoints import Position, advance, locked_checkpoint, restart_for_uidvalidity
from mailbot.db.engine import after_commit, transaction
from mailbot.db.models import InboundRecord, QuarantinedMessage
from mailbot.db.queries import (
    auto_replies_since,
    cases_of_type_between,
    requests_in_month,
    is_known_message,
    known_digest,
    is_known_source_ref,
    thread_match,
)
from mailbot.directory.snapshot import DirectoryCache, DirectorySnapshot
from mailbot.domain.decisions import Situation
from mailbot.domain.directory import SenderStanding, ThreadMatch
from mailbot.errors import causes
from mailbot.domain.messages import InboundMessage
from mailbot.logs import fields
from mailbot.outbound.templates import TemplateMissing
from mailbot.parsing import UnparseableMessage, parse_message
from mailbot.config import PlanSettings
from mailbot.policy.classify import Classification, classify
from mailbot.policy.decide import decide
from mailbot.policy.rules import is_new_request
from mailbot.policy.quota import day_window, month_window, support_year
from mailbot.policy.prepaid_hours import CardBalance, current_card
from mailbot.cases.prepaid_hours import balance_of
from mailbot.app import App
from mailbot.intake.apply import apply_decision
from mailbot.sources.base import FetchedMail, MailSource, is_unfetchable_entry

log = logging.getLogger(__name__)
# Not the message's fault: the database, the pool or the operator's templates. The runner backs off and
# retries the same message; quarantining here would sweep every message into quarantine during an outage.
OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout, TemplateError, TemplateMissing)
# Never the message's fault, whatever the database says: the pool or the operator's templates.
OPERATOR_PROBLEMS: tuple[type[Exception], ...] = (PoolTimeout, TemplateError, TemplateMissing)
MESSAGE_ATTEMPTS = 3  # database errors while the database answers: tried again before the message is blamed
MARK_HANDLED_EVERY = 25  # post-process (flag/move) in small batches: fewer round trips, little left on a crash
ALREADY_HANDLED = "already_handled"
DUPLICATE = "duplicate"
# The "rule" of the two outcomes no policy rule decides, as the metrics show them.
BY_CHECKPOINT = "checkpoint"  # another worker handled it first
BY_KNOWN_MESSAGE = "known_message"  # its Message-ID (or the raw bytes' hash) is in the inbound log


class PlanNotConfigured(Exception):
    """A designated contact's account is on a plan the configuration does not define."""


@dataclass
class IngestReport:
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def new_work(self) -> int:
        """Messages handled for the first time (not skipped as already seen)."""
        return self.total - self.outcomes[DUPLICATE] - self.outcomes[ALREADY_HANDLED]


class Ingestor:
    def __init__(self, app: App) -> None:
        self._app = app
        self._directory = DirectoryCache()  # read again when `directory import` bumped its version

    def ingest(self, source: MailSource, stop: threading.Event, *, sweep: bool = False) -> IngestReport:
        """Handle everything waiting in the source; stops between messages once `stop` is set."""
        uidvalidity = source.refresh()
        position = self.position(source.key, uidvalidity)
        mails = source.sweep(position) if sweep else source.new_mail(position)
        return self._drain(source, mails, stop)

    def _drain(self, source: MailSource, mails: Iterator[FetchedMail], stop: threading.Event) -> IngestReport:
        report = IngestReport()
        handled: list[FetchedMail] = []
        try:
            for mail in mails:
                report.outcomes[self.handle(source.key, mail)] += 1
                handled.append(mail)
                if len(handled) >= MARK_HANDLED_EVERY:
                    source.mark_handled(handled)
                    handled = []
                if stop.is_set():
                    break
        finally:
            if handled:
                source.mark_handled(handled)
        return report

    def position(self, source_key: str, uidvalidity: int) -> Position:
        now = self._app.clock.now()
        with transaction(self._app.sessions) as session:
            self._directory.current(session)  # once per round: one number read, the directory only when it changed
            checkpoint = locked_checkpoint(session, source_key, now)
            previous = checkpoint.uidvalidity
            if uidvalidity and restart_for_uidvalidity(checkpoint, uidvalidity, now) and previous:
                log.warning(
                    "uidvalidity changed: rescanning the folder, Message-IDs prevent repeats",
                    extra=fields(source=source_key, old_uidvalidity=previous, new_uidvalidity=uidvalidity),
                )
            return Position(checkpoint.uidvalidity, checkpoint.last_uid)

    def handle(self, source_key: str, mail: FetchedMail) -> str:
        """Process one message to its end state; returns its outcome. Database outages propagate."""
        if mail.arrived_at is None:
            mail = replace(mail, arrived_at=self._app.clock.now())  # the source cannot tell: when it was fetched
        if mail.unfetchable:
            return self.quarantine(source_key, mail, None, mail.unfetchable)
        if mail.oversize:
            limit = self._app.settings.limits.max_message_bytes
            return self.quarantine(source_key, mail, None, f"message of {mail.oversize} bytes exceeds "
                                   f"limits.max_message_bytes ({limit}); only its headers were fetched")
        try:
            message = parse_message(mail.raw, max_stored_attachment_bytes=self._app.settings.limits.max_stored_attachment_bytes)
        except UnparseableMessage as error:
            return self.quarantine(source_key, mail, None, f"unparseable: {error}")
        for attempt in range(1, MESSAGE_ATTEMPTS + 1):
            try:
                return self._process(source_key, mail, message)
            except IntegrityError as error:
                # Another worker committed the same Message-ID between our check and insert: look again. Or the
                # directory changed under the snapshot (a contact removed): read it again too.
                self._directory.forget()
                if attempt == MESSAGE_ATTEMPTS:
                    return self.quarantine(source_key, mail, message.message_key, f"integrity error: {error.orig}")
            except OPERATOR_PROBLEMS:
                raise
            except Exception as error:  # noqa: BLE001 - one bad message must never stop the mailbox
                self._raise_if_outage(error)
                if attempt < MESSAGE_ATTEMPTS and _is_database_error(error):
                    continue  # a deadlock, a lock timeout or a replaced connection passes: try this message again
                log.exception("message failed; quarantined", extra=self._message_fields(source_key, mail, message))
                return self.quarantine(source_key, mail, message.message_key, f"{type(error).__name__}: {error}")
        raise AssertionError("unreachable")

    def _raise_if_outage(self, error: Exception) -> None:
        """An error is this message's only while the database answers: a lost connection is everyone's.

        A database error can be the message's own (a lookup with more parameters than the driver binds, a value
        the column refuses) or the database's (it went away). A connection SQLAlchemy found dead anywhere in the
        chain of causes, or a database that does not answer a fresh round trip, is an outage: the runner backs
        off and retries the same message. Anything else is quarantined with the message, and the mailbox goes on.
        """
        for cause in causes(error):
            if isinstance(cause, DBAPIError) and cause.connection_invalidated:
                raise cause from error
        try:
            with self._app.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except (OperationalError, InterfaceError, PoolTimeout) as outage:
            raise outage from error

    def _process(self, source_key: str, mail: FetchedMail, message: InboundMessage) -> str:
        now = self._app.clock.now()
        with transaction(self._app.sessions) as session:
            checkpoint = locked_checkpoint(session, source_key, now)
            if Position(checkpoint.uidvalidity, checkpoint.last_uid).covers(mail.uidvalidity, mail.uid):
                self._count(session, ALREADY_HANDLED, BY_CHECKPOINT, None)
                return ALREADY_HANDLED  # another worker got here first
            self._take_out_of_quarantine(session, mail, now)
            message, recorded = self._own_key(session, source_key, mail, message)
            if recorded or self._is_known_file(session, source_key, mail):
                advance(checkpoint, mail.uidvalidity, mail.uid, now)
                log.info("duplicate skipped", extra=self._message_fields(source_key, mail, message))
                self._count(session, DUPLICATE, BY_KNOWN_MESSAGE, None)
                return DUPLICATE
            situation = self._situation(session, message, now)
            decision = decide(situation, self._app.policy)
            applied = apply_decision(self._app, session, decision, situation, source_key, mail.source_ref)
            advance(checkpoint, mail.uidvalidity, mail.uid, now)
            self._count(session, decision.outcome.value, decision.rule, mail.arrived_at)
        log.info(
            "message handled",
            extra=self._message_fields(
                source_key,
                mail,
                message,
                outcome=decision.outcome.value,
                rule=decision.rule,
                reason=decision.reason,
                case=applied.case_number,
                reply=decision.reply.value if decision.reply else None,
                reply_withheld_by=decision.reply_suppressed_by,
            ),
        )
        return decision.outcome.value

    def _count(self, session: Session, outcome: str, rule: str, arrived_at: datetime | None) -> None:
        """Counted when the transaction commits: a message rolled back by an outage counts once, when it is done."""
        metrics, clock = self._app.metrics, self._app.clock

        def count() -> None:
            latency = (clock.now() - arrived_at).total_seconds() if arrived_at else None
            metrics.message_handled(outcome, rule, latency)

        after_commit(session, count)

    def _own_key(self, session: Session, source_key: str, mail: FetchedMail,
                 message: InboundMessage) -> tuple[InboundMessage, bool]:
        """The message under the key it is recorded by, and whether that key is recorded already (a duplicate).

        Only the same content under the same Message-ID is a duplicate. A Message-ID seen before with other
        content (a sender's buggy client, or someone reusing an ID to have a message dropped unseen) gets a key
        of its own, is recorded and handled, and the log says so. One lookup in the common case.
        """
        known, digest = known_digest(session, message.message_key)
        if not known:
            return message, False
        if digest is None or digest == message.content_digest or message.message_key.startswith("sha256:"):
            return message, True
        own = replace(message, message_key=f"{message.message_key}#{message.content_digest[:16]}")
        recorded = is_known_message(session, own.message_key)
        if not recorded:
            log.warning("reused Message-ID with different content: handled as its own message",
                        extra=self._message_fields(source_key, mail, own, message_key=own.message_key))
        return own, recorded

    def _seen_before(self, session: Session, source_key: str, mail: FetchedMail, message_key: str) -> bool:
        return is_known_message(session, message_key) or self._is_known_file(session, source_key, mail)

    @staticmethod
    def _is_known_file(session: Session, source_key: str, mail: FetchedMail) -> bool:
        """Sources without UIDs (Maildir) know a handled message by its file name as well."""
        return mail.uid == 0 and is_known_source_ref(session, source_key, mail.source_ref)

    def _snapshot(self, session: Session) -> DirectorySnapshot:
        return self._directory.snapshot or self._directory.current(session)

    def _situation(self, session: Session, message: InboundMessage, now: datetime) -> Situation:
        email = message.sender.email if message.sender else ""
        directory = self._snapshot(session)
        sender = directory.standing(email) if email else None
        thread = thread_match(session, message, self._app.numbering)
        if thread is not None and not self._app.settings.cases.survey:
            thread = replace(thread, survey_pending=False)
        plan = self._app.catalog.plan(sender.plan_name) if sender else None
        if sender is not None and plan is None and email not in self._app.engineers:
            raise PlanNotConfigured(
                f"account {sender.account_key}'s plan {sender.plan_name!r} is not in the configuration;"
                " add it (or a preset) and release this message from the quarantine"
            )
        zone = ZoneInfo((sender.account_timezone if sender else None) or self._app.settings.support.default_timezone)
        used = 0
        new_request = is_new_request(thread, sender, now, self._app.policy)
        if sender is not None and plan is not None and plan.requests_per_month is not None and new_request:
            used = requests_in_month(session, sender.account_id, *month_window(now, zone))
        found = classify(message, plan, now.astimezone(zone).date()) if plan else None
        return Situation(
            message=message,
            sender=sender,
            thread=thread,
            auto_replies_to_sender_last_hour=auto_replies_since(session, email, now - timedelta(hours=1)) if email else 0,
            now=now,
            plan=plan,
            classification=found,
            requests_this_month=used,
            maintenances_this_year=self._maintenances_this_year(session, sender, plan, found, new_request, now, zone),
            engineer=self._app.engineers.get(email),
            case_plan=self._app.catalog.plan(thread.plan_name) if thread else None,
            prepaid_hours=self._prepaid_hours(session, directory, sender, thread, email, now),
        )

    @staticmethod
    def _maintenances_this_year(session: Session, sender: SenderStanding | None, plan: PlanSettings | None,
                                found: Classification | None, new_request: bool, now: datetime, zone: ZoneInfo) -> int:
        """Maintenance cases the account opened in the current contract year, when the plan limits them."""
        if sender is None or plan is None or plan.maintenances_per_year is None or not new_request:
            return 0
        today = now.astimezone(zone).date()
        contract = sender.contract_on(today)
        if found is None or found.ticket_type != "maintenance" or contract is None:
            return 0
        start, end = day_window(*support_year(contract.starts_on, today), zone)
        return cases_of_type_between(session, sender.account_id, "maintenance", start, end)

    def _prepaid_hours(self, session: Session, directory: DirectorySnapshot, sender: SenderStanding | None,
                       thread: ThreadMatch | None, email: str, now: datetime) -> CardBalance | None:
        """The card an engineer's #time would draw on (the case's account), or the one a new case's acknowledgment names."""
        if email in self._app.engineers and thread is not None:
            account_id = thread.account_id
        elif sender is not None:
            account_id = sender.account_id
        else:
            return None
        account = directory.account(account_id)
        if account is None:
            return None
        plan = self._app.catalog.plan(account.plan_name)
        # Contract days are the account's own calendar days.
        today = now.astimezone(ZoneInfo(account.timezone or self._app.settings.support.default_timezone)).date()
        terms = current_card(account.contracts, plan.prepaid_remote_hours if plan else 0.0, today)
        return balance_of(session, account_id, terms) if terms else None

    def quarantine(self, source_key: str, mail: FetchedMail, message_key: str | None, error: str) -> str:
        now = self._app.clock.now()
        error = error.replace("\x00", "\\0")  # PostgreSQL text refuses NUL; the message may have put one there
        key = message_key or "sha256:" + hashlib.sha256(mail.raw).hexdigest()
        with transaction(self._app.sessions) as session:
            checkpoint = locked_checkpoint(session, source_key, now)
            if Position(checkpoint.uidvalidity, checkpoint.last_uid).covers(mail.uidvalidity, mail.uid):
                self._count(session, ALREADY_HANDLED, BY_CHECKPOINT, None)
                return ALREADY_HANDLED
            self._take_out_of_quarantine(session, mail, now)
            if self._seen_before(session, source_key, mail, key):
                advance(checkpoint, mail.uidvalidity, mail.uid, now)
                self._count(session, DUPLICATE, BY_KNOWN_MESSAGE, None)
                return DUPLICATE
            session.add(
                QuarantinedMessage(
                    source=source_key, source_ref=mail.source_ref, message_key=key, raw=mail.raw, error=error, created_at=now
                )
            )
            session.add(
                InboundRecord(
                    message_key=key,
                    message_id=None if key.startswith("sha256:") else key,  # so `inbound list` shows which mail it was
                    source=source_key,
                    source_ref=mail.source_ref,
                    received_at=now,
                    outcome="quarantined",
                    rule="quarantine",
                    reason=error[:2000],
                )
            )
            advance(checkpoint, mail.uidvalidity, mail.uid, now)
            self._count(session, "quarantined", "quarantine", mail.arrived_at)
        log.error("message quarantined", extra=fields(source=source_key, source_ref=mail.source_ref, message_key=key, error=error))
        return "quarantined"

    def release(self, quarantine_id: int, fetch_again: Callable[[str], FetchedMail | None] | None = None) -> str:
        """Handle a quarantined message again (after a fix); it may end up in quarantine once more.

        The entry leaves the quarantine in the same transaction that records the message's new outcome, so a
        failure in between (the database going away) leaves it in the quarantine, never lost from both places.
        An entry whose body the server never sent holds no mail: `fetch_again` (the source's) gets it now.
        """
        with self._app.sessions() as session:
            item = session.get(QuarantinedMessage, quarantine_id)
            if item is None or item.released_at is not None:
                raise LookupError(f"no quarantined message {quarantine_id} waiting for release")
            raw, source, source_ref, unfetchable = item.raw, item.source, item.source_ref, is_unfetchable_entry(item.error)
        if unfetchable:
            fetched = fetch_again(source_ref) if fetch_again is not None else None
            if fetched is None:
                raise LookupError(f"quarantined message {quarantine_id} holds no mail (the server sent no body) and"
                                  f" {source_ref} could not be fetched again from {source}")
            raw = fetched.raw
        return self.handle(source, FetchedMail(source_ref=source_ref, uidvalidity=0, uid=0, raw=raw,
                                               released_from=quarantine_id))

    def _take_out_of_quarantine(self, session: Session, mail: FetchedMail, now: datetime) -> None:
        if mail.released_from is None:
            return
        item = session.get(QuarantinedMessage, mail.released_from, with_for_update=True)
        if item is None or item.released_at is not None:
            raise LookupError(f"quarantined message {mail.released_from} was released meanwhile")
        item.released_at = now
        session.execute(delete(InboundRecord).where(InboundRecord.message_key == item.message_key,
                                                    InboundRecord.outcome == "quarantined"))
        session.flush()

    @staticmethod
    def _message_fields(
        source_key: str, mail: FetchedMail, message: InboundMessage, **extra: object
    ) -> dict[str, dict[str, object]]:
        return fields(
            source=source_key,
            source_ref=mail.source_ref,
            message_id=message.message_id,
            sender=message.sender.email if message.sender else None,
            **extra,
        )


def _is_database_error(error: BaseException) -> bool:
    return any(isinstance(cause, DBAPIError) for cause in causes(error))
