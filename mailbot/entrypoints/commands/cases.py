"""`mailbot cases list|show`: the cases, filtered, and one case's conversation and SLA clocks as an operator reads it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases.views import CASE_STATUSES, CaseFilter, list_cases, show_case
from mailbot.entrypoints.commands.case_search import add_case_search_parser
from mailbot.db.models import Account, Case
from mailbot.entrypoints.commands.inbound import parse_since
from mailbot.entrypoints.shared import print_json, read_view, show_detail
from mailbot.entrypoints.tables import describe_case, render_table, short
from mailbot.runtime.exit_codes import EXIT_OK, EXIT_USAGE

COLUMNS = ("number", "status", "priority", "account", "contact", "opened_at", "subject")


def add_arguments(command: argparse.ArgumentParser) -> None:
    cases = command.add_subparsers(metavar="ACTION")
    listing = cases.add_parser("list", help="list cases, newest first")
    listing.add_argument("--status", action="append", default=[], help=f"{', '.join(CASE_STATUSES)} (repeatable)")
    listing.add_argument("--account", action="append", default=[], help="only this account key (repeatable)")
    listing.add_argument("--plan", action="append", default=[], help="only accounts on this plan (repeatable)")
    listing.add_argument("--priority", action="append", default=[], help="only this priority, e.g. P1 (repeatable)")
    listing.add_argument("--assignee", action="append", default=[], help="only cases assigned to this address (repeatable)")
    listing.add_argument("--breached", action="store_true", help="only cases with an SLA clock missed or overdue now")
    listing.add_argument("--since", help="only cases opened since this date or time (YYYY-MM-DD[THH:MM], UTC)")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    listing.set_defaults(handler=cmd_cases_list)
    show = cases.add_parser("show", help="one case: its conversation, SLA clocks, events and ledger")
    show.add_argument("number")
    show.add_argument("--json", action="store_true", help="JSON for scripts (times in UTC, and local beside them)")
    show.set_defaults(handler=cmd_cases_show)
    add_case_search_parser(cases)


def cmd_cases_list(arguments: argparse.Namespace) -> int:
    rows = read_view(arguments, lambda app, session: list_cases(session, app=app, narrowed=case_filter(app, session, arguments)))
    if arguments.json:
        print_json(rows)
    else:
        print(render_table(COLUMNS, [[short(row[column], column) for column in COLUMNS] for row in rows]))
    return EXIT_OK


def cmd_cases_show(arguments: argparse.Namespace) -> int:
    return show_detail(arguments, lambda app, session: show_case(app, session, arguments.number),
                       f"no case {arguments.number}", describe_case)


def case_filter(app: App, session: Session, arguments: argparse.Namespace) -> CaseFilter:
    """The filter, every value checked against what exists: a typo is an error naming the valid values, not '(none)'."""
    plans = app.settings.plans
    priorities = sorted({priority for plan in plans.values() for priority in plan.priorities})
    account_keys = list(session.scalars(select(Account.key).order_by(Account.key)))
    # Engineers configured now, and anyone cases are still assigned to (an engineer who has since left).
    assigned = session.scalars(select(Case.assigned_to).where(Case.assigned_to.is_not(None)).distinct())
    engineers = sorted({engineer.email for engineer in app.settings.engineers} | {email.lower() for email in assigned if email})
    return CaseFilter(
        statuses=checked("--status", arguments.status, CASE_STATUSES),
        accounts=checked("--account", arguments.account, account_keys),
        plans=checked("--plan", arguments.plan, sorted(plans)),
        priorities=checked("--priority", arguments.priority, priorities),
        assignees=checked("--assignee", arguments.assignee, engineers),
        opened_since=parse_since(arguments.since) if arguments.since else None,
        breached=arguments.breached,
        limit=arguments.limit,
    )


def checked(option: str, values: Iterable[str], valid: Iterable[str]) -> tuple[str, ...]:
    """Values as the database spells them (matched without regard to case); an unknown one is a usage error."""
    spelled = {item.lower(): item for item in valid}
    unknown = [value for value in values if value.lower() not in spelled]
    if unknown:
        shown = ", ".join(spelled.values()) if len(spelled) <= 30 else ", ".join(list(spelled.values())[:30]) + ", ..."
        usage_error(f"{option} {', '.join(map(repr, unknown))}: not one of: {shown or '(none configured)'}")
    return tuple(spelled[value.lower()] for value in values)


def usage_error(message: str) -> NoReturn:
    """As argparse does for a wrong command line: the message on stderr, exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
