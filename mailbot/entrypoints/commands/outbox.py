"""`mailbot outbox list|retry`: outgoing mail and its delivery state; failed messages given fresh attempts."""

from __future__ import annotations

import argparse

from mailbot.cases.views import list_outbox
from mailbot.db.engine import transaction
from mailbot.delivery.outbox import retry_failed
from mailbot.entrypoints.shared import app_from, show_rows
from mailbot.runtime.exit_codes import EXIT_OK
from mailbot.wording import counted

COLUMNS = ("id", "status", "attempts", "kind", "recipient", "case", "subject", "last_error")


def add_arguments(outbox: argparse.ArgumentParser) -> None:
    actions = outbox.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="outgoing messages, newest first")
    listing.add_argument("--status", action="append", default=[], help="pending, sending, sent, failed (repeatable)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_outbox_list)
    retry = actions.add_parser("retry", help="give failed messages a fresh set of attempts")
    retry.add_argument("ids", nargs="*", type=int, help="outbox ids (default: every failed message)")
    retry.set_defaults(handler=cmd_outbox_retry)


def cmd_outbox_list(arguments: argparse.Namespace) -> int:
    return show_rows(arguments, lambda session: list_outbox(session, tuple(arguments.status), arguments.limit), COLUMNS)


def cmd_outbox_retry(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    with transaction(app.sessions) as session:
        count = retry_failed(session, app.clock.now(), tuple(arguments.ids))
    app.dispose()
    print(f"{counted(count, 'failed message')} queued again")
    return EXIT_OK
