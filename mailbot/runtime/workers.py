"""`mailbot run --workers N`: N processes share one mailbox, each running the service on its share of the UIDs.

Each worker is what `mailbot run --partition I/N` (or `run --once --partition I/N`) runs, in a child process
forked once the configuration is read and the schema checked (before any connection or thread exists, so
nothing is shared but the database): its own IMAP connection, database pool and checkpoint, so both cores work
at once. Forking spares each worker the interpreter's start and imports (seconds of CPU on a busy machine). Exactly-once holds per message as with one process (its checkpoint row, and the
Message-ID unique in the inbound log); case numbers and quotas are serialised by their own row locks.

The parent only supervises: SIGTERM/SIGINT are passed on; in the service, a worker that ends stops the others
(the supervisor, systemd or the container runtime, restarts the whole set); the exit code is the most urgent
of the workers' codes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from mailbot.logs import fields
from mailbot.runtime.exit_codes import EXIT_FAILURE, EXIT_MAILBOX_UNREADABLE, EXIT_OK, EXIT_REFUSED, EXIT_UNDELIVERED
from mailbot.sources.partition import Partition

log = logging.getLogger(__name__)
RunShare = Callable[[Partition], int]  # runs the service (or run --once) on a share; returns its exit code
POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 60.0  # a worker finishing the message in hand; then it is killed (its message is retried)
# Least to most urgent; any other code (a crash, a killed worker, configuration, schema) is more urgent still.
URGENCY = (EXIT_OK, EXIT_UNDELIVERED, EXIT_MAILBOX_UNREADABLE, EXIT_REFUSED)


def most_urgent(codes: Sequence[int]) -> int:
    """The exit code of the set: the worst of its workers'; a worker killed by a signal counts as a failure."""
    def urgency(code: int) -> tuple[int, int]:
        return (URGENCY.index(code), 0) if code in URGENCY else (len(URGENCY), code)

    plain = [EXIT_FAILURE if code < 0 else code for code in codes]
    return max(plain, key=urgency, default=EXIT_OK)


def run_in_worker(run_share: RunShare, partition: Partition) -> None:
    """The forked child's whole life: its exit code is the share's."""
    raise SystemExit(run_share(partition))


@dataclass
class Worker:
    partition: Partition
    process: BaseProcess
    code: int | None = None

    def poll(self) -> int | None:
        if self.code is None and not self.process.is_alive():  # is_alive() reaps an ended child
            self.code = self.process.exitcode
        return self.code

    def send_signal(self, signum: int) -> None:
        if self.process.pid is not None:
            os.kill(self.process.pid, signum)


@dataclass
class Workers:
    """Starts one process per share and waits for them; `stop` (set by the signal handlers) stops them all."""

    shares: list[Partition]
    run_share: RunShare
    stop: threading.Event
    once: bool
    on_started: Callable[[], None] = lambda: None  # the parent's signal handlers: after the forks, not inherited
    clock: Callable[[], float] = time.monotonic
    _workers: list[Worker] = field(default_factory=list)
    _asked_to_stop: bool = False

    def run(self) -> int:
        forking = multiprocessing.get_context("fork")
        for partition in self.shares:
            process = forking.Process(target=run_in_worker, args=(self.run_share, partition),
                                      name=f"mailbot-worker-{partition.index}")
            process.start()
            self._workers.append(Worker(partition, process))
            log.info("worker started", extra=fields(worker=str(partition), pid=process.pid))
        self.on_started()
        try:
            self._supervise()
        finally:
            self._end_all()
        codes = [self._code_of(worker) for worker in self._workers]
        code = most_urgent(codes)
        log.info("workers stopped", extra=fields(codes=",".join(map(str, codes)), exit_code=code))
        return code

    def _code_of(self, worker: Worker) -> int:
        """A worker that our SIGTERM ended before it could handle it (still starting up) stopped as asked."""
        if worker.code == -signal.SIGTERM and self._asked_to_stop:
            return EXIT_OK
        return worker.code if worker.code is not None else EXIT_FAILURE

    def _supervise(self) -> None:
        stopping_since: float | None = None
        while any(worker.poll() is None for worker in self._workers):
            if stopping_since is None and (self.stop.is_set() or self._a_service_ended()):
                stopping_since = self.clock()
                self._signal_all(signal.SIGTERM)
            if stopping_since is not None and self.clock() - stopping_since > STOP_GRACE_SECONDS:
                log.warning("workers did not stop in time; killing them", extra=fields(grace_seconds=STOP_GRACE_SECONDS))
                self._signal_all(signal.SIGKILL)
                stopping_since = float("inf")  # killed: only wait now
            time.sleep(POLL_SECONDS)

    def _a_service_ended(self) -> bool:
        """A service worker that ended on its own (a crash, a refusal) takes the set down: run --once workers just finish."""
        if self.once:
            return False
        ended = [worker for worker in self._workers if worker.poll() is not None]
        for worker in ended:
            log.error("worker ended; stopping the others", extra=fields(worker=str(worker.partition), pid=worker.process.pid,
                                                                        exit_code=worker.code))
        return bool(ended)

    def _signal_all(self, signum: int) -> None:
        self._asked_to_stop = True
        for worker in self._workers:
            if worker.poll() is None:
                try:
                    worker.send_signal(signum)
                except ProcessLookupError:  # ended between the poll and the signal
                    pass

    def _end_all(self) -> None:
        """Nothing outlives the parent: an exception here still stops and reaps every child."""
        if all(worker.poll() is not None for worker in self._workers):
            return
        self._signal_all(signal.SIGTERM)
        deadline = self.clock() + STOP_GRACE_SECONDS
        while self.clock() < deadline and any(worker.poll() is None for worker in self._workers):
            time.sleep(POLL_SECONDS)
        self._signal_all(signal.SIGKILL)
        for worker in self._workers:
            worker.process.join()
            worker.code = worker.process.exitcode


def stop_when_parent_ends(request_stop: Callable[[], None], parent_pid: int | None,
                          interval: float = 1.0) -> threading.Thread | None:
    """In a worker of `--workers N`: stop (after the message in hand) once the parent is gone, even if it was killed.

    `parent_pid` None (a `--partition` unit started on its own) watches nothing.
    """
    if parent_pid is None:
        return None

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        log.warning("the parent of this worker ended; stopping", extra=fields(parent_pid=parent_pid))
        request_stop()

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
