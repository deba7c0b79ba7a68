"""Where a session's transaction sits among its savepoints."""

from __future__ import annotations

from sqlalchemy.orm import SessionTransaction


def is_within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    """Whether `transaction` is `outer` or one of the savepoints inside it."""
    while transaction is not None and transaction is not outer:
        transaction = transaction.parent
    return transaction is outer


def outermost(transaction: SessionTransaction | None) -> SessionTransaction | None:
    while transaction is not None and transaction.parent is not None:
        transaction = transaction.parent
    return transaction
