"""The service loop: ingest and wait for mail (IDLE or polling), with delivery and scheduled jobs beside it.

The mailbox connection belongs to the main loop only; scheduled jobs that need it (the catch-up sweep) ask
the loop through a flag. Jobs that need only the database run in the scheduler's thread. Delivery has a thread
of its own, woken when queued replies commit (whoever queued them), so ingest never stops to deliver.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import InterfaceError, OperationalError

from mailbot.delivery.background import OnceDelivery, OutboxSignal, deliver_lingering, outbox_commits_signalled
from mailbot.delivery.outbox import DeliveryReport, build_transports, deliver_due
from mailbot.errors import ServerRefused
from mailbot.logs import fields
from mailbot.app import App
from mailbot.alerts.tam_meetings import tam_meeting_sweep
from mailbot.cases.inactivity import inactivity_sweep
from mailbot.retention.purge import retention_purge
from mailbot.sla.escalations import escalation_sweep
from mailbot.sla.monthly_mail import send_monthly_report
from mailbot.intake.ingest import OUTAGES, IngestReport, Ingestor
from mailbot.runtime.health import start_health
from mailbot.runtime.readiness import MailboxWatch, longest_quiet_seconds
from mailbot.runtime.exit_codes import EXIT_MAILBOX_UNREADABLE, EXIT_OK, EXIT_REFUSED, EXIT_UNDELIVERED
from mailbot.runtime.refusals import Refusals
from mailbot.sources.base import MailSource, SourceUnavailable
from mailbot.sources.factory import build_source
from mailbot.sources.partition import WHOLE, Partition

log = logging.getLogger(__name__)
OUTBOX_RETRY_SECONDS = 15.0
LIFECYCLE_SECONDS = 300.0  # inactivity reminders and closures are due in business days: minutes do not matter


@dataclass
class RunSummary:
    ingest: IngestReport = field(default_factory=IngestReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    lifecycle: Counter[str] = field(default_factory=Counter)
    mailbox_unreadable: str | None = None  # why the mailbox could not be read this time
    refused: ServerRefused | None = None

    @property
    def exit_code(self) -> int:
        """The most urgent first: a refusal needs the operator, then unread mail, then mail not delivered."""
        if self.refused or self.delivery.refused:
            return EXIT_REFUSED
        if self.mailbox_unreadable:
            return EXIT_MAILBOX_UNREADABLE
        if self.delivery.undelivered:
            return EXIT_UNDELIVERED
        return EXIT_OK


def deliver_once(app: App) -> DeliveryReport:
    """One round over what is due now (the CLI's `outbox retry`, `alerts send`)."""
    return asyncio.run(deliver_due(app, build_transports(app.settings, app.delivery_credentials)))


def run_once(app: App, stop: threading.Event | None = None, partition: Partition = WHOLE) -> RunSummary:
    """Handle all waiting mail (plus a catch-up sweep) and deliver the outbox meanwhile; no retries (cron runs it again).

    With `partition`, only that worker's share of the mailbox; the case sweeps are the first worker's alone.
    """
    stop = stop or threading.Event()
    summary = RunSummary()
    signal = OutboxSignal()
    with outbox_commits_signalled(app.engine, signal):
        delivery = OnceDelivery(app, signal).start()
        try:
            read_mailbox_and_sweep(app, stop, summary, partition)
        finally:
            summary.delivery = delivery.finish()  # drained: what ingest and the sweeps queued has been tried
    return summary


def read_mailbox_and_sweep(app: App, stop: threading.Event, summary: RunSummary, partition: Partition = WHOLE) -> None:
    try:
        read_mailbox_once(app, stop, summary, partition)
    except ServerRefused as error:
        summary.refused = error
        log.error("mailbox refused us", extra=fields(server=error.server, error=error.reason, hint=error.hint))
    except SourceUnavailable as error:
        summary.mailbox_unreadable = str(error)
        log.error("mailbox unavailable", extra=fields(error=str(error)))
    if partition.is_first:
        summary.lifecycle = inactivity_sweep(app)
        summary.lifecycle.update(escalation_sweep(app))
        summary.lifecycle.update(tam_meeting_sweep(app))
        summary.lifecycle.update(retention_purge(app))


def read_mailbox_once(app: App, stop: threading.Event, summary: RunSummary, partition: Partition = WHOLE) -> None:
    source = build_source(app.settings, app.sessions, app.source_credentials, partition, app.clock)
    ingestor = Ingestor(app)
    try:
        summary.ingest.outcomes.update(ingestor.ingest(source, stop).outcomes)
        if not stop.is_set():
            summary.ingest.outcomes.update(ingestor.ingest(source, stop, sweep=True).outcomes)
    finally:
        source.close()


class Service:
    """`mailbot run`: runs until `stop` is set (SIGTERM/SIGINT), finishing the message in hand.

    With `partition` (one of `mailbot run --workers N`), it reads only that share of the mailbox; the first
    worker alone serves the health endpoint and runs the jobs that only touch the database (each worker still
    delivers the outbox and sweeps its own share).
    """

    def __init__(self, app: App, stop: threading.Event, partition: Partition = WHOLE) -> None:
        self._app = app
        self._stop = stop
        self._partition = partition
        self._wake = threading.Event()
        self._sweep_due = threading.Event()
        self._ingestor = Ingestor(app)
        self._scheduler = BackgroundScheduler(timezone="UTC")
        service = app.settings.service
        self._refusals = Refusals(service.refused_tries, service.refused_retry_seconds)
        self._delivery_failures = 0  # delivery rounds in a row that found the SMTP server down
        self._delivery_resumes_at = 0.0  # wall clock: while the server is down, no round before this paced retry
        self._outbox_signal = OutboxSignal()
        self._delivery = threading.Thread(target=self._delivery_loop, name="delivery", daemon=True)
        self._mailbox_watch = MailboxWatch(longest_quiet_seconds(app.settings.source),
                                           app.settings.health.ready_margin_seconds, time.time())

    def run(self) -> int:
        """Returns the exit code: 0 after a requested stop, EXIT_REFUSED when a server kept refusing us."""
        # Binds health.listen first: a port in use stops us here.
        health = start_health(self._app, self._mailbox_watch) if self._partition.is_first else None
        source = build_source(self._app.settings, self._app.sessions, self._app.source_credentials, self._partition,
                              self._app.clock)
        self._start_jobs()
        log.info("service started", extra=fields(source=source.key))
        try:
            with outbox_commits_signalled(self._app.engine, self._outbox_signal):
                self._delivery.start()
                try:
                    self._loop(source)
                finally:
                    self._scheduler.shutdown(wait=True)
                    self.request_stop()
                    self._delivery.join()  # its sessions finish the message in hand
        finally:
            source.close()
            if health is not None:
                health.stop()
        if self._refusals.fatal is not None:
            error = self._refusals.fatal
            log.critical("giving up: a server keeps refusing us", extra=fields(
                server=error.server, error=error.reason, hint=error.hint, tries=self._refusals.tries))
            return EXIT_REFUSED
        log.info("service stopped")
        return EXIT_OK

    def _loop(self, source: MailSource) -> None:
        failures = 0
        down_since: float | None = None
        while not self._stop.is_set():
            try:
                self._round(source)
            except ServerRefused as error:
                self._refused("mailbox", error)
                continue
            except (SourceUnavailable, *OUTAGES) as error:
                down_since = down_since or time.monotonic()
                self._sleep(self._outage_delay(failures, error))
                failures += 1
                continue
            except Exception as error:  # noqa: BLE001 - a bug must not end the service: say so loudly, back off
                log.exception("mail round failed unexpectedly; retrying", extra=fields(error=str(error)[:500]))
                self._sleep(self._outage_delay(failures, error))
                failures += 1
                continue
            self._refusals.clear("mailbox")
            if down_since is not None:
                log.info("mailbox and database reachable again",
                         extra=fields(source=source.key, outage_seconds=round(time.monotonic() - down_since, 1)))
            failures, down_since = 0, None

    def _outage_delay(self, failures: int, error: Exception) -> float:
        """Capped exponential backoff; only the first failure of an outage is a warning, the rest is quiet."""
        service = self._app.settings.service
        delay = min(service.reconnect_initial_seconds * 2 ** failures, service.reconnect_max_seconds)
        level = logging.WARNING if failures == 0 else logging.DEBUG
        log.log(level, "unavailable; retrying quietly until it is back",
                extra=fields(error=str(error).splitlines()[0], retry_in_seconds=delay, attempt=failures + 1))
        return delay

    def _refused(self, connection: str, error: ServerRefused) -> None:
        count = self._refusals.record(connection, error)
        log.error("refused by the server", extra=fields(
            server=error.server, error=error.reason, hint=error.hint, attempt=count, give_up_after=self._refusals.tries))
        if self._refusals.fatal is not None:
            self.request_stop()
            return
        self._sleep(self._app.settings.service.refused_retry_seconds)

    def _round(self, source: MailSource) -> None:
        """One round, watched for /readyz: a round that raises means the mailbox (or the database) is failing."""
        try:
            self._read_and_wait(source)
        except Exception as error:
            self._mailbox_watch.failed(time.time(), error)
            raise

    def _read_and_wait(self, source: MailSource) -> None:
        self._wake.clear()  # before looking: a stop or a wake-up after this point is never lost
        sweep = self._sweep_due.is_set()
        self._sweep_due.clear()
        report = self._ingestor.ingest(source, self._stop, sweep=sweep)
        if sweep and not self._stop.is_set():
            report.outcomes.update(self._ingestor.ingest(source, self._stop).outcomes)
        read_at = time.time()
        self._mailbox_watch.read(read_at)
        self._app.metrics.mailbox_read(read_at)
        if report.total:
            log.info("mail handled", extra=fields(source=source.key, **dict(report.outcomes)))
        if report.new_work:
            self._wake_delivery()  # already woken by the commits; this also covers a wake-up lost with a connection
            return  # mail may have arrived meanwhile: look again before waiting
        if self._stop.is_set() or self._sweep_due.is_set():
            return
        source.wait_for_mail(self._sweep_interval(), self._wake)

    def _wake_delivery(self) -> None:
        self._outbox_signal.notify()

    def _delivery_loop(self) -> None:
        """The delivery thread: a round whenever replies were queued (or the outbox job ticks), one at a time."""
        while not self._stop.is_set():
            self._deliver()
            self._outbox_signal.wait(None)

    def _deliver(self) -> None:
        if not self._refusals.may_try("delivery"):
            return  # refused a moment ago: the next spaced try comes from the outbox job
        if time.time() < self._delivery_resumes_at:
            return  # the server was down: the paced retry's job wakes delivery, replies queued meanwhile wait for it
        try:
            report = deliver_lingering(self._app, self._outbox_signal, self._stop)
        except (OperationalError, InterfaceError) as error:
            log.warning("outbox delivery postponed: database unavailable", extra=fields(error=str(error).splitlines()[0]))
            return
        except Exception:  # noqa: BLE001 - delivery trouble must not stop the intake of mail
            log.exception("outbox delivery failed; will try again")
            return
        self._pace_delivery_retry(report)
        if report.refused is not None:
            count = self._refusals.record("delivery", report.refused)
            log.error("delivery refused", extra=fields(server=report.refused.server, attempt=count,
                                                       give_up_after=self._refusals.tries))
            if self._refusals.fatal is not None:
                self.request_stop()
            return
        if report.outcomes:
            self._refusals.clear("delivery")
            log.info("outbox delivered", extra=fields(**dict(report.outcomes)))

    def _pace_delivery_retry(self, report: DeliveryReport) -> None:
        """While the SMTP server is down, try again after a capped backoff rather than at the next outbox tick."""
        if report.server_unreachable is None:
            self._delivery_failures = 0
            return
        service = self._app.settings.service
        delay = min(service.reconnect_initial_seconds * 2 ** self._delivery_failures, service.reconnect_max_seconds)
        self._delivery_failures += 1
        if not self._stop.is_set():
            # The scheduler runs on the wall clock, not on the app's (possibly fixed) policy clock.
            resume_at = datetime.now(timezone.utc) + timedelta(seconds=delay)
            self._delivery_resumes_at = resume_at.timestamp()
            self._scheduler.add_job(self._wake_delivery, "date", run_date=resume_at, id="outbox_reconnect",
                                    replace_existing=True)

    def _start_jobs(self) -> None:
        self._scheduler.add_job(  # retries that fell due
            self._wake_delivery, "interval", seconds=OUTBOX_RETRY_SECONDS, id="outbox", max_instances=1, coalesce=True
        )
        self._scheduler.add_job(
            self._request_sweep, "interval", seconds=self._sweep_interval(), id="sweep", max_instances=1, coalesce=True
        )
        if self._partition.is_first:
            self._start_database_jobs()
        self._scheduler.start()
        self._sweep_due.set()  # a first sweep at start-up catches what a crash left half done

    def _start_database_jobs(self) -> None:
        """Jobs over cases and the database only: one worker runs them, the others would only wait on its locks."""
        self._scheduler.add_job(
            self._case_lifecycle, "interval", seconds=LIFECYCLE_SECONDS, id="case_lifecycle", max_instances=1, coalesce=True
        )
        self._scheduler.add_job(
            self._sla_escalation, "interval", seconds=self._app.settings.escalation.sweep_seconds, id="sla_escalation",
            max_instances=1, coalesce=True,
        )
        self._scheduler.add_job(  # meetings fall due on dates: the lifecycle's few minutes are early enough
            self._tam_meetings, "interval", seconds=LIFECYCLE_SECONDS, id="tam_meetings", max_instances=1, coalesce=True,
        )
        self._scheduler.add_job(
            self._monthly_report, "cron", day=1, hour=7, id="sla_monthly_report", max_instances=1, coalesce=True,
            timezone=self._app.settings.support.default_timezone,
        )
        self._scheduler.add_job(  # purges are due in days: an hourly look is plenty
            self._retention_purge, "interval", seconds=self._app.settings.retention.purge_interval_seconds,
            id="retention_purge", max_instances=1, coalesce=True,
        )

    def _case_lifecycle(self) -> None:
        self._run_job("case lifecycle", inactivity_sweep)

    def _sla_escalation(self) -> None:
        self._run_job("SLA escalations", escalation_sweep)

    def _tam_meetings(self) -> None:
        self._run_job("TAM meeting reminders", tam_meeting_sweep)

    def _retention_purge(self) -> None:
        self._run_job("retention purge", retention_purge)

    def _monthly_report(self) -> None:
        self._run_job("monthly SLA report", lambda app: Counter(queued=send_monthly_report(app)))

    def _run_job(self, name: str, job: Callable[[App], Counter[str]]) -> None:
        """A scheduled job never dies (it runs again at its next interval); what it queued goes out at once."""
        try:
            done = +job(self._app)
        except Exception:  # noqa: BLE001
            log.exception(f"{name} job failed")
            return
        if done:
            log.info(name, extra=fields(**dict(done)))
            self._wake_delivery()

    def _request_sweep(self) -> None:
        self._sweep_due.set()
        self._wake.set()

    def _sweep_interval(self) -> float:
        return self._app.settings.source.sweep_interval_seconds

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._outbox_signal.notify()

