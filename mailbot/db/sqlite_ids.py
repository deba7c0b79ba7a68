"""SQLite: new rows get their ids from the writer, so the ORM inserts a flush's rows of a table in one statement.

SQLAlchemy can batch an INSERT of several rows only when it need not fetch their generated keys: SQLite cannot
say which RETURNING row belongs to which parameter set, so each new row with a server-made id costs a statement
of its own (an acknowledgment, the engineers' notices and their case messages: five). Every SQLite transaction
here begins with BEGIN IMMEDIATE and holds the database's only write lock until it ends, so no one else can
insert meanwhile, and max(id) + 1 is the id SQLite itself would have given (these tables are plain ROWID tables,
with no AUTOINCREMENT: SQLite too reuses the id of a deleted last row). PostgreSQL needs none of this: its
inserts are batched with RETURNING, in order, by SQLAlchemy itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, inspect, text
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from mailbot.db.transactions import per_transaction

_ALLOCATOR = "sqlite_ids"
_READ_AGAIN = "sqlite_ids_read_again"


def assign_ids(session: Session, _flush_context: Any, _instances: Any) -> None:
    """A before_flush hook: each new row without an id gets the next one of its table."""
    pending = [(row, mapper) for row in session.new if (mapper := _integer_keyed(inspect(row).mapper)) is not None]
    if not pending:
        return
    next_ids = _allocator(session, pending[0][1])
    for row, mapper in pending:
        key = mapper.primary_key[0]
        attribute = mapper.get_property_by_column(key).key
        table = key.table.name
        explicit = getattr(row, attribute)
        if explicit is not None:
            next_ids[table] = max(next_ids[table], explicit + 1)
            continue
        setattr(row, attribute, next_ids[table])
        next_ids[table] += 1


def take_ids(session: Session, mapper: Mapper[Any], count: int) -> range:
    """The next `count` ids of `mapper`'s table, for rows inserted with Core in this transaction (never reused)."""
    next_ids = _allocator(session, mapper)
    table = mapper.primary_key[0].table.name
    first = next_ids[table]
    next_ids[table] = first + count
    return range(first, first + count)


def forget_ids_after_direct_insert(state: ORMExecuteState) -> None:
    """A do_orm_execute hook: an INSERT through session.execute lets SQLite choose ids, so read them again (never
    lower than those handed out: rows written behind may hold some not inserted yet)."""
    if state.is_insert:
        state.session.info[_READ_AGAIN] = True


def _highest_ids(session: Session, mapper: Mapper[Any]) -> dict[str, int]:
    """The next id of every integer-keyed table, in one statement (an index lookup each) for the transaction."""
    keys = sorted({found.primary_key[0] for other in mapper.registry.mappers if (found := _integer_keyed(other))},
                  key=lambda column: column.table.name)
    query = "SELECT " + ", ".join(f"(SELECT max({key.name}) FROM {key.table.name})" for key in keys)
    highest = session.connection().execute(text(query)).one()
    return {key.table.name: (value or 0) + 1 for key, value in zip(keys, highest, strict=True)}


def _integer_keyed(mapper: Mapper[Any]) -> Mapper[Any] | None:
    keys = mapper.primary_key
    return mapper if len(keys) == 1 and isinstance(keys[0].type, Integer) and keys[0].autoincrement in (True, "auto") else None


def _allocator(session: Session, mapper: Mapper[Any]) -> dict[str, int]:
    """The next free id per table, for this session's outermost transaction (the one holding the write lock)."""
    next_ids: dict[str, int] = per_transaction(session, _ALLOCATOR)
    if session.info.pop(_READ_AGAIN, False) or not next_ids:
        for table, next_id in _highest_ids(session, mapper).items():
            next_ids[table] = max(next_ids.get(table, 0), next_id)
    return next_ids
