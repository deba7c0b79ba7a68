"""Schema and directory import on both databases."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from mailbot.db.engine import build_engine
from mailbot.db.migrate import upgrade_to_head
from mailbot.db.revisions import SchemaOutOfDate, ensure_schema_current
from mailbot.config import PlanSettings
from mailbot.db.models import Account, Base, Contact, Contract, is_modelled
from mailbot.directory.files import DirectoryFileError, read_directory_file
from mailbot.directory.importer import import_directory

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)
PLANS = {"standard": PlanSettings(max_contacts=2), "advanced": PlanSettings()}


@pytest.fixture
def migrated(db_url: str):  # type: ignore[no-untyped-def]
    engine = build_engine(db_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def test_migrations_match_the_models(migrated) -> None:  # type: ignore[no-untyped-def]
    with migrated.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"include_object": is_modelled}),
                                       Base.metadata)
    assert differences == []


def test_empty_database_is_out_of_date(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(SchemaOutOfDate, match="mailbot db upgrade"):
        ensure_schema_current(engine)
    engine.dispose()


def run_import(engine, path: Path):  # type: ignore[no-untyped-def]
    from mailbot.db.engine import build_session_factory

    with build_session_factory(engine)() as session:
        report = import_directory(session, read_directory_file(path), PLANS, str(path), NOW)
        session.commit()
    return report


TOML = """
[[accounts]]
key = "acme"
name = "ACME"
plan = "standard"
contracts = [{ reference = "C1", starts_on = 2026-01-01, ends_on = 2026-12-31 }]
contacts = [{ email = "Ana@ACME.test", name = "Ana" }, { email = "pedro@acme.test" }]
"""


def test_import_is_idempotent_and_updates(migrated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dir.toml"
    path.write_text(TOML)
    assert run_import(migrated, path).summary() == "1 account created, 1 contract created, 2 contacts created"
    assert run_import(migrated, path).summary() == "no changes"
    path.write_text(TOML.replace("2026-12-31", "2027-12-31").replace(', { email = "pedro@acme.test" }', ""))
    assert run_import(migrated, path).summary() == "1 contract updated, 1 contact removed"
    from mailbot.db.engine import build_session_factory

    with build_session_factory(migrated)() as session:
        assert [c.email for c in session.scalars(select(Contact))] == ["ana@acme.test"]
        assert session.scalars(select(Contract)).one().ends_on.year == 2027
        assert session.scalars(select(Account)).one().plan_name == "standard"


def test_yaml_and_csv_give_the_same_directory(migrated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "dir.yaml").write_text(
        "accounts:\n  - key: acme\n    name: ACME\n    plan: standard\n"
        "    contracts: [{reference: C1, starts_on: 2026-01-01, ends_on: 2026-12-31}]\n"
        "    contacts: [{email: ana@acme.test, name: Ana}, {email: pedro@acme.test}]\n"
    )
    (tmp_path / "dir.csv").write_text(
        "account_key,account_name,plan,contract_reference,contract_starts_on,contract_ends_on,contact_email,contact_name\n"
        "acme,ACME,standard,C1,2026-01-01,2026-12-31,ana@acme.test,Ana\n"
        "acme,ACME,standard,C1,2026-01-01,2026-12-31,pedro@acme.test,\n"
    )
    assert "2 contacts created" in run_import(migrated, tmp_path / "dir.yaml").summary()
    assert run_import(migrated, tmp_path / "dir.csv").summary() == "no changes"


def test_contact_in_two_accounts_is_refused_naming_both(migrated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dir.toml"
    path.write_text(TOML + TOML.replace('key = "acme"', 'key = "other"'))
    with pytest.raises(DirectoryFileError) as caught:
        run_import(migrated, path)
    assert any("ana@acme.test" in p and "'acme'" in p and "'other'" in p for p in caught.value.problems)


def test_unknown_plan_and_bad_values_are_reported_with_place(migrated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dir.toml"
    path.write_text(TOML.replace('plan = "standard"', 'plan = "gold"'))
    with pytest.raises(DirectoryFileError) as caught:
        run_import(migrated, path)
    assert "account 'acme': plan 'gold' is not defined" in caught.value.problems[0]
    path.write_text(TOML.replace("Ana@ACME.test", "not-an-address").replace("2026-12-31", "2025-01-01"))
    with pytest.raises(DirectoryFileError) as caught:
        read_directory_file(path)
    problems = "\n".join(caught.value.problems)
    assert "account 'acme': contacts[0].email" in problems and "before starts_on" in problems


def test_contact_moving_between_accounts_keeps_its_row(migrated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mailbot.db.engine import build_session_factory

    path = tmp_path / "dir.toml"
    other = '\n[[accounts]]\nkey = "aaa"\nname = "AAA"\nplan = "standard"\ncontacts = []\n'
    path.write_text(other + TOML)
    run_import(migrated, path)
    with build_session_factory(migrated)() as session:
        before = session.scalars(select(Contact).where(Contact.email == "ana@acme.test")).one().id
    # "aaa" comes first in the file and now claims ana: her row must move, not be deleted and re-created.
    path.write_text(other.replace("contacts = []", 'contacts = [{ email = "ana@acme.test" }]') + TOML.replace('{ email = "Ana@ACME.test", name = "Ana" }, ', ""))
    run_import(migrated, path)
    with build_session_factory(migrated)() as session:
        ana = session.scalars(select(Contact).where(Contact.email == "ana@acme.test")).one()
        assert ana.id == before and ana.account.key == "aaa"


def test_duplicate_contract_reference_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dir.toml"
    path.write_text(TOML.replace('contracts = [{ reference = "C1", starts_on = 2026-01-01, ends_on = 2026-12-31 }]',
                                 'contracts = [{ reference = "C1", starts_on = 2026-01-01 }, { reference = "C1", starts_on = 2027-01-01 }]'))
    with pytest.raises(DirectoryFileError, match="listed twice: C1"):
        read_directory_file(path)


def test_more_contacts_than_the_plan_allows_is_refused(migrated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dir.toml"
    path.write_text(TOML.replace('{ email = "pedro@acme.test" }', '{ email = "pedro@acme.test" }, { email = "luisa@acme.test" }'))
    with pytest.raises(DirectoryFileError) as caught:
        run_import(migrated, path)
    assert "account 'acme': 3 designated contacts, but plan 'standard' allows 2" in caught.value.problems[0]


def test_migration_0008_percent_encodes_the_user_in_imap_source_keys(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from mailbot.db.migrate import alembic_config

    engine = build_engine(db_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    old, maildir = "imap://support@example.test@mail.example.test:993/INBOX", "maildir:/srv/mail"
    with engine.begin() as connection:
        for key in (old, maildir):
            connection.execute(text("INSERT INTO mailbox_checkpoints (source, uidvalidity, last_uid, updated_at)"
                                    " VALUES (:key, 7, 42, :now)"), {"key": key, "now": NOW})
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # idempotent
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT source, last_uid FROM mailbox_checkpoints")).all())
    engine.dispose()
    assert keys == {"imap://support%40example.test@mail.example.test:993/INBOX": 42, maildir: 42}
