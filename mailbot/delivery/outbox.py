"""Deliver the outbox: a round sends the due rows over a small pool of SMTP sessions side by side.

Rows are claimed in batches (delivery/claims.py), shared by the sessions, each session sending one message at a
time; accepted messages are recorded together, failures one by one with their own retry and backoff. A round
can linger (`Linger`): while ingest is still committing replies it waits for them instead of ending, so its
sessions serve a whole backlog. Delivery stays at-least-once: a crash before a result is recorded sends the
message again, with the same Message-ID, after its lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

from mailbot.app import App
from mailbot.auth.credentials import Credentials, build_credentials
from mailbot.config import MaildirDelivery, Settings
from mailbot.delivery.claims import (  # noqa: F401 - retry_failed, backoff and the statuses are used from here
    DEEP_CLAIM, FAILED, PENDING, SENDING, SENDING_LEASE, SENT, Claimed, Sent, backoff, claim_due, hand_back, has_due,
    note_on_due_rows, record_failed, record_sent, retry_failed,
)
from mailbot.delivery.transports import DeliveryError, MaildirTransport, PartialDelivery, SmtpTransport, Transport
from mailbot.errors import ServerRefused
from mailbot.logs import fields

log = logging.getLogger(__name__)
UNREACHABLE, REFUSED = "unreachable", "refused"  # delivery rounds that never got to a message
RECORD_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
# Accepted messages are recorded with the next claim, which comes once a claim's rows are sent; a bound above
# that (a crash sends the unrecorded ones again), so that a full claim's sends still ride with the next claim.
RECORD_BATCH = 2 * DEEP_CLAIM
T = TypeVar("T")


@dataclass
class DeliveryReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    server_unreachable: str | None = None
    refused: ServerRefused | None = None  # the server refused us (login, certificate): the operator must act
    waiting_note: str | None = None  # what the waiting rows were told when the round could not connect

    @property
    def undelivered(self) -> bool:
        """Mail that should have gone out did not: the server was down or refused us, or a message failed for good."""
        return bool(self.server_unreachable or self.refused or self.outcomes[FAILED])

    def add(self, other: "DeliveryReport") -> None:
        """Another round's report into this one (`run --once` may need more than one round)."""
        self.outcomes.update(other.outcomes)
        self.server_unreachable = other.server_unreachable or self.server_unreachable
        self.refused = other.refused or self.refused
        self.waiting_note = other.waiting_note or self.waiting_note


async def _never_more() -> bool:
    return False


@dataclass(frozen=True)
class Linger:
    """How a round waits for more rows instead of ending when the outbox is empty (ingest is still committing).

    `more`: waits until rows may be due again; False when none will come, which ends the round. `stopping`:
    the service is stopping; the sessions finish the message in hand and the round ends.
    """

    more: Callable[[], Awaitable[bool]] = _never_more
    stopping: Callable[[], bool] = lambda: False


def build_transport(settings: Settings, credentials: Credentials | None = None) -> Transport:
    """`credentials` (kept by the app, so OAuth2 tokens outlive one delivery round) or new ones from settings."""
    delivery = settings.delivery
    if isinstance(delivery, MaildirDelivery):
        return MaildirTransport(delivery)
    return SmtpTransport(delivery, credentials or build_credentials(delivery))


def build_transports(settings: Settings, credentials: Credentials | None = None) -> list[Transport]:
    """`outbox.connections` SMTP sessions sharing one set of credentials; a Maildir is written by one."""
    if isinstance(settings.delivery, MaildirDelivery):
        return [build_transport(settings)]
    credentials = credentials or build_credentials(settings.delivery)
    return [build_transport(settings, credentials) for _ in range(settings.outbox.connections)]


async def deliver_due(app: App, transports: Sequence[Transport], linger: Linger | None = None,
                      skipped: set[int] | None = None) -> DeliveryReport:
    """One round. The first session is opened at once (its failure is the round's); the others join when rows wait.

    `skipped`: rows this round must not take, and to which it adds the rows that failed and wait for a retry
    (`run --once` tries each row once per run, as cron's schedule is its retry).
    """
    report = DeliveryReport()
    if not await asyncio.to_thread(_has_due, app, tuple(skipped or ())):
        return report
    first, *spare = transports
    try:
        async with first:
            await _Round(app, report, linger or Linger(), skipped).run(first, spare)
    except ServerRefused as error:
        report.refused = error
        app.metrics.delivery_attempt(REFUSED)  # once per round that could not log in: no message was tried
        report.waiting_note = f"not sent: {error}"
        noted = await asyncio.to_thread(note_on_due_rows, app, report.waiting_note)
        log.error("delivery refused by the server", extra=fields(server=error.server, error=error.reason, hint=error.hint,
                                                                 waiting=noted))
    except DeliveryError as error:
        report.server_unreachable = str(error)
        app.metrics.delivery_attempt(UNREACHABLE)  # once per round that could not connect
        report.waiting_note = f"not sent yet: {error}"
        noted = await asyncio.to_thread(note_on_due_rows, app, report.waiting_note)
        log.warning("delivery postponed: server unreachable", extra=fields(error=str(error), waiting=noted))
    return report


def _has_due(app: App, skipped: Collection[int]) -> bool:
    with app.sessions() as session:
        return has_due(session, app.clock.now(), skipped)


