"""`mailbot hours list|show`: prepaid remote-support hours per account and contract period (seed 003's cards)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases.prepaid_hours import account_cards, account_today, contract_terms
from mailbot.db.models import Account
from mailbot.entrypoints.shared import print_json, read_view
from mailbot.entrypoints.tables import render_table, short
from mailbot.policy.prepaid_hours import format_hours, has_prepaid_hours
from mailbot.runtime.exit_codes import EXIT_FAILURE, EXIT_OK

COLUMNS = ("account", "plan", "contract", "state", "granted", "used", "remaining", "expires_on")
ENTRY_COLUMNS = ("kind", "at", "hours", "case", "engineer", "overdraft")


def add_arguments(command: argparse.ArgumentParser) -> None:
    hours = command.add_subparsers(metavar="ACTION")
    listing = hours.add_parser("list", help="every account with prepaid hours: balance, used, expiry, per period")
    listing.add_argument("--all", action="store_true", help="expired periods too (default: current periods only)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_hours_list)
    show = hours.add_parser("show", help="one account's periods and their ledger")
    show.add_argument("account", help="the account's key in the directory")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_hours_show)


def account_hours(app: App, session: Session, account: Account) -> dict[str, Any]:
    now = app.clock.now()
    plan = app.catalog.plan(account.plan_name)
    cards = account_cards(session, account, plan, account_today(account, app.settings.support.default_timezone, now))
    return {"account": account.key, "account_name": account.name, "plan": account.plan_name, "periods": cards}


def account_view(app: App, session: Session, key: str) -> dict[str, Any] | None:
    account = session.scalars(select(Account).where(func.lower(Account.key) == key.lower())).one_or_none()
    return account_hours(app, session, account) if account is not None else None


def accounts_with_hours(app: App, session: Session) -> list[Account]:
    accounts = session.scalars(select(Account).order_by(Account.key))
    return [account for account in accounts
            if has_prepaid_hours(contract_terms(session, account.id), plan_hours(app, account))]


def plan_hours(app: App, account: Account) -> float:
    plan = app.catalog.plan(account.plan_name)
    return plan.prepaid_remote_hours if plan else 0.0


def cmd_hours_list(arguments: argparse.Namespace) -> int:
    accounts = read_view(arguments, lambda app, session: [account_hours(app, session, account)
                                                          for account in accounts_with_hours(app, session)])
    rows = [{"account": item["account"], "plan": item["plan"], **period} for item in accounts for period in item["periods"]
            if arguments.all or period["state"] == "current"]
    if arguments.json:
        print_json([{key: value for key, value in row.items() if key != "entries"} for row in rows])
    else:
        print(render_table(COLUMNS, [[short(cell(row[column]), column) for column in COLUMNS] for row in rows]))
    return EXIT_OK


def cmd_hours_show(arguments: argparse.Namespace) -> int:
    view = read_view(arguments, lambda app, session: account_view(app, session, arguments.account))
    if view is None:
        print(f"error: no account {arguments.account}", file=sys.stderr)
        return EXIT_FAILURE
    if arguments.json:
        print_json(view)
        return EXIT_OK
    print(f"{view['account_name']} ({view['account']}), plan {view['plan']}")
    if not view["periods"]:
        print("  no prepaid hours")
    for period in view["periods"]:
        print(f"\n{period['contract']}  {period['starts_on']} .. {period['expires_on']}  ({period['state']})")
        print(f"  granted {cell(period['granted'])} h, used {cell(period['used'])} h, remaining {cell(period['remaining'])} h")
        if period["entries"]:
            print(render_table(ENTRY_COLUMNS, [[short(cell(entry[column]), column) for column in ENTRY_COLUMNS]
                                               for entry in period["entries"]]))
    return EXIT_OK


def cell(value: Any) -> Any:
    """Hours as people write them; booleans as yes or nothing."""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return format_hours(value) if value >= 0 else "-" + format_hours(-value)
    return value
