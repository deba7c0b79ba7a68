"""What `mailbot run --once --workers N` gains on PostgreSQL: the same mailbox, 1 worker against 2, interleaved.

    .venv/bin/python -m benchmarks.workers                     # 2000 mixed messages, 1 and 2 workers, 1 round
    .venv/bin/python -m benchmarks.workers --rounds 3 --workers 1 2

Each run gets a fresh PostgreSQL database and a fresh Dovecot mailbox holding the same corpus, and is timed as an
operator runs it (the real command, process start-up included, delivery to a real SMTP server). "ingest" is the
moment the last inbound record is committed (the database is looked at every 0.1 s); "cpu" is the user + system
time of the command and its workers. Timings are noisy on a shared 2-core machine: compare figures of one run.

Less noisy than the clock: "lock waits" is the share of the bot's busy database connections (sampled from
pg_stat_activity every 20 ms while it ingests) that were waiting for a row lock another connection held.
`--instances 2` runs two plain `run --once` processes on the mailbox instead (what two instances did before
--workers: both lock one checkpoint row per message).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from benchmarks.corpus import ENGINEER, PRESETS, Corpus, directory_toml
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import cli_env, command
from tests.support.dovecot import DovecotServer
from tests.support.postgres import fresh_database
from tests.support.smtp_sink import SmtpSink

LOOK_EVERY_SECONDS = 0.1
SAMPLE_EVERY_SECONDS = 0.02
# What one of the bot's connections is doing, as pg_stat_activity tells (the sampler's own is left out).
ACTIVITY = text("SELECT CASE WHEN wait_event_type = 'Lock' THEN 'lock' WHEN state = 'active' THEN 'active'"
                " WHEN state LIKE 'idle in transaction%' THEN 'in_transaction' ELSE 'idle' END"
                " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")


@dataclass(frozen=True)
class Timing:
    workers: int
    messages: int
    ingest_seconds: float
    total_seconds: float
    cpu_seconds: float
    exit_code: int
    activity: Counter[str]  # pg_stat_activity samples of the bot's connections while it ingests

    @property
    def lock_wait_share(self) -> float:
        """Of the samples where a connection was in a transaction (running or not), those waiting for a lock."""
        busy = self.activity["lock"] + self.activity["active"] + self.activity["in_transaction"]
        return self.activity["lock"] / busy if busy else 0.0

    def line(self, label: str = "worker(s)") -> str:
        return (f"{self.workers} {label}  {self.messages} messages  ingest {self.ingest_seconds:6.2f} s"
                f" = {self.messages / self.ingest_seconds:4.0f}/s   end to end {self.total_seconds:6.2f} s"
                f" = {self.messages / self.total_seconds:4.0f}/s   cpu {1000 * self.cpu_seconds / self.messages:5.1f} ms/message"
                f"   lock waits {100 * self.lock_wait_share:4.1f}%   exit {self.exit_code}")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def inbound_count(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one())
    finally:
        engine.dispose()


def sample_activity(url: str, done: threading.Event, seen: Counter[str]) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            while not done.wait(SAMPLE_EVERY_SECONDS):
                seen.update(connection.execute(ACTIVITY).scalars())
                connection.rollback()  # a fresh snapshot of pg_stat_activity each time
    finally:
        engine.dispose()


def start_runs(config: Path, log: Path, workers: int, instances: int) -> list[subprocess.Popen[bytes]]:
    """`run --once --workers N`, or `instances` plain `run --once` processes side by side."""
    arguments = ["run", "--once"] if instances > 1 else ["run", "--once", "--workers", str(workers)]
    return [subprocess.Popen(command(config, *arguments), env=cli_env(), stdout=subprocess.DEVNULL,
                             stderr=log.open("ab")) for _ in range(max(instances, 1))]


def timed_run(dovecot: DovecotServer, sink: SmtpSink, corpus: list[bytes], workers: int, name: str,
              instances: int = 1) -> Timing:
    with fresh_database() as url, tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        user = dovecot.add_user(f"{name}@example.test")
        config = write_config(path, db_url=url, source=imap_source(dovecot, user, path, fetch_batch_size=200),
                              delivery=smtp_delivery(sink), limits={"auto_replies_per_sender_per_hour": 100000},
                              presets=PRESETS, directory=directory_toml(), engineers=[ENGINEER])
        prepared_app(config).dispose()
        client = dovecot.imap(user)
        for raw in corpus:
            client.append("INBOX", raw)
        client.logout()
        cpu_before, started = children_cpu(), time.perf_counter()
        processes = start_runs(config, path / "run.log", workers, instances)
        activity: Counter[str] = Counter()
        ingesting = threading.Event()
        sampler = threading.Thread(target=sample_activity, args=(url, ingesting, activity), daemon=True)
        sampler.start()
        ingested = None
        while any(process.poll() is None for process in processes):
            if ingested is None and inbound_count(url) >= len(corpus):
                ingested = time.perf_counter()
                ingesting.set()
            time.sleep(LOOK_EVERY_SECONDS)
        finished = time.perf_counter()
        ingesting.set()
        sampler.join()
        handled = inbound_count(url)
        return Timing(instances if instances > 1 else workers, handled, (ingested or finished) - started,
                      finished - started, children_cpu() - cpu_before, max(process.returncode for process in processes),
                      activity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1, help="repeat the set, interleaved, this many times")
    parser.add_argument("--instances", type=int, default=1, metavar="N",
                        help="also time N plain `run --once` processes on the mailbox (no --workers)")
    arguments = parser.parse_args()
    corpus = Corpus().round(arguments.count)  # the ingest benchmark's realistic mix
    timings: list[Timing] = []
    with DovecotServer() as dovecot, SmtpSink() as sink:
        for round_number in range(arguments.rounds):
            for workers in arguments.workers:
                timing = timed_run(dovecot, sink, corpus, workers, f"bench-{round_number}-{workers}")
                print(timing.line(), flush=True)
                timings.append(timing)
            if arguments.instances > 1:
                plain = timed_run(dovecot, sink, corpus, 1, f"bench-{round_number}-instances", arguments.instances)
                print(plain.line("plain instances (no --workers)"), flush=True)
    for workers in arguments.workers:
        mine = [timing for timing in timings if timing.workers == workers]
        if not mine:
            continue
        print(f"{workers} worker(s): median end to end {statistics.median(t.messages / t.total_seconds for t in mine):.0f}"
              f" messages/s, median ingest {statistics.median(t.messages / t.ingest_seconds for t in mine):.0f} messages/s")


if __name__ == "__main__":
    main()
