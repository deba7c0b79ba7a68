"""`mailbot alerts send`: a templated notice to the designated contacts of plans with proactive alerts."""

from __future__ import annotations

import argparse

from mailbot.alerts.send import alert_plans, default_alert_key, send_alert
from mailbot.entrypoints.failures import CommandError
from mailbot.entrypoints.shared import app_from
from mailbot.entrypoints.tables import progress_bar
from mailbot.runtime.exit_codes import EXIT_OK, EXIT_USAGE
from mailbot.runtime.runner import deliver_once
from mailbot.wording import counted


def add_arguments(alerts: argparse.ArgumentParser) -> None:
    actions = alerts.add_subparsers(metavar="ACTION")
    send = actions.add_parser("send", help="email a templated notice to the contacts of plans with alerts")
    send.add_argument("--template", required=True, help="templates/<lang>/alerts/NAME.{subject,txt,html}.j2")
    send.add_argument("--plan", action="append", default=[], help="only these plans (repeatable)")
    send.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="a value for the template")
    send.add_argument("--key", help="sends with the same key reach each address once (default: template + values)")
    send.add_argument("--dry-run", action="store_true", help="list the recipients, send nothing")
    send.set_defaults(handler=cmd_alerts_send)


def cmd_alerts_send(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    try:
        variables = dict(parse_variable(item) for item in arguments.var)
        plans = alert_plans(app, arguments.plan)
        if not plans:
            raise CommandError("no plan with proactive_alerts = true" + (f" among {', '.join(arguments.plan)}" if arguments.plan else ""))
        key = arguments.key or default_alert_key(arguments.template, variables)
        if len(key) > 128:
            raise CommandError("--key: at most 128 characters", EXIT_USAGE)
        report = send_alert(app, arguments.template, key, variables, plans, dry_run=arguments.dry_run, progress=progress_bar)
        if not arguments.dry_run and report.queued:
            delivered = deliver_once(app)
    finally:
        app.dispose()
    if arguments.dry_run:
        for recipient in report.recipients:
            print(f"{recipient.email}\t{recipient.account_name}\t{recipient.plan_name}\t{recipient.language}")
    print(f"alert {arguments.template!r} ({key}) for {'plan' if len(plans) == 1 else 'plans'} {', '.join(sorted(plans))}: {counted(len(report.recipients), 'recipient')}, "
          + ("dry run, nothing sent" if arguments.dry_run else
             f"{report.queued} queued, {report.already_sent} already sent earlier"
             + (f"; delivered now: {dict(delivered.outcomes)}" if report.queued else "")))
    return EXIT_OK


def parse_variable(item: str) -> tuple[str, str]:
    name, separator, value = item.partition("=")
    if not separator or not name.strip().isidentifier():
        raise CommandError(f"--var {item!r}: expected KEY=VALUE", EXIT_USAGE)
    return name.strip(), value
