"""The `mailbot` command: argument parsing and output only; the work is done by the service layer."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from jinja2 import TemplateError
from sqlalchemy.exc import InterfaceError, OperationalError

from mailbot.config import ConfigError, runtime_problems
from mailbot.db.engine import build_engine, transaction
from mailbot.delivery.outbox import retry_failed
from mailbot.db.migrate import SchemaOutOfDate, upgrade_to_head
from mailbot.directory.files import DirectoryFileError
from mailbot.directory.importer import checked_directory, import_directory
from mailbot.entrypoints.commands.accounts import add_accounts_parser
from mailbot.entrypoints.commands.attachments import add_attachments_parser
from mailbot.entrypoints.commands.cases import add_cases_parser
from mailbot.entrypoints.commands.check_config import add_check_config_parser
from mailbot.entrypoints.commands.contacts import add_contact_parser
from mailbot.entrypoints.commands.hours import add_hours_parser
from mailbot.entrypoints.commands.inbound import add_inbound_parser
from mailbot.entrypoints.commands.retention import add_retention_parser
from mailbot.entrypoints.commands.workers import add_worker_arguments, check_sharing, run_workers
from mailbot.entrypoints.parser import build_root_parser, print_group_help
from mailbot.entrypoints.shared import app_from, print_json, settings_from, show_rows
from mailbot.entrypoints.tables import progress_bar
from mailbot.logs import fields
from mailbot.wording import counted
from mailbot.outbound.samples import template_problems
from mailbot.cases.views import list_outbox, list_quarantine, quarantined_raw
from mailbot.outbound.templates import TemplateMissing
from mailbot.intake.ingest import Ingestor
from mailbot.alerts.send import alert_plans, default_alert_key, send_alert
from mailbot.runtime.exit_codes import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_REFUSED, EXIT_SCHEMA, EXIT_USAGE
from mailbot.runtime.runner import Service, deliver_once, run_once
from mailbot.runtime.workers import stop_when_parent_ends
from mailbot.errors import ServerRefused
from mailbot.sla.monthly_mail import COLUMNS as MONTHLY_COLUMNS, render_rows, send_monthly_report
from mailbot.sla.report import ASPECT_COLUMNS, sla_report, survey_by_aspect
from mailbot.sources.base import FetchedMail, SourceUnavailable
from mailbot.sources.factory import build_source
from mailbot.sources.partition import Partition

log = logging.getLogger("mailbot")


class CommandError(Exception):
    """A user-facing failure: printed without a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(arguments, "handler", None)
    if handler is None:
        print_group_help(arguments)
        return EXIT_USAGE
    try:
        return handler(arguments)
    except ConfigError as error:
        print("configuration problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except SchemaOutOfDate as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SCHEMA
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except (TemplateError, TemplateMissing) as error:
        print(f"error: template problem: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except DirectoryFileError as error:
        print("error: directory not imported:\n  " + "\n  ".join(error.problems), file=sys.stderr)
        return EXIT_FAILURE
    except SourceUnavailable as error:
        print(f"error: mailbox unavailable: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except ServerRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except (OperationalError, InterfaceError) as error:
        print(f"error: database unavailable: {str(error.orig or error).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    parser = build_root_parser("Email-first support desk bot.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="run the service (IDLE/polling, delivery, scheduled jobs)")
    run.add_argument("--once", action="store_true", help="handle waiting mail, deliver the outbox, exit")
    add_worker_arguments(run)
    run.set_defaults(handler=cmd_run)

    add_check_config_parser(commands)
    add_inbound_parser(commands)
    add_hours_parser(commands)
    add_accounts_parser(commands)
    add_attachments_parser(commands)
    add_retention_parser(commands)
    add_contact_parser(commands)

    db = commands.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="apply migrations up to the latest").set_defaults(handler=cmd_db_upgrade)

    directory = commands.add_parser("directory", help="customer directory").add_subparsers(metavar="ACTION")
    importer = directory.add_parser("import", help="load accounts, contracts and contacts (TOML/YAML/CSV)")
    importer.add_argument("file", type=Path)
    importer.add_argument("--dry-run", action="store_true", help="validate and report, change nothing")
    importer.set_defaults(handler=cmd_directory_import)

    add_cases_parser(commands)

    quarantine = commands.add_parser("quarantine", help="messages the bot could not handle").add_subparsers(metavar="ACTION")
    q_list = quarantine.add_parser("list")
    q_list.add_argument("--json", action="store_true")
    q_list.set_defaults(handler=cmd_quarantine_list)
    q_show = quarantine.add_parser("show", help="write the raw message to stdout")
    q_show.add_argument("id", type=int)
    q_show.set_defaults(handler=cmd_quarantine_show)
    q_release = quarantine.add_parser("release", help="handle a quarantined message again (after a fix)")
    q_release.add_argument("id", type=int)
    q_release.set_defaults(handler=cmd_quarantine_release)

    outbox = commands.add_parser("outbox", help="outgoing mail").add_subparsers(metavar="ACTION")
    o_list = outbox.add_parser("list", help="outgoing messages, newest first")
    o_list.add_argument("--status", action="append", default=[], help="pending, sending, sent, failed (repeatable)")
    o_list.add_argument("--limit", type=int, default=50)
    o_list.add_argument("--json", action="store_true")
    o_list.set_defaults(handler=cmd_outbox_list)
    o_retry = outbox.add_parser("retry", help="give failed messages a fresh set of attempts")
    o_retry.add_argument("ids", nargs="*", type=int, help="outbox ids (default: every failed message)")
    o_retry.set_defaults(handler=cmd_outbox_retry)

    alerts = commands.add_parser("alerts", help="proactive alerts to designated contacts").add_subparsers(metavar="ACTION")
    a_send = alerts.add_parser("send", help="email a templated notice to the contacts of plans with alerts")
    a_send.add_argument("--template", required=True, help="templates/<lang>/alerts/NAME.{subject,txt,html}.j2")
    a_send.add_argument("--plan", action="append", default=[], help="only these plans (repeatable)")
    a_send.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="a value for the template")
    a_send.add_argument("--key", help="sends with the same key reach each address once (default: template + values)")
    a_send.add_argument("--dry-run", action="store_true", help="list the recipients, send nothing")
    a_send.set_defaults(handler=cmd_alerts_send)

    sla = commands.add_parser("sla", help="service levels").add_subparsers(metavar="ACTION")
    report = sla.add_parser("report", help="compliance per plan and priority for a month")
    report.add_argument("--month", help="YYYY-MM (default: this month)")
    report.add_argument("--account", help="only this account key")
    report.add_argument("--format", choices=("table", "json", "csv"), default="table")
    report.add_argument("--email", action="store_true", help="send last month's report to escalation.monthly_report_to now")
    report.set_defaults(handler=cmd_sla_report)

    demo = commands.add_parser("demo", help="try the bot: sample mail in a Maildir, SQLite, replies to a folder")
    demo.add_argument("directory", nargs="?", type=Path, default=Path("mailbot-demo"))
    demo.set_defaults(handler=cmd_demo)
    return parser


# -- helpers -------------------------------------------------------------------------------------------


def installed_version() -> str:
    """The version pip installed (the package metadata), so a wheel and a checkout report the same way."""
    try:
        return metadata.version("mailbot")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


# -- commands ------------------------------------------------------------------------------------------


def cmd_db_upgrade(arguments: argparse.Namespace) -> int:
    settings, _path = settings_from(arguments)
    engine = build_engine(settings.database.url)
    try:
        before, after = upgrade_to_head(engine)
    finally:
        engine.dispose()
    print(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return EXIT_OK


def cmd_run(arguments: argparse.Namespace) -> int:
    settings, path = settings_from(arguments)
    problems = runtime_problems(settings, path) + template_problems(settings, path)
    if problems:
        raise ConfigError(problems)
    check_sharing(settings, path, arguments)
    if arguments.workers == 1:
        return run_share(arguments, arguments.partition)
    app_from(arguments).dispose()  # the schema is checked once, here, before the workers are forked
    parent = os.getpid()
    return run_workers(arguments, lambda share: run_share(arguments, share, parent), install_stop_handlers)


def run_share(arguments: argparse.Namespace, partition: Partition, parent_pid: int | None = None) -> int:
    """`mailbot run [--once]` on one share of the mailbox (the whole of it by default); in a worker, `parent_pid`."""
    app = app_from(arguments)
    stop = threading.Event()
    try:
        if arguments.once:
            install_stop_handlers(stop.set)
            stop_when_parent_ends(stop.set, parent_pid)
            summary = run_once(app, stop, partition)
            log.info("run complete", extra=fields(**dict(summary.ingest.outcomes), **{f"outbox_{k}": v for k, v in summary.delivery.outcomes.items()},
                                                  exit_code=summary.exit_code))
            return summary.exit_code
        service = Service(app, stop, partition)
        install_stop_handlers(service.request_stop)
        stop_when_parent_ends(service.request_stop, parent_pid)
        return service.run()
    finally:
        app.dispose()


def install_stop_handlers(request_stop: Callable[[], None]) -> None:
    def on_signal(signum: int, _frame: object) -> None:
        log.info("stop requested; finishing the message in hand", extra=fields(signal=signal.Signals(signum).name))
        request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


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


def cmd_outbox_list(arguments: argparse.Namespace) -> int:
    return show_rows(
        arguments,
        lambda session: list_outbox(session, tuple(arguments.status), arguments.limit),
        ("id", "status", "attempts", "kind", "recipient", "case", "subject", "last_error"),
    )


def cmd_outbox_retry(arguments: argparse.Namespace) -> int:
    app = app_from(arguments)
    with transaction(app.sessions) as session:
        count = retry_failed(session, app.clock.now(), tuple(arguments.ids))
    app.dispose()
    print(f"{counted(count, 'failed message')} queued again")
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


def cmd_demo(arguments: argparse.Namespace) -> int:
    from mailbot.entrypoints.demo import run_demo

    return run_demo(arguments.directory)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
