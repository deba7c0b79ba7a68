"""`mailbot run [--once]`: the service (IDLE or polling, delivery, scheduled jobs), or one round of it for cron."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable

from mailbot.config import ConfigError, runtime_problems
from mailbot.entrypoints.shared import app_from, settings_from
from mailbot.logs import fields
from mailbot.outbound.samples import template_problems
from mailbot.runtime.runner import Service, run_once

log = logging.getLogger("mailbot")


def add_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--once", action="store_true", help="handle waiting mail, deliver the outbox, exit")
    run.set_defaults(handler=cmd_run)


def cmd_run(arguments: argparse.Namespace) -> int:
    settings, path = settings_from(arguments)
    problems = runtime_problems(settings, path) + template_problems(settings, path)
    if problems:
        raise ConfigError(problems)
    app = app_from(arguments)
    stop = threading.Event()
    try:
        if arguments.once:
            install_stop_handlers(stop.set)
            summary = run_once(app, stop)
            log.info("run complete", extra=fields(**dict(summary.ingest.outcomes), **{f"outbox_{k}": v for k, v in summary.delivery.outcomes.items()},
                                                  exit_code=summary.exit_code))
            return summary.exit_code
        service = Service(app, stop)
        install_stop_handlers(service.request_stop)
        return service.run()
    finally:
        app.dispose()


def install_stop_handlers(request_stop: Callable[[], None]) -> None:
    def on_signal(signum: int, _frame: object) -> None:
        log.info("stop requested; finishing the message in hand", extra=fields(signal=signal.Signals(signum).name))
        request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
