"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production), built on request only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from mailbot.db.fitting import fit_to_columns
from mailbot.db.transactions import is_within
from mailbot.db.write_behind import BotSession, drop_after_rollback, write_before_commit, write_before_statement
from mailbot.db.sqlite_ids import assign_ids, forget_ids_after_direct_insert


_AFTER_COMMIT = "after_commit_actions"


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


def build_session_factory(engine: Engine) -> sessionmaker[BotSession]:
    factory = sessionmaker(engine, class_=BotSession, expire_on_commit=False)
    event.listen(factory, "before_flush", fit_to_columns)
    event.listen(factory, "do_orm_execute", write_before_statement)
    event.listen(factory, "before_commit", write_before_commit)
    event.listen(factory, "after_soft_rollback", drop_after_rollback)
    if is_sqlite(engine):
        event.listen(factory, "before_flush", assign_ids)
        event.listen(factory, "do_orm_execute", forget_ids_after_direct_insert)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits when the block ends normally, rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's outermost transaction has committed; never when it, or the savepoint
    `action` was asked for in, rolls back (metrics stay true).

    SQLAlchemy's own after_commit event fires at each savepoint's RELEASE too: with a batch of messages per
    transaction, that would count a message whose batch then rolled back.
    """
    pending: list[tuple[SessionTransaction | None, Callable[[], None]]] | None = session.info.get(_AFTER_COMMIT)
    if pending is None:
        pending = []
        session.info[_AFTER_COMMIT] = pending
        event.listen(session, "after_commit", _run_after_outermost_commit)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
    pending.append((session.get_nested_transaction() or session.get_transaction(), action))


def _run_after_outermost_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's RELEASE
    pending = session.info.get(_AFTER_COMMIT, [])
    actions = [action for _transaction, action in pending]
    pending.clear()
    for action in actions:
        action()


def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    pending = session.info.get(_AFTER_COMMIT, [])
    pending[:] = [(transaction, action) for transaction, action in pending if not is_within(transaction, rolled_back)]
