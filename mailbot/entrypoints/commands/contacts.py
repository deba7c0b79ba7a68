"""`mailbot contact forget EMAIL`: erase a person's personal data, keep anonymised case statistics, log that it was done."""

from __future__ import annotations

import argparse
import sys

from mailbot.entrypoints.shared import app_from
from mailbot.retention.erasure import forget_contact
from mailbot.runtime.exit_codes import EXIT_OK, EXIT_USAGE


def add_arguments(command: argparse.ArgumentParser) -> None:
    contact = command.add_subparsers(metavar="ACTION")
    forget = contact.add_parser("forget", help="erase their address, name, words, raw mail and files (cases and figures stay)")
    forget.add_argument("email")
    forget.set_defaults(handler=cmd_contact_forget)


def cmd_contact_forget(arguments: argparse.Namespace) -> int:
    if "@" not in arguments.email:
        print(f"error: {arguments.email!r} is not an email address", file=sys.stderr)
        return EXIT_USAGE
    app = app_from(arguments)
    try:
        report = forget_contact(app, arguments.email)
    finally:
        app.dispose()
    if not report.erased_anything:
        already = f" (erased on {report.earlier[-1]:%Y-%m-%d %H:%M} UTC)" if report.earlier else ""
        print(f"nothing to erase for that address{already}")
        return EXIT_OK
    print("erased: " + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in report.counts.items() if count))
    print("cases, statuses, SLA figures and ratings are kept without the person; remove them from the directory file "
          "too, or the next import adds them again")
    return EXIT_OK
