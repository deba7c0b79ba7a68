"""Where a session's transaction sits among its savepoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, SessionTransaction


def is_within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    """Whether `transaction` is `outer` or one of the savepoints inside it."""
    while transaction is not None and transaction is not outer:
        transaction = transaction.parent
    return transaction is outer


def outermost(transaction: SessionTransaction | None) -> SessionTransaction | None:
    while transaction is not None and transaction.parent is not None:
        transaction = transaction.parent
    return transaction


def per_transaction(session: Session, key: str) -> dict[str, Any]:
    """A dict in `session.info[key]` for the session's outermost transaction: a new one for each transaction."""
    if session.get_transaction() is None:
        session.connection()  # begun now: what is kept belongs to this transaction
    current = outermost(session.get_transaction())
    kept = session.info.get(key)
    if kept is None or kept[0] is not current:
        kept = (current, {})
        session.info[key] = kept
    return kept[1]
