"""The transaction machinery under group commit: actions after the real commit, ids, case-number blocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.engine import after_commit, build_engine, build_session_factory
from mailbot.db.migrate import upgrade_to_head
from mailbot.db.models import OutboxMessage

NOW = datetime(2026, 12, 3, 9, tzinfo=timezone.utc)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    built = build_engine(db_url)
    upgrade_to_head(built)
    yield built
    built.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return build_session_factory(engine)


def outbox_row(n: int, **values: object) -> OutboxMessage:
    return OutboxMessage(message_id=f"t{n}@example.test", kind="acknowledgment", recipient="c@acme.test",
                         envelope_from="support@example.test", subject="s", raw=b"x", is_auto_reply=False,
                         status="pending", attempts=0, next_attempt_at=NOW, created_at=NOW, priority=0, **values)


def test_actions_wait_for_the_outermost_commit_not_a_savepoint_release(sessions: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with sessions() as session:
        with session.begin():
            with session.begin_nested():
                after_commit(session, lambda: ran.append("released"))
            with pytest.raises(ValueError), session.begin_nested():
                after_commit(session, lambda: ran.append("rolled back savepoint"))
                raise ValueError("this message fails")
            assert ran == []  # a RELEASE is not the commit
        assert ran == ["released"]
        with pytest.raises(ValueError), session.begin():
            with session.begin_nested():
                after_commit(session, lambda: ran.append("batch rolled back"))
            raise ValueError("the batch fails after the savepoint was released")
        with session.begin():
            pass
    assert ran == ["released"]


def count_inserts(engine: Engine, into: str) -> list[str]:
    seen: list[str] = []

    def on_execute(_conn, _cursor, statement: str, *_rest) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith(f"INSERT INTO {into}"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    return seen


def test_a_flush_inserts_its_new_rows_of_a_table_in_one_statement(engine: Engine, sessions: sessionmaker[Session]) -> None:
    inserts = count_inserts(engine, "outbox")
    with sessions() as session, session.begin():
        session.add_all([outbox_row(n) for n in range(4)])
        session.flush()
        session.execute(insert(OutboxMessage), [dict(  # a Core insert in between: its id is the database's choice
            message_id="core@example.test", kind="acknowledgment", recipient="c@acme.test",
            envelope_from="support@example.test", subject="s", raw=b"x", is_auto_reply=False, status="pending",
            attempts=0, next_attempt_at=NOW, created_at=NOW, priority=0)])
        session.add_all([outbox_row(n) for n in range(4, 7)])
        session.flush()
    with sessions() as session:
        ids = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
    assert ids == list(range(1, 9))
    assert len(inserts) == 3  # the rows of a flush in one statement, on both databases
