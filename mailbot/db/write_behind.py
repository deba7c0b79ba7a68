"""Rows the bot writes and never reads back as objects, inserted with Core executemany instead of the ORM.

Each message handled leaves rows nothing in its transaction needs as ORM objects: its inbound record, its copy
in a case with its attachments, the case's events, and the mail the bot queues (outbox rows and the case's
copies). Through the ORM's unit of work they cost about a fifth of a millisecond each, and the flushes that
carry them cost more; here they are plain rows with their ids known up front (row_ids), so rows pointing at
each other go in together, one statement per table. They wait in the session until whichever comes first:

- a statement goes through the session (`do_orm_execute`): whatever it reads sees them, as autoflush would;
- a savepoint begins (`BotSession.begin_nested`): written in the transaction that made them, so a savepoint
  that then rolls back cannot take them along;
- the transaction commits (`before_commit`), or the caller asks (`write_waiting`, at the end of a message).

A rollback drops the rows waiting: they were made in the transaction rolled back or in savepoints inside it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, inspect, insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, make_transient_to_detached

from mailbot.db.fitting import fitted_text, text_columns
from mailbot.db.models import CaseEvent, CaseMessage, InboundRecord, OutboxMessage, StoredAttachment
from mailbot.db.row_ids import take_ids
from mailbot.db.transactions import is_within

_WAITING = "rows_written_behind"
_LOADED = "rows_inserted_loaded"
# In the order the foreign keys between them allow.
WRITTEN_BEHIND: tuple[type[Any], ...] = (InboundRecord, OutboxMessage, CaseMessage, StoredAttachment, CaseEvent)


class BotSession(Session):
    def begin_nested(self) -> SessionTransaction:
        write_waiting(self)
        return super().begin_nested()


def add_row(session: Session, model: type[Any], values: dict[str, Any]) -> int:
    """A new row of `model` (one of WRITTEN_BEHIND); its id. Columns not given take their default (or NULL), and
    text is fitted to its columns as fit_to_columns does for ORM rows."""
    assert model in WRITTEN_BEHIND, f"{model.__name__} rows go through the ORM"
    [row_id] = take_ids(session, model, 1)
    row = completed(model, {"id": row_id, **values})
    waiting: dict[Table, list[dict[str, Any]]] | None = session.info.get(_WAITING)
    if waiting is None:
        waiting = session.info[_WAITING] = {}
    waiting.setdefault(model.__table__, []).append(row)
    return row_id


def insert_loaded(session: Session, row: Any) -> None:
    """Insert a new ORM object now, with Core, and hand it to the session as if it had been loaded.

    For a row the transaction goes on changing (a new case): its INSERT costs a tenth of the ORM's flush, and
    later changes to it are the ORM's plain UPDATEs. Its id must be set (row_ids); every column not set takes its
    default, so no attribute is left to load.
    """
    mapper = inspect(row).mapper
    values = completed(mapper.class_, {column.key: row.__dict__[column.key]
                                        for column in mapper.local_table.columns if column.key in row.__dict__})
    for key, value in values.items():
        setattr(row, key, value)  # fitted, or the default: nothing left unloaded
    session.flush()  # what the new row points at goes first
    session.connection().execute(insert_into(mapper.local_table), values)
    make_transient_to_detached(row)
    session.add(row)
    # The session does not count it as new: a rollback of this transaction must take it out, as it would a new one.
    session.info.setdefault(_LOADED, []).append((session.get_nested_transaction() or session.get_transaction(), row))


@cache  # one per table: a statement built once is compiled once, its cache key included
def insert_into(table: Table) -> Insert:
    return insert(table)


def completed(model: type[Any], row: dict[str, Any]) -> dict[str, Any]:
    """Every column of `model` named (the default where not given: an executemany's rows must all name the same
    ones), its text fitted to the column as fit_to_columns does for ORM rows."""
    for column in model.__table__.columns:
        if column.key not in row:
            default = column.default
            row[column.key] = default.arg if default is not None and default.is_scalar else None  # ours are plain
    for key, length in text_columns(inspect(model)):
        value = row.get(key)
        if isinstance(value, str):
            row[key] = fitted_text(value, length)
    return row


def write_waiting(session: Session) -> None:
    """Insert the rows waiting, one statement per table, after the ORM's own (they may point at a new case)."""
    waiting: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_WAITING, None)
    if not waiting:
        return
    session.flush()
    connection = session.connection()
    for model in WRITTEN_BEHIND:
        rows = waiting.get(model.__table__)
        if rows:
            connection.execute(insert_into(model.__table__), rows)


def write_before_statement(state: ORMExecuteState) -> None:
    """A do_orm_execute hook: the statement sees the rows waiting, as it would see objects the ORM autoflushes
    (and, like them, not under no_autoflush)."""
    # Not from inside a flush (an attribute it loads): the flush that follows a write cannot start there.
    if state.session.autoflush and not state.session._flushing:
        write_waiting(state.session)


def write_before_commit(session: Session) -> None:
    write_waiting(session)
    if not session.in_nested_transaction():
        session.info.pop(_LOADED, None)  # the outermost commit: nothing of it can be rolled back now


def drop_after_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    session.info.pop(_WAITING, None)
    loaded: list[tuple[SessionTransaction | None, Any]] = session.info.get(_LOADED, [])
    for inserted_in, row in loaded:
        if is_within(inserted_in, rolled_back) and row in session:
            session.expunge(row)
    loaded[:] = [(inserted_in, row) for inserted_in, row in loaded if not is_within(inserted_in, rolled_back)]
