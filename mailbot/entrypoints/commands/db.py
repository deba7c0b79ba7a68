"""`mailbot db upgrade`: migrate the database to the schema this mailbot needs."""

from __future__ import annotations

import argparse

from sqlalchemy import Engine

from mailbot.db.engine import build_engine
from mailbot.db.revisions import is_schema_current, shipped_head
from mailbot.entrypoints.shared import settings_from
from mailbot.runtime.exit_codes import EXIT_OK


def add_arguments(db: argparse.ArgumentParser) -> None:
    actions = db.add_subparsers(metavar="ACTION")
    actions.add_parser("upgrade", help="apply migrations up to the latest").set_defaults(handler=cmd_db_upgrade)


def cmd_db_upgrade(arguments: argparse.Namespace) -> int:
    settings, _path = settings_from(arguments)
    engine = build_engine(settings.database.url)
    try:
        before, after = upgraded(engine)
    finally:
        engine.dispose()
    print(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return EXIT_OK


def upgraded(engine: Engine) -> tuple[str | None, str]:
    """(revision before, revision after); a database already current is left alone without loading Alembic."""
    head = shipped_head()
    if head is not None and is_schema_current(engine):
        return head, head
    from mailbot.db.migrate import upgrade_to_head  # Alembic, only when there may be something to migrate

    return upgrade_to_head(engine)