class _Round:
    """The sessions of one round pulling from one queue of claimed rows; ends on the first sign the server is gone."""

    def __init__(self, app: App, report: DeliveryReport, linger: Linger, skipped: set[int] | None) -> None:
        self._app = app
        self._report = report
        self._linger = linger
        self._skipped = skipped
        self._claimed: deque[Claimed] = deque()
        self._sent: list[Sent] = []
        self._claiming = asyncio.Lock()
        self._spare: list[Transport] = []
        self._helpers: list[asyncio.Task[None]] = []
        self._over = False
        self._ended_by: Exception | None = None  # a lost server (re-login failed) or a database that stayed away

    async def run(self, first: Transport, spare: Sequence[Transport]) -> None:
        self._spare = list(spare)
        try:
            await self._work(first)
            while self._helpers:  # a helper may still be finishing its message
                await self._helpers.pop()
        finally:
            self._over = True
            await asyncio.gather(*self._helpers, return_exceptions=True)
            await self._flush()
            await _recorded(lambda: hand_back(self._app, self._claimed))
        if self._ended_by is not None:
            raise self._ended_by

    async def _work(self, transport: Transport) -> None:
        try:
            while (claimed := await self._next()) is not None:
                await self._deliver(transport, claimed)
        except Exception as error:  # noqa: BLE001 - ends the round for every session; run() raises it
            self._end(error)

    def _end(self, error: Exception | None = None) -> None:
        self._over = True
        if error is not None and self._ended_by is None:
            self._ended_by = error

    async def _next(self) -> Claimed | None:
        """The next row to send, claiming a batch when none is left; None when the round is over."""
        async with self._claiming:
            while not self._claimed and not self._is_over():
                skipped = tuple(self._skipped or ())  # a copy for the thread: sessions add to the set meanwhile
                sent, self._sent = self._sent, []  # recorded in the claim's transaction: one wait for the lock
                try:
                    batch = await _recorded(lambda: claim_due(self._app, self._app.clock.now(), DEEP_CLAIM, skipped, sent))
                except BaseException:
                    self._sent = sent + self._sent  # not recorded: the round's last flush tries them again
                    raise
                self._count_sent(sent)
                if batch:
                    self._claimed.extend(batch)
                elif not await self._linger.more():
                    self._end()
            if self._is_over():
                return None
            claimed = self._claimed.popleft()
            if self._claimed and self._spare:
                self._helpers.append(asyncio.create_task(self._help(self._spare.pop(0))))  # rows wait: one more session
            return claimed

    def _is_over(self) -> bool:
        if self._linger.stopping():
            self._over = True
        return self._over

    async def _help(self, transport: Transport) -> None:
        """A further session; one that cannot be opened is left out (the round goes on with those it has)."""
        try:
            async with transport:
                await self._work(transport)  # never raises: what ends a session ends the round (`_end`)
        except (DeliveryError, ServerRefused) as error:
            log.warning("an extra SMTP session could not be opened; sending with fewer", extra=fields(error=str(error)))

    async def _deliver(self, transport: Transport, claimed: Claimed) -> None:
        failure, refused = await _send(transport, claimed)
        if failure is None:
            self._sent.append(Sent(claimed, self._app.clock.now(), refused))
            if len(self._sent) >= RECORD_BATCH:
                await self._flush()
            return
        outcome = await _recorded(lambda: record_failed(self._app, claimed, failure))
        self._count(outcome)
        if outcome == "retry" and self._skipped is not None:
            self._skipped.add(claimed.row_id)
        if failure.during_data:
            # Lost on this message, not before it: the others go on in a new session. If even the new session
            # cannot be had, the server is down and the round ends as unreachable (deliver_due's DeliveryError).
            await transport.reconnect()
        elif failure.connection:
            self._report.server_unreachable = str(failure)
            self._end()

    async def _flush(self) -> None:
        sent, self._sent = self._sent, []
        if sent:
            await _recorded(lambda: record_sent(self._app, sent))
            self._count_sent(sent)

    def _count_sent(self, sent: list[Sent]) -> None:
        for _ in sent:
            self._count(SENT)

    def _count(self, outcome: str) -> None:
        self._report.outcomes[outcome] += 1
        self._app.metrics.delivery_attempt(outcome)


async def _send(transport: Transport, claimed: Claimed) -> tuple[DeliveryError | None, str | None]:
    """(the failure, None) or (None, the recipients refused while the others were accepted)."""
    try:
        await transport.send(claimed.parcel)
    except PartialDelivery as refused:
        return None, str(refused)
    except DeliveryError as error:
        return error, None
    except Exception as error:  # noqa: BLE001 - e.g. an address aiosmtplib cannot encode: retrying cannot help
        return DeliveryError(f"unsendable: {type(error).__name__}: {error}", permanent=True), None
    return None, None


async def _recorded(record: Callable[[], T]) -> T:
    """Write a delivery's result (in a thread: the sessions go on), riding out a short database outage.

    Giving up at once would leave the rows leased as "sending" until SENDING_LEASE runs out, and then send them
    again: a few quick retries keep the receipt exact in the common case of a connection that is replaced.
    """
    for delay in RECORD_RETRY_DELAYS:
        try:
            return await asyncio.to_thread(record)
        except (OperationalError, InterfaceError) as error:
            log.warning("recording a delivery result failed; retrying",
                        extra=fields(error=str(error).splitlines()[0], retry_in_seconds=delay))
            await asyncio.sleep(delay)
    return await asyncio.to_thread(record)
