"""The transaction machinery under group commit: actions after the real commit, ids, case-number blocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.case_counters import expect_cases, give_back_unused, next_number
from mailbot.db.engine import after_commit, build_engine, build_session_factory
from mailbot.db.migrate import upgrade_to_head
from mailbot.db.models import CaseNumberCounter, OutboxMessage
from mailbot.db.outgoing import queue_outgoing
from mailbot.db.row_ids import take_ids
from mailbot.db.write_behind import insert_loaded

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


def take_numbers(session: Session, count: int, failing: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
    """A batch of `count` messages opening a case each, those in `failing` rolled back in their savepoint."""
    numbers = []
    for index in range(count):
        expect_cases(session, count - index)
        try:
            with session.begin_nested():
                number = next_number(session, "LC:2026")
                if index in failing:
                    raise ValueError("this message fails after taking its number")
                numbers.append(number)
        except ValueError:
            pass
    give_back_unused(session)
    return numbers


def counter(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(CaseNumberCounter.last_value).where(CaseNumberCounter.scope == "LC:2026")) or 0


def test_case_numbers_stay_dense_across_a_batch_with_failing_messages(engine: Engine, sessions: sessionmaker[Session]) -> None:
    updates = count_inserts(engine, "case_number_counters")
    with sessions() as session, session.begin():
        assert take_numbers(session, 6, failing={0, 3, 5}) == [1, 2, 3]  # the first one took the block, then failed
    assert counter(sessions) == 3
    with sessions() as session, session.begin():
        assert take_numbers(session, 4, failing={1}) == [4, 5, 6]
    assert counter(sessions) == 6
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        take_numbers(session, 3)
        raise RuntimeError("the batch rolls back")
    assert counter(sessions) == 6
    with sessions() as session, session.begin():
        assert take_numbers(session, 2) == [7, 8]
    assert counter(sessions) == 8
    assert len(updates) == 5  # one upsert per block: two in the first batch (its block went with message 0), then one each


@pytest.mark.postgres
def test_two_workers_taking_blocks_get_unique_dense_numbers(pg_url: str) -> None:
    import threading

    engine = build_engine(pg_url)
    upgrade_to_head(engine)
    sessions = build_session_factory(engine)
    taken: list[int] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        for round_ in range(10):
            with sessions() as session, session.begin():
                numbers = take_numbers(session, 5, failing={(seed + round_) % 5})
            with lock:
                taken.extend(numbers)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(1, 81))  # 2 workers x 10 batches x 4 cases
    assert counter(sessions) == 80
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CaseNumberCounter)) == 1
    engine.dispose()


def queue_mail(session: Session, n: int) -> None:
    queue_outgoing(session, message_id=f"behind{n}@example.test", kind="acknowledgment", recipient="c@acme.test",
                   envelope_from="support@example.test", subject="s", raw=b"x", is_auto_reply=True, priority=0,
                   now=NOW, inbound_id=None)


def outbox_ids(session: Session) -> list[str]:
    return list(session.scalars(select(OutboxMessage.message_id).order_by(OutboxMessage.id)))


def test_rows_written_behind_are_seen_by_the_next_statement_and_share_ids_with_the_orm(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        session.add(outbox_row(1))
        session.flush()
        queue_mail(session, 2)
        session.add(outbox_row(3))  # an ORM row after one written behind: its id must not collide
        assert sorted(outbox_ids(session)) == ["behind2@example.test", "t1@example.test", "t3@example.test"]
        queue_mail(session, 4)  # left waiting: the commit writes it
    with sessions() as session:
        assert "behind4@example.test" in outbox_ids(session)


def test_rows_waiting_when_a_savepoint_begins_outlive_its_rollback(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        queue_mail(session, 1)  # the first message's mail, still waiting
        with pytest.raises(ValueError), session.begin_nested():  # the second message fails
            queue_mail(session, 2)
            outbox_ids(session)  # a statement inside the savepoint writes what waits
            queue_mail(session, 3)
            raise ValueError("this message fails")
        with session.begin_nested():
            queue_mail(session, 4)
    with sessions() as session:
        assert outbox_ids(session) == ["behind1@example.test", "behind4@example.test"]


def test_a_rollback_drops_the_rows_waiting(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        with pytest.raises(ValueError), session.begin():
            queue_mail(session, 1)
            raise ValueError("the batch fails")
        with session.begin():
            queue_mail(session, 2)
    with sessions() as session:
        assert outbox_ids(session) == ["behind2@example.test"]


def test_a_row_inserted_loaded_leaves_the_session_when_its_savepoint_rolls_back(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        with pytest.raises(ValueError), session.begin_nested():
            row = outbox_row(1, id=take_ids(session, OutboxMessage, 1)[0])
            insert_loaded(session, row)
            assert row in session
            raise ValueError("this message fails")
        assert row not in session  # as an ORM-new row would: no UPDATE of a row that is gone
        assert outbox_ids(session) == []


def test_ids_read_again_after_a_direct_insert_never_reuse_those_of_rows_still_waiting(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        queue_mail(session, 1)
        with session.no_autoflush:  # the waiting row is not written before this INSERT (SQLite: ids read again)
            session.execute(insert(CaseNumberCounter).values(scope="test", last_value=0))
        queue_mail(session, 2)
    with sessions() as session:
        assert outbox_ids(session) == ["behind1@example.test", "behind2@example.test"]
