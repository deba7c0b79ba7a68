"""`mailbot inbound list|show`: every message the bot saw, its outcome and the rule that decided it."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from mailbot.cases.views import inbound_detail, list_inbound
from mailbot.entrypoints.shared import show_detail, show_rows
from mailbot.runtime.exit_codes import EXIT_USAGE

COLUMNS = ("id", "at", "outcome", "rule", "sender", "subject", "case", "reason")


def add_arguments(command: argparse.ArgumentParser) -> None:
    inbound = command.add_subparsers(metavar="ACTION")
    listing = inbound.add_parser("list", help="messages seen, newest first")
    listing.add_argument("--since", help="only messages received since this date or time (YYYY-MM-DD[THH:MM], UTC)")
    listing.add_argument("--outcome", action="append", default=[],
                         help="case_opened, appended, refused, ignored, quarantined, duplicate (repeatable)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_inbound_list)
    show = inbound.add_parser("show", help="one message as the bot recorded it")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_inbound_show)


def cmd_inbound_list(arguments: argparse.Namespace) -> int:
    since = parse_since(arguments.since) if arguments.since else None
    return show_rows(arguments, lambda session: list_inbound(session, since, tuple(arguments.outcome), arguments.limit),
                     COLUMNS)


def cmd_inbound_show(arguments: argparse.Namespace) -> int:
    return show_detail(arguments, lambda _app, session: inbound_detail(session, arguments.id),
                       f"no inbound message {arguments.id}",
                       lambda detail: "\n".join(f"{key}: {'' if value is None else value}" for key, value in detail.items()))


def parse_since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        print(f"error: --since {value!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
