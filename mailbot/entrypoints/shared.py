"""What the `mailbot` commands share: settings and the wired app from the arguments, JSON and table output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mailbot.app import App, build_app
from mailbot.config import Settings, config_path_from, load_settings
from mailbot.db.revisions import ensure_schema_current
from mailbot.entrypoints.tables import render_table, short
from mailbot.logs import configure_logging
from mailbot.runtime.exit_codes import EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")


def settings_from(arguments: argparse.Namespace) -> tuple[Settings, Path]:
    path = config_path_from(arguments.config)
    return load_settings(path), path


def app_from(arguments: argparse.Namespace, *, check_schema: bool = True) -> App:
    settings, _path = settings_from(arguments)
    configure_logging(settings.logging.level, settings.logging.format)
    app = build_app(settings)
    if check_schema:
        ensure_schema_current(app.engine)
    return app


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def read_view(arguments: argparse.Namespace, query: Callable[[App, Session], T]) -> T:
    """Run a read-only view in one session of a freshly wired app, and let the app go."""
    app = app_from(arguments)
    try:
        with app.sessions() as session:
            return query(app, session)
    finally:
        app.dispose()


def show_rows(arguments: argparse.Namespace, query: Callable[[Session], list[dict[str, Any]]], columns: tuple[str, ...]) -> int:
    """Run a read-only view and print it as a table, or as JSON with --json."""
    rows = read_view(arguments, lambda _app, session: query(session))
    if arguments.json:
        print_json(rows)
    else:
        print(render_table(columns, [[short(row[column], column) for column in columns] for row in rows]))
    return EXIT_OK


def show_detail(arguments: argparse.Namespace, query: Callable[[App, Session], dict[str, Any] | None], missing: str,
                describe: Callable[[dict[str, Any]], str]) -> int:
    """Run a read-only view of one thing and print it (JSON with --json); `missing` is the error when there is none."""
    detail = read_view(arguments, query)
    if detail is None:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_FAILURE
    if arguments.json:
        print_json(detail)
    else:
        print(describe(detail))
    return EXIT_OK
