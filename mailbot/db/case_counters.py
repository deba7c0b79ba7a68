"""Case numbers: taken from a counter row, a block at a time when a batch of mail may open several cases.

The counter's row lock orders concurrent openers (two workers, two instances): numbers are unique, and dense
because a transaction gives back what it did not use before it commits. A batch of ingest says how many cases it
may still open (`expect_cases`); the first case it opens then takes that many numbers in one statement instead
of one statement per case, and `give_back_unused` returns the rest. A block taken inside a savepoint that rolls
back is forgotten with it (the database forgot it too), so a number is never handed out twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from mailbot.db.engine import is_within
from mailbot.db.models import CaseNumberCounter

_BLOCKS = "case_number_blocks"
_EXPECTED = "case_numbers_expected"


@dataclass
class _Block:
    next: int  # the next number to hand out
    last: int  # the last number taken from the counter
    taken_in: SessionTransaction  # the (nested) transaction whose statement took it
    handed: list[tuple[SessionTransaction, int]]  # each number handed out, with the transaction it went to


def expect_cases(session: Session, count: int) -> None:
    """At most `count` more cases may be opened in this transaction: a block of that size is taken when needed."""
    session.info[_EXPECTED] = max(count, 1)


def next_number(session: Session, scope: str) -> int:
    """The next number of a counter; the row lock it takes orders concurrent openers until the commit."""
    blocks = _blocks(session)
    block = blocks.get(scope)
    if block is None or block.next > block.last:
        size = session.info.get(_EXPECTED, 1)
        last = _take(session, scope, size)
        block = _Block(last - size + 1, last, _current(session), [])
        blocks[scope] = block
    number = block.next
    block.next += 1
    block.handed.append((_current(session), number))
    return number


def give_back_unused(session: Session) -> None:
    """Before the commit: the counter rows go back to the last number used (one UPDATE per block with leftovers)."""
    for scope, block in _blocks(session).items():
        if block.next <= block.last:
            session.execute(update(CaseNumberCounter).where(CaseNumberCounter.scope == scope)
                            .values(last_value=block.next - 1))
            block.last = block.next - 1
    session.info.pop(_EXPECTED, None)


def _take(session: Session, scope: str, size: int) -> int:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(CaseNumberCounter)
        .values(scope=scope, last_value=size)
        .on_conflict_do_update(index_elements=[CaseNumberCounter.scope],
                               set_={"last_value": CaseNumberCounter.last_value + size})
        .returning(CaseNumberCounter.last_value)
    )
    return int(session.execute(statement).scalar_one())


def _blocks(session: Session) -> dict[str, _Block]:
    blocks: dict[str, _Block] | None = session.info.get(_BLOCKS)
    if blocks is None:
        blocks = {}
        session.info[_BLOCKS] = blocks
        event.listen(session, "after_soft_rollback", _forget_rolled_back)
        event.listen(session, "after_transaction_end", _forget_when_outermost_ends)
    return blocks


def _forget_when_outermost_ends(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.get(_BLOCKS, {}).clear()


def _current(session: Session) -> SessionTransaction:
    current = session.get_nested_transaction() or session.get_transaction()
    assert current is not None, "case numbers are taken inside a transaction"
    return current


def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    """What was rolled back is undone in the database: a block it took is gone, numbers it used are free again
    (the latest ones: messages are handled one after the other)."""
    blocks: dict[str, _Block] = session.info.get(_BLOCKS, {})
    for scope, block in list(blocks.items()):
        if is_within(block.taken_in, rolled_back):
            del blocks[scope]
            continue
        undone = [number for transaction, number in block.handed if is_within(transaction, rolled_back)]
        if undone:
            block.next = min(undone)
            block.handed = [(transaction, number) for transaction, number in block.handed if number < block.next]
