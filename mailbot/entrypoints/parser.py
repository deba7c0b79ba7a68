"""The `mailbot` argument parser: global options accepted at every level, each group's own help, and commands
whose arguments (and code) are loaded only when the command line names them."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
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


class ShowVersion(argparse.Action):
    """`--version`: like argparse's own, but the version is looked up when asked for, not at every start."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, *,
                 version: Callable[[], str], help: str = "show program's version number and exit") -> None:  # noqa: A002
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)
        self._version = version

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog} {self._version()}")  # on stdout, as argparse's own version action
        parser.exit()


def print_group_help(arguments: argparse.Namespace) -> None:
    """Help of the deepest parser the arguments reached: `mailbot cases` shows the cases actions."""
    parser: argparse.ArgumentParser = arguments.command_parser
    parser.print_help()


class LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands of `mailbot`, each declared by name, help line and module; the module is imported, and adds
    its arguments and handler to its parser, only when argparse reads that command's name.

    A command's module imports what the command needs (SQLAlchemy, Alembic, the mail libraries...); loading every
    one to parse a single command line cost a second per call. Subclassing argparse's own action (the one
    `add_subparsers` makes) keeps its parsing, errors and help exactly as they were.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._modules: dict[str, str] = {}

    def add_command(self, name: str, help: str, module: str) -> None:  # noqa: A002 - argparse's own word
        """`module` exposes `add_arguments(parser)`; `mailbot --help` shows `help` without importing it."""
        self.add_parser(name, help=help)
        self._modules[name] = module

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Sequence[Any],
                 option_string: str | None = None) -> None:
        name = values[0]  # argparse has checked it is one of the commands
        if name in self._modules:
            importlib.import_module(self._modules.pop(name)).add_arguments(self._name_parser_map[name])
        super().__call__(parser, namespace, values, option_string)
