"""`mailbot run [--once]`: the service (IDLE or polling, delivery, scheduled jobs), or one round of it for cron."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Callable

from mailbot.config import ConfigError, runtime_problems
from mailbot.entrypoints.commands.workers import add_worker_arguments, check_sharing, run_workers
from mailbot.entrypoints.shared import app_from, settings_from
from mailbot.logs import fields
from mailbot.outbound.samples import template_problems
from mailbot.runtime.runner import Service, run_once
from mailbot.runtime.workers import stop_when_parent_ends
from mailbot.sources.partition import Partition

log = logging.getLogger("mailbot")


def add_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--once", action="store_true", help="handle waiting mail, deliver the outbox, exit")
    add_worker_arguments(run)
    run.set_defaults(handler=cmd_run)


def cmd_run(arguments: argparse.Namespace) -> int:
    settings, path = settings_from(arguments)
    problems = runtime_problems(settings, path) + template_problems(settings, path)
    if problems:
        raise ConfigError(problems)
    check_sharing(settings, path, arguments)
    if arguments.workers == 1:
        return run_share(arguments, arguments.partition)
    app_from(arguments).dispose()  # the schema is checked once, here, before the workers are forked
    parent = os.getpid()
    return run_workers(arguments, lambda share: run_share(arguments, share, parent), install_stop_handlers)


def run_share(arguments: argparse.Namespace, partition: Partition, parent_pid: int | None = None) -> int:
    """`mailbot run [--once]` on one share of the mailbox (the whole of it by default); in a worker, `parent_pid`."""
    app = app_from(arguments)
    stop = threading.Event()
    try:
        if arguments.once:
            install_stop_handlers(stop.set)
            stop_when_parent_ends(stop.set, parent_pid)
            summary = run_once(app, stop, partition)
            log.info("run complete", extra=fields(**dict(summary.ingest.outcomes), **{f"outbox_{k}": v for k, v in summary.delivery.outcomes.items()},
                                                  exit_code=summary.exit_code))
            return summary.exit_code
        service = Service(app, stop, partition)
        install_stop_handlers(service.request_stop)
        stop_when_parent_ends(service.request_stop, parent_pid)
        return service.run()
    finally:
        app.dispose()


def install_stop_handlers(request_stop: Callable[[], None]) -> None:
    def on_signal(signum: int, _frame: object) -> None:
        log.info("stop requested; finishing the message in hand", extra=fields(signal=signal.Signals(signum).name))
        request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
