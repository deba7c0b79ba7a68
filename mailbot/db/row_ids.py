"""Ids for rows inserted with Core, known before their INSERT, so the rows that point at them go in alongside.

SQLite: from the transaction's allocator (sqlite_ids), which the ORM's own inserts share. PostgreSQL: from the
table's sequence, a block at a time (one statement per table for many rows); values a rolled-back transaction
took are never handed out again, as with any sequence. Ids follow creation order within a transaction. Across two
workers' transactions running at the same moment they may not (each took its block ahead): two messages of one
case handled within the same fraction of a second by two workers can list in either order, which is as arbitrary
as their order of arrival at two workers was.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from mailbot.db import sqlite_ids
from mailbot.db.transactions import per_transaction

SEQUENCE_BLOCK = 64  # PostgreSQL: the most ids fetched per round trip, per table
ROWS_PER_MESSAGE = 3  # about as many rows of a table as one message leaves (case copies: in, ack, notice)
_KEPT = "sequence_ids"
_EXPECTED = "sequence_ids_expected"


def expect_messages(session: Session, count: int) -> None:
    """This transaction will handle about `count` messages: PostgreSQL's blocks are sized for them, so a batch
    takes each table's ids in one round trip and a single message wastes few (the ids are 32-bit)."""
    per_transaction(session, _EXPECTED)["messages"] = count


def take_ids(session: Session, model: type[Any], count: int) -> list[int]:
    mapper = inspect(model)
    if session.get_bind().dialect.name == "sqlite":
        return list(sqlite_ids.take_ids(session, mapper, count))
    return _from_sequence(session, mapper.local_table.name, count)


def _from_sequence(session: Session, table: str, count: int) -> list[int]:
    kept: dict[str, list[int]] = per_transaction(session, _KEPT)
    ready = kept.setdefault(table, [])
    if len(ready) < count:
        ready += session.connection().execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :how_many)"),
            {"table": table, "how_many": max(count - len(ready), _block(session))},
        ).scalars()
    taken, ready[:] = ready[:count], ready[count:]
    return taken


def _block(session: Session) -> int:
    messages = per_transaction(session, _EXPECTED).get("messages", 1)
    return min(SEQUENCE_BLOCK, ROWS_PER_MESSAGE * messages)
