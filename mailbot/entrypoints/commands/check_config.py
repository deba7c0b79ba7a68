"""`mailbot check-config [--directory FILE] [--connect]`: every configuration problem in one run, then each server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mailbot.app import sender_verification_ids
from mailbot.config import Settings, config_path_from
from mailbot.config_warnings import escalation_warnings
from mailbot.config_audit import audit_config
from mailbot.directory.files import DirectoryFileError, read_directory_file
from mailbot.directory.importer import checked_directory
from mailbot.runtime.exit_codes import EXIT_CONFIG, EXIT_OK, EXIT_SERVER_CHECK


def add_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("--connect", action="store_true",
                       help="also log in to the IMAP and SMTP servers and the database; nothing is sent or changed")
    check.add_argument("--directory", type=Path, metavar="FILE",
                       help="also check a directory file (TOML, YAML or CSV) against the plans, as import --dry-run does")
    check.set_defaults(handler=run_check_config)


def run_check_config(arguments: argparse.Namespace) -> int:
    """Exit 0 when all is well, 3 with configuration problems (listed on stderr), 8 when a server check failed."""
    path = config_path_from(arguments.config)
    audit = audit_config(path)
    problems = [*audit.problems, *directory_file_problems(arguments.directory, audit.settings)]
    report_configuration(path, audit.settings, problems)
    if not arguments.connect:
        return EXIT_CONFIG if problems else EXIT_OK
    if audit.settings is None:
        print("not connecting: the file must validate first", file=sys.stderr)
        return EXIT_CONFIG
    # Imported here: logging in uses the service's own IMAP, SMTP and Alembic code, which only --connect needs.
    from mailbot.entrypoints.commands.server_checks import check_servers

    checks = check_servers(audit.settings)
    for check in checks:
        print(check.line)
    if problems:
        return EXIT_CONFIG
    return EXIT_OK if all(check.ok for check in checks) else EXIT_SERVER_CHECK


def directory_file_problems(directory: Path | None, settings: Settings | None) -> list[str]:
    """The directory file's own mistakes, and (once the configuration validates) its fit with the plans."""
    if directory is None:
        return []
    try:
        if settings is None:
            read_directory_file(directory)  # the plans are not known until the configuration validates
        else:
            checked_directory(directory, settings.plans)
    except DirectoryFileError as error:
        return error.problems
    return []


def report_configuration(path: Path, settings: Settings | None, problems: list[str]) -> None:
    if problems:
        print("configuration problems:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return
    assert settings is not None
    database = settings.database.url.split(":")[0]
    print(f"{path}: OK ({settings.source.kind} in, {settings.delivery.kind} out, database {database})")
    if not sender_verification_ids(settings):
        # A warning, not a problem: a mailbox behind no authenticating boundary is legitimate, but forged
        # From: addresses then open cases as the customer they name.
        print("warning: sender verification is off: set security.provider (microsoft365, google) or"
              " security.trusted_authserv_ids to your receiving servers' RFC 8601 authserv-ids", file=sys.stderr)
    for warning in escalation_warnings(settings.plans, settings.escalation):
        # A warning too: a plan may be run without managers, but then a breach reaches only the engineers.
        print(f"warning: {warning}", file=sys.stderr)
