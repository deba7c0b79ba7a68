"""The directory held in memory by a running ingestor follows `directory import`: new, moved and removed contacts."""

from __future__ import annotations

import threading
from pathlib import Path

from mailbot.directory.files import read_directory_file
from mailbot.directory.importer import import_directory
from mailbot.intake.ingest import Ingestor
from mailbot.sources.factory import build_source
from tests.support.bot import DIRECTORY_TOML, prepared_app, write_config
from tests.support.mailgen import customer_mail

NEWCOMER = """
[[accounts]]
key = "initech"
name = "Initech"
plan = "advanced"
contracts = [{ reference = "INI-1", starts_on = 2020-01-01 }]
contacts = [{ email = "peter@initech.test", name = "Peter Gibbons" }]
"""


def reimport(app, config: Path, directory: str) -> None:  # type: ignore[no-untyped-def]
    (config.parent / "directory.toml").write_text(directory)
    with app.sessions() as session:
        import_directory(session, read_directory_file(config.parent / "directory.toml"), app.settings.plans,
                         "directory.toml", app.clock.now())
        session.commit()


def test_a_running_ingestor_sees_each_import_and_never_loses_a_message(tmp_path: Path, db_url: str) -> None:
    inbox = tmp_path / "inbox"
    config = write_config(tmp_path, db_url=db_url, source={"kind": "maildir", "path": "inbox"},
                          delivery={"kind": "maildir", "path": "outbox"})
    app = prepared_app(config)
    ingestor = Ingestor(app)  # one ingestor for every round, as `mailbot run` keeps it
    source = build_source(app.settings, app.sessions)
    source.refresh()

    def round_with(name: str, sender: str) -> dict[str, int]:
        (inbox / "new" / name).write_bytes(customer_mail(sender=sender, subject=f"Consulta {name}"))
        return dict(ingestor.ingest(source, threading.Event()).outcomes)

    assert round_with("1.a.host", "peter@initech.test") == {"refused": 1}  # not a contact yet
    reimport(app, config, DIRECTORY_TOML + NEWCOMER)
    assert round_with("2.b.host", "peter@initech.test") == {"case_opened": 1}  # the import is seen at the next round
    reimport(app, config, DIRECTORY_TOML.replace('  { email = "pedro@acme.test", name = "Pedro López" },\n', ""))
    assert round_with("3.c.host", "pedro@acme.test") == {"refused": 1}  # removed: no longer a designated contact

    # The directory changes between the round's start and the message: the snapshot still holds the contact whose
    # row is gone, the case's insert fails on it, and the message is handled with the directory read again.
    reimport(app, config, DIRECTORY_TOML + NEWCOMER)
    (inbox / "new" / "4.d.host").write_bytes(customer_mail(sender="peter@initech.test", subject="Otra consulta"))
    [mail] = list(source.new_mail(ingestor.position(source.key, 0)))  # the round reads the directory: peter is there
    reimport(app, config, DIRECTORY_TOML + NEWCOMER.replace("peter@initech.test", "samir@initech.test"))
    outcome = ingestor.handle(source.key, mail)
    source.close()
    app.dispose()
    assert outcome == "refused"
