"""`mailbot attachments list|save CASE`: a case's files as an operator reads them, and saved to a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mailbot.cases.attachments import UnsafeTarget, attachment_row, case_attachments, find_case, save_attachments
from mailbot.entrypoints.shared import app_from, print_json
from mailbot.entrypoints.tables import render_table, short
from mailbot.runtime.exit_codes import EXIT_FAILURE, EXIT_OK

COLUMNS = ("id", "filename", "size", "content_type", "author", "from", "at", "stored")


def add_arguments(command: argparse.ArgumentParser) -> None:
    attachments = command.add_subparsers(metavar="ACTION")
    listing = attachments.add_parser("list", help="a case's attachments: name, size, type, who sent them, when")
    listing.add_argument("case", help="the case number")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_attachments_list)
    save = attachments.add_parser("save", help="write a case's attachments (or one) to a folder under safe names")
    save.add_argument("case", help="the case number")
    save.add_argument("id", nargs="?", type=int, help="only this attachment (see `attachments list`)")
    save.add_argument("--to", required=True, type=Path, metavar="DIR", help="the folder (created if missing)")
    save.add_argument("--overwrite", action="store_true", help="replace files of the same name (default: add a suffix)")
    save.set_defaults(handler=cmd_attachments_save)


def cmd_attachments_list(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    try:
        with app.sessions() as session:
            case = find_case(session, arguments.case)
            rows = None if case is None else [attachment_row(*pair) for pair in case_attachments(session, case.id)]
    finally:
        app.dispose()
    if rows is None:
        return fail(f"no case {arguments.case}")
    if arguments.json:
        print_json(rows)
    else:
        print(render_table(COLUMNS, [[short(row[column], column) for column in COLUMNS] for row in rows]))
    return EXIT_OK


def cmd_attachments_save(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    try:
        with app.sessions() as session:
            case = find_case(session, arguments.case)
            if case is None:
                return fail(f"no case {arguments.case}")
            chosen = [item for item, _message in case_attachments(session, case.id)
                      if arguments.id is None or item.id == arguments.id]
            if arguments.id is not None and not chosen:
                return fail(f"case {case.number} has no attachment {arguments.id}")
            if arguments.id is not None and chosen[0].content is None:
                return fail(f"attachment {arguments.id} has no stored content (too large to keep, or purged)")
            saved = save_attachments(chosen, arguments.to, arguments.overwrite)
    except UnsafeTarget as error:
        return fail(str(error))
    finally:
        app.dispose()
    for item in saved:
        print(f"{item.attachment_id}\t{item.path}")
    skipped = len(chosen) - len(saved)
    print(f"{len(saved)} file(s) saved to {arguments.to}" + (f"; {skipped} without stored content skipped" if skipped else ""))
    return EXIT_OK


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_FAILURE
