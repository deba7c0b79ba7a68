"""`mailbot` loads only the command it runs: every command still parses, and none drags in the others' libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailbot.entrypoints.cli import COMMANDS, build_parser

# Libraries that cost tens of milliseconds each and that only some commands or code paths need.
HEAVY = ("alembic", "bs4", "mailparser", "jinja2", "imapclient", "aiosmtplib", "requests", "msal", "apscheduler",
         "holidays", "sqlalchemy", "mailbot.app")


def loaded_after(*argv: str) -> list[str]:
    """The HEAVY modules a fresh interpreter has loaded once `mailbot ARGV` is parsed (the command is not run)."""
    script = ("import sys; from mailbot.entrypoints.cli import build_parser; "
              f"build_parser().parse_args({list(argv)!r}); print(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()


def test_parsing_a_command_line_loads_only_that_commands_module() -> None:
    assert loaded_after("cases", "list", "--json") == ["mailbot.app", "sqlalchemy"]


@pytest.mark.parametrize("argv", [("check-config",), ("db", "upgrade"), ("cases", "show", "LC-1")])
def test_no_command_loads_alembic_or_the_mail_libraries_to_start(argv: tuple[str, ...]) -> None:
    assert not {"alembic", "bs4", "mailparser", "imapclient", "aiosmtplib", "requests", "apscheduler"} & set(loaded_after(*argv))


@pytest.mark.parametrize("command", [command.name for command in COMMANDS])
def test_every_command_loads_and_shows_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: mailbot {command} ")


def test_every_action_has_a_handler() -> None:
    leaves = [("run",), ("check-config",), ("demo",), ("db", "upgrade"), ("directory", "import", "f.toml"),
              ("cases", "list"), ("cases", "show", "N"), ("cases", "search", "word"), ("quarantine", "list"),
              ("quarantine", "show", "1"), ("quarantine", "release", "1"), ("outbox", "list"), ("outbox", "retry"),
              ("alerts", "send", "--template", "t"), ("sla", "report"), ("inbound", "list"), ("inbound", "show", "1"),
              ("hours", "list"), ("hours", "show", "a"), ("accounts", "show", "a"), ("attachments", "list", "N"),
              ("attachments", "save", "N", "--to", "d"), ("retention", "purge"), ("contact", "forget", "a@b")]
    for argv in leaves:
        assert callable(build_parser().parse_args(list(argv)).handler), argv


def test_version_is_printed_on_stdout_when_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    printed = capsys.readouterr()
    assert exited.value.code == 0 and printed.out.startswith("mailbot ") and printed.err == ""
