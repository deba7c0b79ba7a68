"""A command's failures as the user reads them: a line (or a list) on stderr and an exit code, no traceback.

Each reporter imports the error type it knows only once a command has failed: the types come with their
libraries (SQLAlchemy, Jinja2, the directory file's models), which a command that succeeds need not load.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from mailbot.runtime.exit_codes import EXIT_CONFIG, EXIT_FAILURE, EXIT_REFUSED, EXIT_SCHEMA


class CommandError(Exception):
    """A user-facing failure: printed without a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def reported_failure(error: Exception) -> int | None:
    """Print an expected failure and return its exit code; None for anything else (a bug: its traceback shows)."""
    for report in REPORTERS:
        code = report(error)
        if code is not None:
            return code
    return None


def report(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def configuration_problems(error: Exception) -> int | None:
    from mailbot.config_base import ConfigError

    if not isinstance(error, ConfigError):
        return None
    return report("configuration problems:\n" + "\n".join(f"  {problem}" for problem in error.problems), EXIT_CONFIG)


def schema_out_of_date(error: Exception) -> int | None:
    from mailbot.db.revisions import SchemaOutOfDate

    return report(f"error: {error}", EXIT_SCHEMA) if isinstance(error, SchemaOutOfDate) else None


def command_error(error: Exception) -> int | None:
    return report(f"error: {error}", error.code) if isinstance(error, CommandError) else None


def template_problem(error: Exception) -> int | None:
    from mailbot.outbound.templates import TemplateMissing

    if not isinstance(error, TemplateMissing):
        from jinja2 import TemplateError

        if not isinstance(error, TemplateError):
            return None
    return report(f"error: template problem: {error}", EXIT_CONFIG)


def directory_not_imported(error: Exception) -> int | None:
    from mailbot.directory.files import DirectoryFileError

    if not isinstance(error, DirectoryFileError):
        return None
    return report("error: directory not imported:\n  " + "\n  ".join(error.problems), EXIT_FAILURE)


def mailbox_unavailable(error: Exception) -> int | None:
    from mailbot.sources.base import SourceUnavailable

    return report(f"error: mailbox unavailable: {error}", EXIT_FAILURE) if isinstance(error, SourceUnavailable) else None


def server_refused(error: Exception) -> int | None:
    from mailbot.errors import ServerRefused

    return report(f"error: {error}", EXIT_REFUSED) if isinstance(error, ServerRefused) else None


def database_unavailable(error: Exception) -> int | None:
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(error, (OperationalError, InterfaceError)):
        return None
    return report(f"error: database unavailable: {str(error.orig or error).strip().splitlines()[0]}", EXIT_FAILURE)


# The order of the checks; the types are unrelated, so it only decides which libraries a failure loads first.
REPORTERS: tuple[Callable[[Exception], int | None], ...] = (
    configuration_problems, schema_out_of_date, command_error, template_problem, directory_not_imported,
    mailbox_unavailable, server_refused, database_unavailable,
)
