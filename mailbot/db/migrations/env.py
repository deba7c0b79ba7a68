"""Alembic environment: runs migrations on the connection or URL mailbot hands it (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mailbot.db.models import Base, is_modelled

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _run_on(new_connection)


def _run_on(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
        include_object=is_modelled,  # the search index lives outside the models (migration 0014)
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
