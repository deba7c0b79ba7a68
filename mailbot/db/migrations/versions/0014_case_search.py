"""Full-text search over case subjects and message text: PostgreSQL tsvector + GIN, SQLite FTS5 kept by triggers.

PostgreSQL: two text search configurations, `mailbot_spanish` and `mailbot_english` (copies of the built-in
ones that also fold accents with `unaccent` where the extension is available), and on `cases` and
`case_messages` a stored generated `search_document` tsvector (Spanish || English) with a GIN index.
SQLite: external-content FTS5 tables (`porter unicode61 remove_diacritics 2`) over `cases.subject` and
`case_messages.body_text`, filled from the existing rows and kept in step by triggers.

None of these objects is in the models (mailbot/db/models.py SEARCH_OBJECTS keeps autogenerate off them).
A later SQLite migration that makes batch mode copy `cases` or `case_messages` drops their triggers with
the old table: it must call `create_sqlite_triggers()` again (tests/integration/test_case_search.py notices).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (source table, indexed columns, FTS5 table): a message's own subject is searched with its text, so words
# of a reply's subject ("Re: router caído") and of its text match together.
SOURCES = (("cases", ("subject",), "case_subject_fts"), ("case_messages", ("subject", "body_text"), "case_message_fts"))
LANGUAGES = (("mailbot_spanish", "spanish"), ("mailbot_english", "english"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        upgrade_postgresql()
    else:
        upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _column, _fts in SOURCES:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_document")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_document")
        for name, _builtin in LANGUAGES:
            op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
        return  # unaccent stays: other software in the database may use it
    for table, _column, fts in SOURCES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{event}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")


def upgrade_postgresql() -> None:
    bind = op.get_bind()
    # unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it without superuser.
    has_unaccent = bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'").first()
    if has_unaccent:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    for name, builtin in LANGUAGES:
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = pg_catalog.{builtin})")
        if has_unaccent:  # "garantia" finds "garantía": fold accents before stemming
            op.execute(f"ALTER TEXT SEARCH CONFIGURATION {name} "
                       f"ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {builtin}_stem")
    for table, columns, _fts in SOURCES:
        content = " || E'\\n' || ".join(f"coalesce({column}, '')" for column in columns)
        document = " || ".join(f"to_tsvector('{name}'::regconfig, {content})" for name, _ in LANGUAGES)
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({document}) STORED")
        op.execute(f"CREATE INDEX ix_{table}_search_document ON {table} USING gin (search_document)")


def upgrade_sqlite() -> None:
    for table, columns, fts in SOURCES:
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, content='{table}', content_rowid='id',"
                   " tokenize='porter unicode61 remove_diacritics 2')")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # the rows that exist already
    create_sqlite_triggers()


def create_sqlite_triggers() -> None:
    """External-content FTS5 tables are told of every change: 'delete' with the old text, then the new."""
    for table, columns, fts in SOURCES:
        names = ", ".join(columns)
        add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {', '.join(f'new.{c}' for c in columns)});"
        remove = (f"INSERT INTO {fts}({fts}, rowid, {names})"
                  f" VALUES ('delete', old.id, {', '.join(f'old.{c}' for c in columns)});")
        op.execute(f"CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN {add} END")
        op.execute(f"CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN {remove} END")
        op.execute(f"CREATE TRIGGER {table}_fts_update AFTER UPDATE OF {names} ON {table} BEGIN {remove} {add} END")
