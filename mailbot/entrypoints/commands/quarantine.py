"""`mailbot quarantine list|show|release`: messages that could not be handled, kept whole with the error."""

from __future__ import annotations

import argparse
import sys

from mailbot.cases.views import list_quarantine, quarantined_raw
from mailbot.entrypoints.failures import CommandError
from mailbot.entrypoints.shared import app_from, show_rows
from mailbot.intake.ingest import Ingestor
from mailbot.runtime.exit_codes import EXIT_OK
from mailbot.sources.base import FetchedMail, SourceUnavailable
from mailbot.sources.factory import build_source


def add_arguments(quarantine: argparse.ArgumentParser) -> None:
    actions = quarantine.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_quarantine_list)
    show = actions.add_parser("show", help="write the raw message to stdout")
    show.add_argument("id", type=int)
    show.set_defaults(handler=cmd_quarantine_show)
    release = actions.add_parser("release", help="handle a quarantined message again (after a fix)")
    release.add_argument("id", type=int)
    release.set_defaults(handler=cmd_quarantine_release)


def cmd_quarantine_list(arguments: argparse.Namespace) -> int:
    return show_rows(arguments, list_quarantine, ("id", "at", "source_ref", "size", "error"))


def cmd_quarantine_show(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    with app.sessions() as session:
        raw = quarantined_raw(session, arguments.id)
    app.dispose()
    if raw is None:
        raise CommandError(f"no quarantined message {arguments.id}")
    sys.stdout.buffer.write(raw)
    return EXIT_OK


def cmd_quarantine_release(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)

    def fetch_again(source_ref: str) -> FetchedMail | None:
        source = build_source(app.settings, app.sessions, app.source_credentials)
        try:
            return source.fetch_again(source_ref)
        finally:
            source.close()

    try:
        outcome = Ingestor(app).release(arguments.id, fetch_again)
    except (LookupError, SourceUnavailable) as error:
        raise CommandError(str(error)) from None
    finally:
        app.dispose()
    print(f"quarantined message {arguments.id} handled again: {outcome}")
    return EXIT_OK
