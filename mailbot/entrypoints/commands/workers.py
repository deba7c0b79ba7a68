"""`mailbot run --workers N` and `--partition I/N`: the options, their checks, and starting the worker processes."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from mailbot.config import ConfigError, ImapSource, Settings
from mailbot.runtime.workers import RunShare, Workers
from mailbot.sources.partition import WHOLE, Partition, parse_partition


def add_worker_arguments(run: argparse.ArgumentParser) -> None:
    shares = run.add_mutually_exclusive_group()
    shares.add_argument("--workers", type=worker_count, default=1, metavar="N",
                        help="share the mailbox between N processes (PostgreSQL and IMAP only; default 1)")
    shares.add_argument("--partition", type=partition_argument, default=WHOLE, metavar="I/N",
                        help="handle only worker I's share of N (what each of --workers N runs; to run the "
                             "workers as separate units, start one with each I from 0 to N-1)")


def worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of workers, 1 or more")
    return int(text)


def partition_argument(text: str) -> Partition:
    try:
        return parse_partition(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def sharing_problems(settings: Settings, path: Path, count: int) -> list[str]:
    """Why this configuration cannot share its mailbox between `count` workers (none when it can, or count is 1)."""
    if count == 1:
        return []
    problems = []
    if make_url(settings.database.url).get_backend_name() != "postgresql":
        problems.append(f"{path}: database.url: {count} workers need PostgreSQL: SQLite has a single writer, so they "
                        "would only wait for each other; run one worker (leave out --workers)")
    if not isinstance(settings.source, ImapSource):
        problems.append(f"{path}: source.kind: {count} workers need an IMAP source (its UIDs are what they share); "
                        "a Maildir is read by one worker")
    return problems


def check_sharing(settings: Settings, path: Path, arguments: argparse.Namespace) -> None:
    count = arguments.workers if arguments.workers > 1 else arguments.partition.count
    problems = sharing_problems(settings, path, count)
    if problems:
        raise ConfigError(problems)


def run_workers(arguments: argparse.Namespace, run_share: RunShare,
                install_stop_handlers: Callable[[Callable[[], None]], None]) -> int:
    """Fork `arguments.workers` processes, each running `run_share` on its share, and wait for them all.

    The parent's own stop handlers are installed once the workers run (the set's `stop` is the parent's alone).
    """
    stop = threading.Event()
    shares = [Partition(index, arguments.workers) for index in range(arguments.workers)]
    return Workers(shares, run_share, stop, once=arguments.once, on_started=lambda: install_stop_handlers(stop.set)).run()
