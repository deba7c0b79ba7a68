"""Ingest throughput and IDLE latency on real Dovecot + a real SMTP server + SQLite (or --db URL).

    .venv/bin/python -m benchmarks.ingest                    # 2 rounds of 5,000 realistic messages, `run --once` each
    .venv/bin/python -m benchmarks.ingest --count 20000 --rounds 1
    .venv/bin/python -m benchmarks.ingest --db postgresql+psycopg://127.0.0.1/bench
    .venv/bin/python -m benchmarks.ingest --idle 50          # `mailbot run` in IDLE: arrival -> ack latency
    .venv/bin/python -m benchmarks.ingest --count 20000 --backlog-memory   # peak RSS of `run --once`, its own process

Each round appends its mail to the mailbox first (not timed), then times one `run --once` (ingest, the catch-up
sweep, the lifecycle sweeps and the delivery of every reply over SMTP) as cron would run it. The second round
goes into the database the first one grew, and answers the mail the bot sent in the first.

Figures: messages/s end to end, SQL statements per message by outcome (counted with SQLAlchemy's
before_cursor_execute on the ingest thread), CPU ms per message (the bot's process: the SMTP server runs in one of
its own, as a provider's does, and Dovecot too), peak RSS. Targets (issue 12, 2-core machine): >= 250 messages/s on SQLite with SMTP, >= 150 on
PostgreSQL, <= 6 statements per new-case message, CPU < 14 ms per message, peak RSS < 150 MB on a 20,000 backlog,
flat as the database grows; IDLE p95 < 1 s (Dovecot itself adds ~0.5 s before it notifies an idling client).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from benchmarks.corpus import ENGINEER, PRESETS, Corpus, Sent, directory_toml
from benchmarks.smtp_process import SmtpServerProcess
from mailbot.app import App
from mailbot.db.models import MailboxCheckpoint
from mailbot.intake.batch import Prepared
from mailbot.intake.ingest import Ingestor
from mailbot.runtime import runner
from mailbot.runtime.runner import Service, run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import cli_env, command
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink



class StatementCounter:
    """SQL statements sent on the current thread, through the engine's before_cursor_execute event."""

    def __init__(self, engine: Engine) -> None:
        self._local = threading.local()
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: object) -> None:
        self._local.count = self.count + 1

    @property
    def count(self) -> int:
        return getattr(self._local, "count", 0)


