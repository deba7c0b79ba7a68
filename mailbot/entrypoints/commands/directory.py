"""`mailbot directory import FILE [--dry-run]`: load accounts, contracts and contacts from TOML, YAML or CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from mailbot.directory.files import DirectoryFileError
from mailbot.directory.importer import checked_directory, import_directory
from mailbot.entrypoints.failures import CommandError
from mailbot.entrypoints.shared import app_from
from mailbot.entrypoints.tables import progress_bar
from mailbot.runtime.exit_codes import EXIT_OK


def add_arguments(directory: argparse.ArgumentParser) -> None:
    actions = directory.add_subparsers(metavar="ACTION")
    importer = actions.add_parser("import", help="load accounts, contracts and contacts (TOML/YAML/CSV)")
    importer.add_argument("file", type=Path)
    importer.add_argument("--dry-run", action="store_true", help="validate and report, change nothing")
    importer.set_defaults(handler=cmd_directory_import)


def cmd_directory_import(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    try:
        with app.sessions() as session:
            directory = checked_directory(arguments.file, app.settings.plans, session)
            report = import_directory(
                session, directory, app.settings.plans, str(arguments.file), app.clock.now(), progress=progress_bar
            )
            if arguments.dry_run:
                session.rollback()
            else:
                session.commit()
    except DirectoryFileError as error:
        raise CommandError("directory not imported:\n  " + "\n  ".join(error.problems)) from None
    finally:
        app.dispose()
    prefix = "dry run, would apply: " if arguments.dry_run else ""
    print(f"{arguments.file}: {prefix}{report.summary()}")
    return EXIT_OK
