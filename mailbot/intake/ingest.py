"""The ingest stage: raw mail from a source -> parse -> situation -> decision -> case change, outbox and checkpoint.

Exactly once: a message's case change, outbox rows and checkpoint advance commit together, under a lock on the
source's checkpoint row, and the Message-ID (or the raw bytes' hash) is unique in the inbound log. Up to
`database.messages_per_commit` messages share one transaction. When one of them fails, the batch is handled again
with a savepoint per message, so that one rolls back alone (and is tried again or quarantined); a crash before
the commit redoes the whole batch.
What the log and the metrics say of a message is said once its batch has committed.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from jinja2 import TemplateError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.case_counters import expect_cases, give_back_unused
from mailbot.db.checkpoints import Position, advance, locked_checkpoint, restart_for_uidvalidity
from mailbot.db.engine import after_commit, transaction
from mailbot.db.models import MailboxCheckpoint, QuarantinedMessage
from mailbot.db.row_ids import expect_messages
from mailbot.db.write_behind import write_waiting
from mailbot.db.queries import FirstLook, first_look, is_known_message, is_known_source_ref
from mailbot.directory.snapshot import DirectoryCache, DirectorySnapshot
from mailbot.domain.messages import InboundMessage
from mailbot.errors import causes
from mailbot.intake.apply import apply_decision
from mailbot.intake.batch import BatchFailed, Prepared, batches, prepare
from mailbot.intake.batch_look import BatchView
from mailbot.intake.quarantine import add_to_quarantine, quarantine_key, take_out_of_quarantine
from mailbot.intake.situation import PlanNotConfigured, read_situation
from mailbot.logs import fields
from mailbot.outbound.templates import TemplateMissing
from mailbot.policy.decide import decide
from mailbot.sources.base import FetchedMail, MailSource, is_unfetchable_entry

log = logging.getLogger(__name__)
# Not the message's fault: the database, the pool or the operator's templates. The runner backs off and
# retries the same message; quarantining here would sweep every message into quarantine during an outage.
OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout, TemplateError, TemplateMissing)
# Never the message's fault, whatever the database says: the pool or the operator's templates.
OPERATOR_PROBLEMS: tuple[type[Exception], ...] = (PoolTimeout, TemplateError, TemplateMissing)
AUTO_REPLY_WINDOW = timedelta(hours=1)  # the robot-loop cap counts a sender's auto-replies over this window
MESSAGE_ATTEMPTS = 3  # database errors while the database answers: tried again before the message is blamed
MARK_HANDLED_EVERY = 25  # post-process (flag/move) in small batches: fewer round trips, little left on a crash
ALREADY_HANDLED = "already_handled"
DUPLICATE = "duplicate"
# The "rule" of the two outcomes no policy rule decides, as the metrics show them.
BY_CHECKPOINT = "checkpoint"  # another worker handled it first
BY_KNOWN_MESSAGE = "known_message"  # its Message-ID (or the raw bytes' hash) is in the inbound log
__all__ = ["Ingestor", "IngestReport", "OUTAGES", "PlanNotConfigured"]
Later = list[Callable[[], None]]  # what is said of a batch's messages (log lines) once the batch has committed


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
        self._batch_view: BatchView | None = None  # the batch being handled: its first look

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
            for batch in batches(mails, self._app.settings.database.messages_per_commit, stop):
                report.outcomes.update(self.handle_batch(source.key, batch))
                handled += batch
                if len(handled) >= MARK_HANDLED_EVERY:
                    source.mark_handled(handled)
                    handled = []
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
        [outcome] = self.handle_batch(source_key, [mail])
        return outcome

    def handle_batch(self, source_key: str, mails: list[FetchedMail]) -> list[str]:
        """Process messages to their end states in one transaction; their outcomes. Database outages propagate
        (nothing of the batch is committed, and the runner tries it again).

        A batch is first tried without a savepoint per message (two statements each, and the ORM's work for
        them): almost every batch goes through whole. When one of its messages fails, nothing of the batch
        has been written; it is handled again with a savepoint each, so that message fails alone.
        """
        limits = self._app.settings.limits
        prepared = [prepare(mail, limits, self._app.clock) for mail in mails]
        if len(prepared) > 1 and all(item.message is not None for item in prepared):
            try:
                return self._handle_prepared(source_key, prepared, guarded=False)
            except BatchFailed as failed:
                log.debug("batch handled again with a savepoint per message",
                          extra=fields(source=source_key, error=str(failed.__cause__)[:300]))
        return self._handle_prepared(source_key, prepared, guarded=True)

    def _handle_prepared(self, source_key: str, prepared: list[Prepared], *, guarded: bool) -> list[str]:
        later: Later = []
        with transaction(self._app.sessions) as session:
            checkpoint = locked_checkpoint(session, source_key, self._app.clock.now())
            expect_messages(session, len(prepared))
            parsed = [(item.mail, item.message) for item in prepared if item.message is not None]
            self._batch_view = BatchView.read(session, source_key, parsed, self._app.clock.now() - AUTO_REPLY_WINDOW)
            try:
                outcomes = []
                for index, item in enumerate(prepared):
                    expect_cases(session, len(prepared) - index)  # numbers for the rest in one statement, if needed
                    outcomes.append(self._handle_one(session, checkpoint, source_key, item, later, guarded=guarded))
            finally:
                self._batch_view = None
            give_back_unused(session)
            # Once for the batch, after its savepoints: one UPDATE of the row instead of one per message.
            now = self._app.clock.now()
            for item in prepared:
                advance(checkpoint, item.mail.uidvalidity, item.mail.uid, now)
        for say in later:
            say()
        return outcomes

    def _handle_one(self, session: Session, checkpoint: MailboxCheckpoint, source_key: str, item: Prepared,
                    later: Later, *, guarded: bool = True) -> str:
        """One message of the batch, in a savepoint: a failure undoes this message's work alone. Unguarded,
        without one: a failure ends the whole batch's attempt (BatchFailed), to be made again guarded."""
        mail, message = item.mail, item.message
        if not guarded:
            assert message is not None, "unparseable messages are handled guarded"
            try:
                return self._process(session, checkpoint, source_key, mail, message, later)
            except OPERATOR_PROBLEMS:
                raise
            except Exception as error:  # noqa: BLE001 - told apart in the guarded attempt, message by message
                raise BatchFailed from error
        if message is None:
            return self._quarantine_in(session, checkpoint, source_key, mail, None, item.problem or "", later)
        for attempt in range(1, MESSAGE_ATTEMPTS + 1):
            try:
                with session.begin_nested():
                    return self._process(session, checkpoint, source_key, mail, message, later)
            except IntegrityError as error:
                self._passed(mail, message)
                # Another worker committed the same Message-ID between our check and insert: look again. Or the
                # directory changed under the snapshot (a contact removed): read it again too.
                self._directory.forget()
                if attempt == MESSAGE_ATTEMPTS:
                    return self._quarantine_in(session, checkpoint, source_key, mail, message.message_key,
                                               f"integrity error: {error.orig}", later)
            except OPERATOR_PROBLEMS:
                raise
            except Exception as error:  # noqa: BLE001 - one bad message must never stop the mailbox
                self._passed(mail, message)
                self._raise_if_outage(session, error)
                if attempt < MESSAGE_ATTEMPTS and _is_database_error(error):
                    continue  # a deadlock, a lock timeout or a replaced connection passes: try this message again
                log.exception("message failed; quarantined", extra=self._message_fields(source_key, mail, message))
                return self._quarantine_in(session, checkpoint, source_key, mail, message.message_key,
                                           f"{type(error).__name__}: {error}", later)
        raise AssertionError("unreachable")

    def _raise_if_outage(self, session: Session, error: Exception) -> None:
        """An error is this message's only while the database answers: a lost connection is everyone's.

        A database error can be the message's own (a lookup with more parameters than the driver binds, a value
        the column refuses) or the database's (it went away). A connection SQLAlchemy found dead anywhere in the
        chain of causes, or a database that does not answer a round trip, is an outage: the runner backs
        off and retries the same message. Anything else is quarantined with the message, and the mailbox goes on.
        """
        for cause in causes(error):
            if isinstance(cause, DBAPIError) and cause.connection_invalidated:
                raise cause from error
        try:
            # On the batch's own connection, its savepoint rolled back: a second connection would wait behind
            # the batch's write lock on SQLite.
            session.connection().exec_driver_sql("SELECT 1")
        except (OperationalError, InterfaceError, PoolTimeout) as outage:
            raise outage from error

    def _process(self, session: Session, checkpoint: MailboxCheckpoint, source_key: str, mail: FetchedMail,
                 message: InboundMessage, later: Later) -> str:
        now = self._app.clock.now()
        if Position(checkpoint.uidvalidity, checkpoint.last_uid).covers(mail.uidvalidity, mail.uid):
            self._count(session, ALREADY_HANDLED, BY_CHECKPOINT, None)
            return ALREADY_HANDLED  # another worker got here first
        take_out_of_quarantine(session, mail, now)
        sender = message.sender.email if message.sender else ""
        look = self._batch_view.first_look(mail, message) if self._batch_view else None
        if look is None:
            look = first_look(session, message.message_key, sender, now - AUTO_REPLY_WINDOW)
        known_file = self._batch_view.knows_file(mail) if self._batch_view and mail.uid == 0 else None
        self._passed(mail, message)
        message, recorded = self._own_key(session, source_key, mail, message, look, later)
        if recorded or (known_file if known_file is not None else self._is_known_file(session, source_key, mail)):
            later.append(lambda: log.info("duplicate skipped", extra=self._message_fields(source_key, mail, message)))
            self._count(session, DUPLICATE, BY_KNOWN_MESSAGE, None)
            return DUPLICATE
        situation = read_situation(self._app, session, self._snapshot(session), message, now, look.auto_replies)
        decision = decide(situation, self._app.policy)
        applied = apply_decision(self._app, session, decision, situation, source_key, mail.source_ref)
        write_waiting(session)  # in this message's savepoint, if it has one: a failure here is this message's
        self._count(session, decision.outcome.value, decision.rule, mail.arrived_at)
        handled = self._message_fields(
            source_key, mail, message, outcome=decision.outcome.value, rule=decision.rule, reason=decision.reason,
            case=applied.case_number, reply=decision.reply.value if decision.reply else None,
            reply_withheld_by=decision.reply_suppressed_by,
        )
        later.append(lambda: log.info("message handled", extra=handled))
        return decision.outcome.value

    def _passed(self, mail: FetchedMail, message: InboundMessage) -> None:
        if self._batch_view is not None:
            self._batch_view.passed(mail, message)

    def _count(self, session: Session, outcome: str, rule: str, arrived_at: datetime | None) -> None:
        """Counted when the transaction commits: a message rolled back by an outage counts once, when it is done.

        Called as the last step of a message's savepoint, so an attempt that failed and was undone never counts.
        """
        metrics, clock = self._app.metrics, self._app.clock

        def count() -> None:
            latency = (clock.now() - arrived_at).total_seconds() if arrived_at else None
            metrics.message_handled(outcome, rule, latency)

        after_commit(session, count)

    def _own_key(self, session: Session, source_key: str, mail: FetchedMail, message: InboundMessage, look: FirstLook,
                 later: Later) -> tuple[InboundMessage, bool]:
        """The message under the key it is recorded by, and whether that key is recorded already (a duplicate).

        Only the same content under the same Message-ID is a duplicate. A Message-ID seen before with other
        content (a sender's buggy client, or someone reusing an ID to have a message dropped unseen) gets a key
        of its own, is recorded and handled, and the log says so. One lookup in the common case.
        """
        known, digest = look.known, look.digest
        if not known:
            return message, False
        if digest is None or digest == message.content_digest or message.message_key.startswith("sha256:"):
            return message, True
        own = replace(message, message_key=f"{message.message_key}#{message.content_digest[:16]}")
        recorded = is_known_message(session, own.message_key)
        if not recorded:
            reused = self._message_fields(source_key, mail, own, message_key=own.message_key)
            later.append(lambda: log.warning("reused Message-ID with different content: handled as its own message",
                                             extra=reused))
        return own, recorded

    def _seen_before(self, session: Session, source_key: str, mail: FetchedMail, message_key: str) -> bool:
        return is_known_message(session, message_key) or self._is_known_file(session, source_key, mail)

    @staticmethod
    def _is_known_file(session: Session, source_key: str, mail: FetchedMail) -> bool:
        """Sources without UIDs (Maildir) know a handled message by its file name as well."""
        return mail.uid == 0 and is_known_source_ref(session, source_key, mail.source_ref)

    def _snapshot(self, session: Session) -> DirectorySnapshot:
        return self._directory.snapshot or self._directory.current(session)

    def _quarantine_in(self, session: Session, checkpoint: MailboxCheckpoint, source_key: str, mail: FetchedMail,
                       message_key: str | None, error: str, later: Later) -> str:
        now = self._app.clock.now()
        error = error.replace("\x00", "\\0")  # PostgreSQL text refuses NUL; the message may have put one there
        key = quarantine_key(mail, message_key)
        with session.begin_nested():
            if Position(checkpoint.uidvalidity, checkpoint.last_uid).covers(mail.uidvalidity, mail.uid):
                self._count(session, ALREADY_HANDLED, BY_CHECKPOINT, None)
                return ALREADY_HANDLED
            take_out_of_quarantine(session, mail, now)
            if self._seen_before(session, source_key, mail, key):
                self._count(session, DUPLICATE, BY_KNOWN_MESSAGE, None)
                return DUPLICATE
            add_to_quarantine(session, source_key, mail, key, error, now)
            self._count(session, "quarantined", "quarantine", mail.arrived_at)
        quarantined = fields(source=source_key, source_ref=mail.source_ref, message_key=key, error=error)
        later.append(lambda: log.error("message quarantined", extra=quarantined))
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

