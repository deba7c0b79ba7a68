"""The search index of migration 0014 on both databases: filled from existing rows, kept in step, dropped cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import Engine, delete, insert, select, update

from mailbot.cases.search import SearchQuery, search_cases, search_terms
from mailbot.db.engine import build_engine, build_session_factory
from mailbot.db.migrate import alembic_config, upgrade_to_head
from mailbot.db.models import Account, Case, CaseMessage, Plan

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def migrate_to(engine: Engine, revision: str, downgrade: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(config, revision)


def add_case(engine: Engine, number: str, subject: str, body: str, account: str = "acme",
             opened_at: datetime = NOW) -> None:
    """Core inserts of the columns set here only: this also runs at revision 0013, before later columns exist."""
    with engine.begin() as connection:
        owner = connection.execute(select(Account.id).filter_by(key=account)).scalar()
        if owner is None:
            if connection.execute(select(Plan.name).filter_by(name="standard")).first() is None:
                connection.execute(insert(Plan).values(name="standard"))
            owner = connection.execute(insert(Account).values(key=account, name=account.upper(), plan_name="standard",
                                                              updated_at=NOW).returning(Account.id)).scalar_one()
        case_id = connection.execute(insert(Case).values(
            number=number, account_id=owner, subject=subject, status="open", language="es", opened_at=opened_at,
            updated_at=opened_at).returning(Case.id)).scalar_one()
        connection.execute(insert(CaseMessage).values(
            case_id=case_id, direction="in", message_id=f"<{number}@example.com>", sender="ana@example.com",
            subject=subject, body_text=body, created_at=opened_at))


def found(engine: Engine, words: str, **filters: object) -> list[tuple[str, str]]:
    with build_session_factory(engine)() as session:
        return [(match.number, match.line) for match in search_cases(session, SearchQuery(search_terms(words), **filters))]  # type: ignore[arg-type]


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = build_engine(db_url)
    yield engine
    engine.dispose()


def test_existing_cases_are_indexed_and_new_ones_follow(engine: Engine) -> None:
    migrate_to(engine, "0013")
    add_case(engine, "ACME-1", "Fallo de la fuente", "Hola,\nla garantía del equipo vence pronto.\nGracias")
    upgrade_to_head(engine)
    add_case(engine, "ACME-2", "Disk failed", "> quoted garantía\nThe disk failed after the update.", opened_at=NOW + timedelta(days=2))
    assert sorted(found(engine, "garantia")) == [("ACME-1", "la [garantía] del equipo vence pronto."),
                                                 ("ACME-2", "> quoted [garantía]")]
    assert found(engine, "failing disks") == [("ACME-2", "The [disk] [failed] after the update.")]
    assert found(engine, "garantia", since=NOW + timedelta(days=1)) == [("ACME-2", "> quoted [garantía]")]
    assert found(engine, "garantia", account="OTHER") == []


def test_changed_and_deleted_text_leaves_the_index(engine: Engine) -> None:
    upgrade_to_head(engine)
    add_case(engine, "ACME-1", "Router caído", "El router no arranca")
    with build_session_factory(engine)() as session, session.begin():
        session.execute(update(Case).values(subject="Switch averiado"))
        session.execute(update(CaseMessage).values(subject="Re: switch", body_text="texto borrado"))
    assert found(engine, "router") == []
    assert found(engine, "switch borrado") == [("ACME-1", "texto [borrado]")]
    assert found(engine, "averiado") == [("ACME-1", "Switch [averiado]")]
    with build_session_factory(engine)() as session, session.begin():
        session.execute(delete(CaseMessage))
        session.execute(delete(Case))
    assert found(engine, "averiado") == []


def test_downgrade_removes_the_index_and_upgrade_rebuilds_it(engine: Engine) -> None:
    upgrade_to_head(engine)
    add_case(engine, "ACME-1", "Licencia caducada", "La licencia caducó ayer")
    migrate_to(engine, "0013", downgrade=True)
    add_case(engine, "ACME-2", "Licencia nueva", "Otra licencia")
    upgrade_to_head(engine)
    assert sorted(number for number, _line in found(engine, "licencia")) == ["ACME-1", "ACME-2"]
