"""`mailbot demo`: a self-contained try-out — sample mail in a Maildir, SQLite, replies written to a folder."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import textwrap
import time
from pathlib import Path

from mailbot.config import load_settings
from mailbot.db.engine import build_engine
from mailbot.db.migrate import upgrade_to_head
from mailbot.directory.files import read_directory_file
from mailbot.directory.importer import import_directory
from mailbot.entrypoints.invocation import mailbot_command
from mailbot.entrypoints.tables import render_table
from mailbot.logs import configure_logging
from mailbot.parsing import parse_message
from mailbot.resources import config_dir
from mailbot.app import build_app
from mailbot.cases.views import list_cases, recent_inbound
from mailbot.runtime.runner import run_once

REASON_WIDTH = 60  # the reason is wrapped at this width, never cut


def run_demo(target: Path) -> int:
    demo_files = config_dir() / "demo"
    prepare(target, demo_files)
    settings = load_settings(target / "mailbot.toml")
    configure_logging("WARNING")
    engine = build_engine(settings.database.url)
    upgrade_to_head(engine)
    engine.dispose()
    app = build_app(settings)
    try:
        with app.sessions() as session:
            report = import_directory(
                session, read_directory_file(target / "directory.toml"), settings.plans, "directory.toml", app.clock.now()
            )
            session.commit()
        summary = run_once(app)
        with app.sessions() as session:
            inbound = recent_inbound(session)
            cases = list_cases(session)
    finally:
        app.dispose()
    print(f"demo folder: {target.resolve()}")
    print(f"directory: {report.summary()}")
    print(f"\nmail handled ({summary.ingest.total}):")
    print(render_table(("outcome", "sender", "subject", "reason"),
                       [[row["outcome"], row["sender"], row["subject"][:45], textwrap.fill(row["reason"], REASON_WIDTH)] for row in reversed(inbound)]))
    print(f"\ncases ({len(cases)}):")
    print(render_table(("number", "account", "subject"), [[c["number"], c["account"], c["subject"][:50]] for c in cases]))
    print(f"\nreplies written to {settings.delivery.path}/new:")  # type: ignore[union-attr]
    for path in sorted((target / "outbox" / "new").iterdir()):
        message = parse_message(path.read_bytes(), max_stored_attachment_bytes=0)
        print(f"  to {message.to[0].email if message.to else '?'}: {message.subject}")
    run_mailbot = f"{mailbot_command()} --config {shlex.quote(str(target / 'mailbot.toml'))}"
    print(f"\nnext: add .eml files to {target / 'inbox' / 'new'} and run\n"
          f"  {run_mailbot} run --once\n"
          f"  {run_mailbot} cases list")
    return 0


def prepare(target: Path, demo_files: Path) -> None:
    """Fresh demo folder each time, so the demo always shows the same story."""
    for name in ("inbox", "outbox"):
        shutil.rmtree(target / name, ignore_errors=True)
    for name in ("mailbot.db", "mailbot.db-wal", "mailbot.db-shm"):
        (target / name).unlink(missing_ok=True)
    for folder in ("new", "cur", "tmp"):
        (target / "inbox" / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy(demo_files / "mailbot.toml", target / "mailbot.toml")
    shutil.copy(demo_files / "directory.toml", target / "directory.toml")
    for index, sample in enumerate(sorted((demo_files / "mail").glob("*.eml"))):
        name = f"{int(time.time())}.{index:04d}_{sample.stem}.{socket.gethostname()}"
        destination = target / "inbox" / "new" / name
        shutil.copy(sample, destination)
        stamp = time.time() - 100 + index  # keep the samples' order as arrival order
        os.utime(destination, (stamp, stamp))
