"""Cost of one catch-up sweep of a Maildir's cur/ as its history of handled files grows (100 to 20,000).

    .venv/bin/python -m benchmarks.maildir_sweep

For each size: the database checks ("already recorded?") and file reads a sweep makes, and its time, for
the first sweep of a new process (`run --once` from cron, or a restart) and for a later sweep in the same
process (`mailbot run`). The check is an indexed SQLite lookup (the raw driver, so cheaper than the bot's
ORM query); each sweep also finds the one file a mail client moved to cur/ since the last. Counts are
exact; times are the best of a few rounds on a shared machine.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path

from mailbot.db.checkpoints import Position
from mailbot.sources.maildir import MaildirSource

SIZES = (100, 1_000, 5_000, 20_000)
ROUNDS = 3
FILE_CLOCK_TICK = 0.05  # file times come from the kernel's coarse clock
MESSAGE = b"From: ana@acme.test\nSubject: handled\n\nhandled long ago\n"


class RecordedLookup:
    """The inbound log's "is this file recorded?" as an indexed SQLite lookup, counting calls."""

    def __init__(self, refs: list[str]) -> None:
        self._db = sqlite3.connect(":memory:")
        self._db.execute("CREATE TABLE inbound (source TEXT, source_ref TEXT, PRIMARY KEY (source, source_ref))")
        self._db.executemany("INSERT INTO inbound VALUES ('m', ?)", [(ref,) for ref in refs])
        self.asked = 0

    def __call__(self, key: str, source_ref: str) -> bool:
        self.asked += 1
        return self._db.execute("SELECT 1 FROM inbound WHERE source = 'm' AND source_ref = ?", (source_ref,)).fetchone() is not None

    def record(self, ref: str) -> None:
        self._db.execute("INSERT INTO inbound VALUES ('m', ?)", (ref,))


def handled_maildir(root: Path, count: int) -> list[str]:
    for folder in ("tmp", "new", "cur"):
        (root / folder).mkdir(parents=True)
    refs = [f"{1_700_000_000 + n}.M{n}P1.host" for n in range(count)]
    for ref in refs:
        (root / "cur" / f"{ref}:2,S").write_bytes(MESSAGE)
    return refs


def client_moves_one(root: Path, name: str) -> None:
    (root / "new" / name).write_bytes(MESSAGE)
    os.replace(root / "new" / name, root / "cur" / f"{name}:2,S")
    time.sleep(FILE_CLOCK_TICK)


def timed_sweep(source: MaildirSource, records: RecordedLookup) -> tuple[float, int, int]:
    """(milliseconds, database checks, files read) of one complete sweep; what it finds is recorded."""
    records.asked = 0
    started = time.perf_counter()
    found = [mail.source_ref for mail in source.sweep(Position(0, 0))]
    elapsed = (time.perf_counter() - started) * 1000
    for ref in found:
        records.record(ref)
    time.sleep(FILE_CLOCK_TICK)
    return elapsed, records.asked, len(found)


def measure(count: int) -> tuple[tuple[float, int, int], tuple[float, int, int]]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        records = RecordedLookup(handled_maildir(root, count))
        list(MaildirSource(root, 1.0, records, 10**6).sweep(Position(0, 0)))  # the history was swept before
        time.sleep(FILE_CLOCK_TICK)
        restarts, steady = [], []
        running = MaildirSource(root, 1.0, records, 10**6)
        timed_sweep(running, records)  # this process's first sweep
        for round_number in range(ROUNDS):
            client_moves_one(root, f"restart{round_number}.M1.host")
            restarts.append(timed_sweep(MaildirSource(root, 1.0, records, 10**6), records))
            client_moves_one(root, f"steady{round_number}.M1.host")
            steady.append(timed_sweep(running, records))
        return min(restarts), min(steady)


def main() -> None:
    print(f"{'handled files':>13}  {'new process: ms, checks, reads':>32}  {'same process: ms, checks, reads':>33}")
    for count in SIZES:
        (first_ms, first_checks, first_reads), (later_ms, later_checks, later_reads) = measure(count)
        print(f"{count:>13}  {first_ms:>14.1f} {first_checks:>8} {first_reads:>8}  {later_ms:>15.1f} {later_checks:>8} {later_reads:>8}")


if __name__ == "__main__":
    main()
