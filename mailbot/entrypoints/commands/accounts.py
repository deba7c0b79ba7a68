"""`mailbot accounts show KEY`: one account as the bot sees it: plan, contracts, contacts, managers, TAM meetings."""

from __future__ import annotations

import argparse

from mailbot.directory.views import account_detail, describe_account
from mailbot.entrypoints.shared import show_detail


def add_arguments(command: argparse.ArgumentParser) -> None:
    accounts = command.add_subparsers(metavar="ACTION")
    show = accounts.add_parser("show", help="one account: plan, contracts, contacts, who gets copies, TAM meetings")
    show.add_argument("key", help="the account's key in the directory")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_accounts_show)


def cmd_accounts_show(arguments: argparse.Namespace) -> int:
    return show_detail(arguments, lambda app, session: account_detail(app, session, arguments.key, app.clock.now()),
                       f"no account {arguments.key!r}", describe_account)
