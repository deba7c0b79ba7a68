"""The embedded default: Maildir in, Maildir out, SQLite — no server at all; the sweep of cur/ stays cheap."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mailbot.app import App
from mailbot.db.checkpoints import Position
from mailbot.runtime.runner import run_once
from mailbot.sources.maildir import MaildirSource
from tests.support.bot import prepared_app, write_config
from tests.support.mailgen import customer_mail


def maildir(path: Path) -> Path:
    for folder in ("new", "cur", "tmp"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    return path


def maildir_bot(tmp_path: Path) -> tuple[Path, App]:
    inbox = maildir(tmp_path / "inbox")
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source={"kind": "maildir", "path": "inbox"},
                          delivery={"kind": "maildir", "path": "outbox"})
    return inbox, prepared_app(config)


def test_maildir_in_and_out(tmp_path: Path) -> None:
    inbox, app = maildir_bot(tmp_path)
    (inbox / "new" / "1.a.host").write_bytes(customer_mail(message_id="md-1@acme.test"))
    (inbox / "new" / "2.b.host").write_bytes(customer_mail(sender="x@else.test"))
    # Mail another client already moved to cur/ (read) must still be handled, once.
    (inbox / "cur" / "3.c.host:2,S").write_bytes(customer_mail(sender="john@globex.test"))

    first = run_once(app)
    second = run_once(app)
    app.dispose()

    assert first.ingest.outcomes == {"case_opened": 2, "refused": 1}
    assert second.ingest.total == 0
    assert sorted(os.listdir(inbox / "new")) == []
    assert sorted(os.listdir(inbox / "cur")) == ["1.a.host:2,S", "2.b.host:2,S", "3.c.host:2,S"]
    written = sorted((tmp_path / "outbox" / "new").iterdir())
    assert len(written) == 3
    assert any(b"[LC-2026-00001]" in path.read_bytes() for path in written)


class CountingRecords:
    """The database's "already recorded?" answer for a Maildir, counting how often it is asked."""

    def __init__(self, refs: set[str]) -> None:
        self.refs, self.asked = refs, 0

    def __call__(self, key: str, source_ref: str) -> bool:
        self.asked += 1
        return source_ref in self.refs


def swept(source: MaildirSource, records: CountingRecords) -> list[str]:
    """One complete sweep; what it yields is handled (recorded) as the ingest would."""
    records.asked = 0
    found = [mail.source_ref for mail in source.sweep(Position(0, 0))]
    records.refs.update(found)
    time.sleep(FILE_CLOCK_TICK)  # what happens next gets a later ctime than this sweep's start
    return found


def moved_in_by_a_client(inbox: Path, name: str) -> None:
    (inbox / "new" / name).write_bytes(customer_mail())
    os.replace(inbox / "new" / name, inbox / "cur" / f"{name}:2,S")  # read in a client: the same flags as ours
    time.sleep(FILE_CLOCK_TICK)  # a move in the very tick a sweep starts is checked once more after it: harmless


FILE_CLOCK_TICK = 0.05  # file times come from the kernel's coarse clock (a few ms per tick)
HANDLED = 3_000


def test_a_file_a_client_moves_to_cur_after_thousands_handled_is_the_only_one_checked(tmp_path: Path) -> None:
    inbox = maildir(tmp_path / "inbox")
    for n in range(HANDLED):
        (inbox / "cur" / f"{n}.M{n}.host:2,S").write_bytes(b"Subject: old\n\nhandled long ago\n")
    records = CountingRecords({f"{n}.M{n}.host" for n in range(HANDLED)})
    time.sleep(FILE_CLOCK_TICK)
    source = MaildirSource(inbox, 1.0, records, 1_000_000)

    assert swept(source, records) == [] and records.asked == HANDLED  # the first sweep ever checks everything once
    assert swept(source, records) == [] and records.asked == 0
    moved_in_by_a_client(inbox, "late.M1.host")
    assert swept(source, records) == ["late.M1.host"] and records.asked == 1

    restarted = MaildirSource(inbox, 1.0, records, 1_000_000)  # a new process: `run --once` from cron
    assert swept(restarted, records) == [] and records.asked == 0
    moved_in_by_a_client(inbox, "later.M2.host")
    assert swept(restarted, records) == ["later.M2.host"] and records.asked == 1


def test_a_sweep_cut_short_is_not_taken_as_complete(tmp_path: Path) -> None:
    inbox = maildir(tmp_path / "inbox")
    records = CountingRecords(set())
    source = MaildirSource(inbox, 1.0, records, 1_000_000)
    assert swept(source, records) == []
    moved_in_by_a_client(inbox, "a.M1.host")
    moved_in_by_a_client(inbox, "b.M2.host")
    cut = source.sweep(Position(0, 0))
    next(cut)
    cut.close()  # stopped (SIGTERM) or failed after the first message, which was never recorded
    assert sorted(swept(MaildirSource(inbox, 1.0, records, 1_000_000), records)) == ["a.M1.host", "b.M2.host"]
    assert os.listdir(inbox / "tmp") == []  # the cut sweep's marker is gone


def test_run_once_handles_mail_a_client_moved_to_cur_between_runs(tmp_path: Path) -> None:
    inbox, app = maildir_bot(tmp_path)
    (inbox / "new" / "1.a.host").write_bytes(customer_mail(message_id="md-1@acme.test"))
    first = run_once(app)
    time.sleep(FILE_CLOCK_TICK)
    (inbox / "new" / "2.b.host").write_bytes(customer_mail(message_id="md-2@acme.test", subject="Otra consulta"))
    os.replace(inbox / "new" / "2.b.host", inbox / "cur" / "2.b.host:2,S")
    second = run_once(app)
    third = run_once(app)
    app.dispose()

    assert first.ingest.outcomes == {"case_opened": 1}
    assert second.ingest.outcomes == {"case_opened": 1}
    assert third.ingest.total == 0
    assert sorted(os.listdir(inbox / "cur")) == ["1.a.host:2,S", "2.b.host:2,S"]
