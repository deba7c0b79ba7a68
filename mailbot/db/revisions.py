"""The schema revision a database is at and the one this code ships, read without importing Alembic.

Every command checks the schema before it works. Alembic takes ~150 ms to import and then loads every migration
script to find the head, which a command started from cron or a test pays each time. When the database is
current (nearly always) the `alembic_version` row and the scripts' own `revision = ...` lines settle it; anything
they do not settle plainly (a branch or merge in the history, a line that is not a plain string, several rows in
the version table) is left to Alembic, so an out-of-date database is refused exactly as before.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text

VERSIONS_DIR = Path(__file__).with_name("migrations") / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default name; migrations/env.py does not change it
# One module-level assignment per line, as Alembic's script template writes them (an annotation is allowed).
REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(?P<value>[^\n]*)$", re.MULTILINE)


class SchemaOutOfDate(Exception):
    """The database schema is not at the revision this version of mailbot needs."""


def ensure_schema_current(engine: Engine) -> None:
    gap = schema_gap(engine)
    if gap is not None:
        current, head = gap
        shown = current or "empty (no mailbot tables)"
        raise SchemaOutOfDate(f"database schema is {shown}, this mailbot needs {head}: run `mailbot db upgrade` first")


def schema_gap(engine: Engine) -> tuple[str | None, str] | None:
    """None when the database is at the shipped head; else (its revision, the head), as Alembic reads them."""
    if is_schema_current(engine):
        return None
    # Not settled cheaply: ask Alembic, as every command did before (it also raises on a corrupt version table).
    from mailbot.db.migrate import current_revision, head_revision

    current, head = current_revision(engine), head_revision()
    return None if current == head else (current, head)


def is_schema_current(engine: Engine) -> bool:
    """True only when the database's one stored revision is the shipped head; False when unsure."""
    head = shipped_head()
    if head is None:
        return False
    with engine.connect() as connection:
        return stored_revisions(connection) == [head]


def stored_revisions(connection: object) -> list[str]:
    """The rows of the version table, as Alembic reads them; none when the table is missing (never migrated)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())  # type: ignore[attr-defined]


def shipped_head(versions_dir: Path = VERSIONS_DIR) -> str | None:
    """The one revision no other migration builds on, or None when the scripts do not say it plainly."""
    links = [revision_link(path) for path in migration_scripts(versions_dir)]
    if not links or None in links:
        return None
    revisions = [link[0] for link in links if link]
    built_on = {link[1] for link in links if link and link[1]}
    heads = set(revisions) - built_on
    chained = len(set(revisions)) == len(revisions) and built_on <= set(revisions)
    return heads.pop() if chained and len(heads) == 1 else None


def migration_scripts(versions_dir: Path) -> list[Path]:
    # The files Alembic reads as revisions: Python sources, not __init__ nor an editor's lock file.
    return [path for path in sorted(versions_dir.glob("*.py"))
            if path.name != "__init__.py" and not path.name.startswith(".#")]


def revision_link(path: Path) -> tuple[str, str | None] | None:
    """(revision, down_revision) of one script; None unless each is assigned once, to a string (or None for down)."""
    found: dict[str, list[object]] = {"revision": [], "down_revision": []}
    for match in REVISION_LINE.finditer(path.read_text(encoding="utf-8")):
        try:
            found[match[1]].append(ast.literal_eval(match["value"].split("#")[0].strip()))
        except (ValueError, SyntaxError):
            return None
    revisions, downs = found["revision"], found["down_revision"]
    if len(revisions) != 1 or len(downs) != 1:
        return None
    revision, down = revisions[0], downs[0]
    if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
        return None  # a tuple of several (a merge) or something else: Alembic decides
    return revision, down