@contextmanager
def counted_ingest(counter: StatementCounter, by_outcome: dict[str, list[int]]) -> Iterator[None]:
    """`run --once` with an ingestor that notes each message's statements (with its savepoint's, if it has one) under its outcome;
    the batch's own (BEGIN, the checkpoint's lock and advance) are in the overall figure only."""

    class CountingIngestor(Ingestor):
        def _handle_one(self, session: Session, checkpoint: MailboxCheckpoint, source_key: str, item: Prepared,
                        later: list[Callable[[], None]], *, guarded: bool = True) -> str:
            before = counter.count
            outcome = super()._handle_one(session, checkpoint, source_key, item, later, guarded=guarded)
            by_outcome[outcome].append(counter.count - before)
            return outcome

    original = runner.Ingestor
    runner.Ingestor = CountingIngestor  # type: ignore[misc]
    try:
        yield
    finally:
        runner.Ingestor = original  # type: ignore[misc]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak since the last reset_peak_memory) of this process, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_memory() -> None:
    """Linux: the peak (VmHWM) starts again from the current RSS, so a round's own peak can be told."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def timed_round(app: App, counter: StatementCounter, label: str) -> float:
    by_outcome: dict[str, list[int]] = defaultdict(list)
    reset_peak_memory()
    resident_before = memory_mib("VmRSS")
    cpu, started, statements = cpu_seconds(), time.perf_counter(), counter.count
    with counted_ingest(counter, by_outcome):
        summary = run_once(app)
    elapsed, cpu, statements = time.perf_counter() - started, cpu_seconds() - cpu, counter.count - statements
    total = summary.ingest.total
    print(f"\n{label}: {total} messages  {dict(summary.ingest.outcomes)}")
    print(f"  end to end         {elapsed:.2f} s = {total / elapsed:.0f} messages/s"
          f"  ({summary.delivery.outcomes['sent']} replies sent over SMTP)")
    print(f"  CPU                {cpu * 1000 / max(total, 1):.1f} ms per message (the bot's process)")
    for outcome, counts in sorted(by_outcome.items()):
        print(f"  statements         {statistics.mean(counts):5.1f} per {outcome} message (max {max(counts)}, n={len(counts)})")
    print(f"  statements         {statements / max(total, 1):5.1f} per message overall (this thread: ingest, sweeps,"
          " and delivery when it runs here)")
    print(f"  peak memory (RSS)  {memory_mib('VmHWM'):.0f} MiB during the round, {resident_before:.0f} MiB at its start"
          " (the benchmark's corpus and the database rounds before it)")
    return total / elapsed


def append_all(dovecot: DovecotServer, user: str, mails: list[bytes]) -> None:
    client = dovecot.imap(user)
    for mail in mails:
        client.append("INBOX", mail)
    client.logout()


def throughput(count: int, rounds: int, db_url: str | None, messages_per_commit: int) -> None:
    with DovecotServer() as dovecot, SmtpServerProcess() as sink, tempfile.TemporaryDirectory() as folder:
        user = dovecot.add_user("bench@example.test")
        path = Path(folder)
        config = write_config(path, db_url=db_url or f"sqlite:///{path}/bench.db",
                              source=imap_source(dovecot, user, path, fetch_batch_size=200),
                              delivery=smtp_delivery(sink), limits={"auto_replies_per_sender_per_hour": 100000},
                              presets=PRESETS, directory=directory_toml(), engineers=[ENGINEER],
                              database={"url": db_url or f"sqlite:///{path}/bench.db", "messages_per_commit": messages_per_commit})
        app = prepared_app(config)
        counter = StatementCounter(app.engine)
        corpus = Corpus()
        print(f"database {app.engine.url.render_as_string(hide_password=True)}, {messages_per_commit} messages per commit")
        for number in range(1, rounds + 1):
            sent = Sent.read(sink.received()) if number > 1 else None
            append_all(dovecot, user, corpus.round(count, sent))
            timed_round(app, counter, f"round {number}" + (" (into the grown database)" if number > 1 else " (empty database)"))
        app.dispose()


def idle_latency(count: int) -> None:
    with DovecotServer() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as folder:
        user = dovecot.add_user("bench@example.test")
        path = Path(folder)
        config = write_config(path, db_url=f"sqlite:///{path}/bench.db", source=imap_source(dovecot, user, path),
                              delivery=smtp_delivery(sink), limits={"auto_replies_per_sender_per_hour": 100000})
        app = prepared_app(config)
        stop = threading.Event()
        service = Service(app, stop)
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        time.sleep(2)
        latencies = []
        for n in range(count):
            started = time.perf_counter()
            dovecot.append(user, customer_mail(subject=f"latency {n}"))
            sink.wait_for(n + 1, timeout=30)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.2)
        service.request_stop()
        thread.join(10)
        app.dispose()
        latencies.sort()
        print(f"IDLE arrival -> acknowledgment at the SMTP server, {count} messages")
        print(f"p50 {statistics.median(latencies) * 1000:.0f} ms   p95 {latencies[int(0.95 * (count - 1))] * 1000:.0f} ms"
              f"   max {latencies[-1] * 1000:.0f} ms")


def backlog_memory(count: int) -> None:
    """`mailbot run --once` as cron runs it, a process of its own, over a backlog of `count` messages: its peak RSS."""
    with DovecotServer() as dovecot, SmtpServerProcess() as sink, tempfile.TemporaryDirectory() as folder:
        user = dovecot.add_user("bench@example.test")
        path = Path(folder)
        db_url = f"sqlite:///{path}/bench.db"
        config = write_config(path, db_url=db_url, source=imap_source(dovecot, user, path, fetch_batch_size=200),
                              delivery=smtp_delivery(sink), limits={"auto_replies_per_sender_per_hour": 100000},
                              presets=PRESETS, directory=directory_toml(), engineers=[ENGINEER])
        prepared_app(config).dispose()
        append_all(dovecot, user, Corpus().round(count, None))
        started = time.perf_counter()
        with tempfile.TemporaryFile() as output:
            bot = subprocess.Popen(command(config, "run", "--once"), env=cli_env(), stdout=output, stderr=output)
            peak = watched_peak_mib(bot)
        elapsed = time.perf_counter() - started
        print(f"`mailbot run --once` over a backlog of {count}: exit {bot.returncode}, {elapsed:.1f} s"
              f" = {count / elapsed:.0f} messages/s, peak RSS {peak:.0f} MiB")


def watched_peak_mib(process: subprocess.Popen[bytes]) -> float:
    """The child's own peak RSS (VmHWM), read from /proc until it exits.

    Not getrusage(RUSAGE_CHILDREN): Linux carries the parent's peak RSS over a fork and exec into the child's
    ru_maxrss, so it reported this benchmark's corpus (290 MiB at 20,000 messages) as the bot's.
    VmHWM only grows; the last reading misses at most the final poll interval.
    """
    peak_kib = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, ValueError):
            pass  # exiting: the last reading stands
        time.sleep(0.05)
    return peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000, help="messages per round (default 5000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each into the database the last one grew")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file); PostgreSQL: an empty database")
    parser.add_argument("--messages-per-commit", type=int, default=20, help="database.messages_per_commit (default 20)")
    parser.add_argument("--idle", type=int, metavar="N", help="measure IDLE latency over N messages instead")
    parser.add_argument("--backlog-memory", action="store_true",
                        help="instead: peak RSS of `mailbot run --once` (its own process) over --count waiting messages")
    arguments = parser.parse_args()
    if arguments.idle:
        idle_latency(arguments.idle)
    elif arguments.backlog_memory:
        backlog_memory(arguments.count)
    else:
        throughput(arguments.count, arguments.rounds, arguments.db, arguments.messages_per_commit)


if __name__ == "__main__":
    main()
