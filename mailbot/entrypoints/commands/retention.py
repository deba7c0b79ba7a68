"""`mailbot retention purge`: drop raw mail of long-closed cases and old quarantine entries, as [retention] says."""

from __future__ import annotations

import argparse

from mailbot.entrypoints.shared import app_from
from mailbot.retention.purge import retention_purge
from mailbot.runtime.exit_codes import EXIT_OK


def add_arguments(command: argparse.ArgumentParser) -> None:
    retention = command.add_subparsers(metavar="ACTION")
    purge = retention.add_parser("purge", help="purge what is due now (`mailbot run` does it hourly)")
    purge.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")
    purge.set_defaults(handler=cmd_retention_purge)


def cmd_retention_purge(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    try:
        retention = app.settings.retention
        done = retention_purge(app, dry_run=arguments.dry_run)
    finally:
        app.dispose()
    print(f"retention: closed cases' raw mail {kept_for(retention.closed_case_raw_days)}, "
          f"quarantine {kept_for(retention.quarantine_days)}")
    if not done:
        print("nothing to purge")
        return EXIT_OK
    prefix = "dry run, would purge" if arguments.dry_run else "purged"
    print(f"{prefix}: " + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sorted(done.items())))
    return EXIT_OK


def kept_for(days: int | None) -> str:
    return "kept forever" if days is None else f"kept {days} days"
