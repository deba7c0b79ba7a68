"""The embedded default: Maildir in, Maildir out, SQLite — no server at all."""

from __future__ import annotations

import os
from pathlib import Path

from mailbot.runtime.runner import run_once
from tests.support.bot import prepared_app, write_config
from tests.support.mailgen import customer_mail


def maildir(path: Path) -> Path:
    for folder in ("new", "cur", "tmp"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    return path


def test_maildir_in_and_out(tmp_path: Path) -> None:
    inbox = maildir(tmp_path / "inbox")
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source={"kind": "maildir", "path": "inbox"},
                          delivery={"kind": "maildir", "path": "outbox"})
    app = prepared_app(config)
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
