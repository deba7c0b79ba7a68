"""The everyday schema check (no Alembic when current) refuses a database behind the code as before, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from mailbot.clock import SystemClock
from mailbot.db.engine import build_engine
from mailbot.db.migrate import alembic_config, upgrade_to_head
from mailbot.db.probe import DatabaseProbe
from mailbot.db.revisions import SchemaOutOfDate, ensure_schema_current, is_schema_current, shipped_head
from mailbot.entrypoints.commands.db import upgraded


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    built = build_engine(db_url)
    yield built
    built.dispose()


def revision_before_head() -> str:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return str(scripts.get_revision(scripts.get_current_head()).down_revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_a_current_database_passes_and_upgrade_leaves_it_alone(engine: Engine) -> None:
    upgrade_to_head(engine)
    assert is_schema_current(engine)
    ensure_schema_current(engine)
    head = shipped_head()
    assert upgraded(engine) == (head, head)


def test_a_database_behind_the_code_is_refused_then_upgraded(engine: Engine, db_url: str) -> None:
    head, behind = shipped_head(), revision_before_head()
    upgrade_to_head(engine)
    downgrade(engine, behind)
    assert not is_schema_current(engine)
    with pytest.raises(SchemaOutOfDate, match=f"database schema is {behind}, this mailbot needs {head}: run `mailbot db"):
        ensure_schema_current(engine)
    probe = DatabaseProbe(db_url, SystemClock())
    try:
        assert probe.problems() == [f"database schema not current: it is at {behind}, this mailbot needs {head}; "
                                    "run `mailbot db upgrade`"]
    finally:
        probe.dispose()
    assert upgraded(engine) == (behind, head)
    ensure_schema_current(engine)


def test_an_empty_database_and_a_corrupt_version_table_are_refused(engine: Engine) -> None:
    with pytest.raises(SchemaOutOfDate, match="database schema is empty"):
        ensure_schema_current(engine)
    upgrade_to_head(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:behind)"), {"behind": revision_before_head()})
    assert not is_schema_current(engine)
    with pytest.raises(Exception, match="more than one head"):  # Alembic's own error, as before
        ensure_schema_current(engine)
