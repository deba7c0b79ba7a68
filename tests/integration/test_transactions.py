"""The transaction machinery under group commit: actions after the real commit, ids, case-number blocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine, select
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
