"""`mailbot sla report`: SLA compliance per plan and priority for a month, as a table, JSON or CSV, or by email."""

from __future__ import annotations

import argparse
import csv
import sys

from mailbot.entrypoints.failures import CommandError
from mailbot.entrypoints.shared import app_from, print_json
from mailbot.runtime.exit_codes import EXIT_OK, EXIT_USAGE
from mailbot.runtime.runner import deliver_once
from mailbot.sla.monthly_mail import COLUMNS as MONTHLY_COLUMNS, render_rows, send_monthly_report
from mailbot.sla.report import ASPECT_COLUMNS, sla_report, survey_by_aspect
from mailbot.wording import counted


def add_arguments(sla: argparse.ArgumentParser) -> None:
    actions = sla.add_subparsers(metavar="ACTION")
    report = actions.add_parser("report", help="compliance per plan and priority for a month")
    report.add_argument("--month", help="YYYY-MM (default: this month)")
    report.add_argument("--account", help="only this account key")
    report.add_argument("--format", choices=("table", "json", "csv"), default="table")
    report.add_argument("--email", action="store_true", help="send last month's report to escalation.monthly_report_to now")
    report.set_defaults(handler=cmd_sla_report)


def cmd_sla_report(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    if arguments.email:
        try:
            queued = send_monthly_report(app)
            delivered = deliver_once(app) if queued else None
        finally:
            app.dispose()
        print(f"monthly SLA report queued for {counted(queued, 'recipient')}" + (f"; delivered: {dict(delivered.outcomes)}" if delivered else ""))
        return EXIT_OK
    month = arguments.month or app.clock.now().strftime("%Y-%m")
    try:
        with app.sessions() as session:
            rows = sla_report(app, session, month, arguments.account)
            aspects = survey_by_aspect(app, session, month, arguments.account)
    except ValueError:
        raise CommandError(f"--month {month!r}: expected YYYY-MM", EXIT_USAGE) from None
    finally:
        app.dispose()
    if arguments.format == "json":
        print_json({"month": month, "account": arguments.account, "rows": rows, "survey_by_aspect": aspects})
    elif arguments.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["plan"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        print(f"SLA report {month}" + (f" for {arguments.account}" if arguments.account else ""))
        print(render_rows(MONTHLY_COLUMNS, rows))
        print(f"\nSurvey by aspect\n{render_rows(ASPECT_COLUMNS, aspects)}")
    return EXIT_OK
