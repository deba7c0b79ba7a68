"""Delivery beside ingest: a thread of its own, woken when a transaction that queued outbox rows has committed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from mailbot.app import App
from mailbot.delivery.claims import CLAIM_BATCH, due_count, note_on_due_rows
from mailbot.delivery.outbox import DeliveryReport, Linger, build_transports, deliver_due

LINGER_SECONDS = 1.0  # `mailbot run`: sessions stay this long after the last row, for the next reply of a burst
WAKE_CHECK_SECONDS = 1.0  # a sleeping deliverer looks anyway this often (a wake-up lost to a dead connection)
_OUTBOX_INSERT = "INSERT INTO outbox"
_WRITTEN, _COMMITTED = "mailbot_outbox_written", "mailbot_outbox_committed"


class OutboxSignal:
    """Set when rows were queued; the deliverer waits on it. Thread-safe."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None) -> bool:
        """True when notified (since the last wait), False after `timeout`."""
        woken = self._event.wait(timeout)
        self._event.clear()  # rows committed before a notify that lands after this are seen by the claim that follows
        return woken


@contextmanager
def outbox_commits_signalled(engine: Engine, signal: OutboxSignal) -> Iterator[None]:
    """Notify `signal` whenever a transaction that inserted outbox rows has committed, whoever wrote them.

    Watched on the connections, not in the ingest code: ingest, scheduled jobs and alerts all wake delivery,
    through the ORM or Core. The wake comes when the connection returns to the pool, after its commit: one
    sent at the commit itself could let a claimer look before the rows are visible (PostgreSQL) and sleep.
    """

    def on_execute(connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith(_OUTBOX_INSERT):
            connection.info[_WRITTEN] = True

    def on_commit(connection: Any) -> None:
        if connection.info.pop(_WRITTEN, False):
            connection.info[_COMMITTED] = True

    def on_rollback(connection: Any) -> None:
        # A connection lost mid-transaction (server restart, pg_terminate_backend) is rolled back invalidated: its
        # info went with it, and touching it would raise out of the rollback and leave the session unusable.
        if not connection.invalidated:
            connection.info.pop(_WRITTEN, None)

    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_COMMITTED, False):
            signal.notify()

    listeners = [(engine, "after_cursor_execute", on_execute), (engine, "commit", on_commit),
                 (engine, "rollback", on_rollback), (engine.pool, "checkin", on_checkin)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def deliver_lingering(app: App, signal: OutboxSignal, stop: threading.Event) -> DeliveryReport:
    """`mailbot run`: a round whose sessions wait LINGER_SECONDS for more replies before they close."""

    async def more() -> bool:
        return await asyncio.to_thread(signal.wait, LINGER_SECONDS) and not stop.is_set()

    return asyncio.run(deliver_due(app, build_transports(app.settings, app.delivery_credentials),
                                   Linger(more=more, stopping=stop.is_set)))


class OnceDelivery:
    """`run --once`: delivery that starts while ingest is still going, and is drained by `finish`.

    It starts once a claim's worth of replies is waiting (a round trip per batch; a small run delivers at its
    end), then keeps pace until `finish`. As before, a run tries each row once (cron's schedule is the retry)
    and makes one try to reach the server: a round that could not, ends delivery for this run.
    """

    def __init__(self, app: App, signal: OutboxSignal) -> None:
        self._app = app
        self._signal = signal
        self._finished = threading.Event()
        self._report = DeliveryReport()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)

    def start(self) -> "OnceDelivery":
        self._thread.start()
        return self

    def finish(self) -> DeliveryReport:
        """Wait for the outbox to be delivered; raises what delivery raised (a database outage)."""
        self._finished.set()
        self._signal.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._report.waiting_note:  # replies queued after the round that could not connect hear why too
            note_on_due_rows(self._app, self._report.waiting_note)
        return self._report

    def _run(self) -> None:
        try:
            asyncio.run(self._deliver_all())
        except BaseException as error:  # noqa: BLE001 - handed to the caller by finish()
            self._error = error

    async def _deliver_all(self) -> None:
        tried: set[int] = set()
        while True:
            await asyncio.to_thread(self._wait_for_batch, tuple(tried))
            final = self._finished.is_set()
            transports = build_transports(self._app.settings, self._app.delivery_credentials)
            self._report.add(await deliver_due(self._app, transports, Linger(more=lambda: self._more(tried)), tried))
            if final or self._report.server_unreachable or self._report.refused:
                return

    async def _more(self, tried: set[int]) -> bool:
        if self._finished.is_set():
            return False  # the claim just found nothing left, and nothing more will be queued
        await asyncio.to_thread(self._wait_for_batch, tuple(tried))  # a copy: the sessions add to `tried` meanwhile
        return True

    def _wait_for_batch(self, tried: tuple[int, ...]) -> None:
        """Until CLAIM_BATCH rows are due or ingest has finished."""
        while not self._finished.is_set():
            with self._app.sessions() as session:
                if due_count(session, self._app.clock.now(), CLAIM_BATCH, tried) >= CLAIM_BATCH:
                    return
            self._signal.wait(WAKE_CHECK_SECONDS)
