"""The `mailbot` argument parser: global options accepted at every level, and each group's own help."""

from __future__ import annotations

import argparse
from typing import Any

CONFIG_HELP = "configuration file (default: $MAILBOT_CONFIG)"


class MailbotParser(argparse.ArgumentParser):
    """An ArgumentParser whose every subparser (argparse builds them with the parent's class) takes the global options.

    `mailbot -c f check-config` and `mailbot check-config -c f` mean the same. Below the top level the options
    default to SUPPRESS, so a subcommand that was not given `-c` leaves the top level's value alone instead of
    overwriting it with None. Each parser also records itself as `command_parser`, so a group run without an
    action (`mailbot db`) can print its own help rather than the top-level one.
    """

    def __init__(self, *args: Any, top_level: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--config", "-c", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
        self.set_defaults(command_parser=self)
        if top_level:
            self.set_defaults(config=None)


def build_root_parser(description: str) -> MailbotParser:
    return MailbotParser(prog="mailbot", description=description, top_level=True)


def print_group_help(arguments: argparse.Namespace) -> None:
    """Help of the deepest parser the arguments reached: `mailbot cases` shows the cases actions."""
    parser: argparse.ArgumentParser = arguments.command_parser
    parser.print_help()
