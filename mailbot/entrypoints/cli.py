"""The `mailbot` command: its table of commands and the dispatch; each command lives in entrypoints/commands/.

A command's module, and the libraries it needs, load only when the command line names it (see LazyCommands):
`mailbot cases list` never imports Alembic, the IMAP client or the OAuth2 libraries.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from mailbot.entrypoints.failures import reported_failure
from mailbot.entrypoints.parser import LazyCommands, ShowVersion, build_root_parser, print_group_help
from mailbot.runtime.exit_codes import EXIT_USAGE


class Command(NamedTuple):
    name: str
    help: str
    module: str  # under mailbot.entrypoints.commands; it defines add_arguments(parser)


# In the order `mailbot --help` lists them.
COMMANDS = (
    Command("run", "run the service (IDLE/polling, delivery, scheduled jobs)", "run"),
    Command("check-config", "validate the configuration; lists every problem (--connect: also log in to each server)",
            "check_config"),
    Command("inbound", "every message the bot saw, with its outcome", "inbound"),
    Command("hours", "prepaid remote-support hours per account", "hours"),
    Command("accounts", "customer accounts as the bot sees them", "accounts"),
    Command("attachments", "files customers and engineers sent", "attachments"),
    Command("retention", "purge raw mail as the [retention] settings say", "retention"),
    Command("contact", "one person's data", "contacts"),
    Command("db", "database schema", "db"),
    Command("directory", "customer directory", "directory"),
    Command("cases", "look at cases", "cases"),
    Command("quarantine", "messages the bot could not handle", "quarantine"),
    Command("outbox", "outgoing mail", "outbox"),
    Command("alerts", "proactive alerts to designated contacts", "alerts"),
    Command("sla", "service levels", "sla"),
    Command("demo", "try the bot: sample mail in a Maildir, SQLite, replies to a folder", "demo"),
)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(arguments, "handler", None)
    if handler is None:
        print_group_help(arguments)
        return EXIT_USAGE
    try:
        return handler(arguments)
    except Exception as error:
        code = reported_failure(error)
        if code is None:
            raise
        return code


def build_parser() -> argparse.ArgumentParser:
    parser = build_root_parser("Email-first support desk bot.")
    parser.add_argument("--version", action=ShowVersion, version=installed_version)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", action=LazyCommands)
    assert isinstance(commands, LazyCommands)  # argparse builds the action class it is given
    for command in COMMANDS:
        commands.add_command(command.name, command.help, f"mailbot.entrypoints.commands.{command.module}")
    return parser


def installed_version() -> str:
    """The version pip installed (the package metadata), so a wheel and a checkout report the same way."""
    from importlib import metadata  # ~50 ms to load: only for --version

    try:
        return metadata.version("mailbot")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
