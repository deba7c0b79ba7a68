"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production), built on request only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.fitting import fit_to_columns


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def build_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and explicit BEGIN IMMEDIATE so writers queue, not fail."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite's own transaction handling begins lazily and deferred; two writers could then both read
    # a checkpoint and collide on upgrade to a write lock. BEGIN IMMEDIATE takes the write lock up front.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def build_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "before_flush", fit_to_columns)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits when the block ends normally, rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed; never when it rolls back (metrics stay true)."""
    event.listen(session, "after_commit", lambda _session: action(), once=True)
