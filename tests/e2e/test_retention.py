"""Attachments out, the retention purge and `contact forget`, through the real CLI over cases made by the real pipeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import LargeBinary, String, create_engine, select

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.db.models import Base
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.mailgen import customer_mail
from tests.support.poison import deep_nesting
from tests.support.survey import ENGINEER, Mailboxes, text_of

LONG_AGO = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # months before the wall clock the CLI runs on
RETENTION = "\n[retention]\nclosed_case_raw_days = 30\nquarantine_days = 30\n"


@pytest.fixture
def config(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> Path:  # type: ignore[no-untyped-def]
    return write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                        delivery=smtp_delivery(smtp_sink), engineers=[ENGINEER],
                        limits={"auto_replies_per_sender_per_hour": 100})


@pytest.fixture
def boxes(config: Path, dovecot, mailbox_user: str, smtp_sink) -> Any:  # type: ignore[no-untyped-def]
    app = prepared_app(config, FixedClock(LONG_AGO))
    yield Mailboxes(app, dovecot, mailbox_user, smtp_sink)
    app.dispose()


def case_number(config: Path, subject: str) -> str:
    [row] = [row for row in json.loads(run_cli(config, "cases", "list", "--json").stdout) if subject in row["subject"]]
    return str(row["number"])


def opened(boxes: Mailboxes, subject: str, attachment: tuple[str, str, bytes] | None, sender: str = "ana@acme.test") -> EmailMessage:
    """A new case; returns the engineer's notice."""
    mails = boxes.deliver(customer_mail(sender=sender, subject=subject, body="La impresora 4200 no imprime.",
                                        attachment=attachment), 2)
    [notice] = [mail for mail in mails if ENGINEER["email"] in mail["To"]]
    return notice


def engineer_says(boxes: Mailboxes, notice: EmailMessage, body: str) -> list[EmailMessage]:
    return boxes.deliver(customer_mail(sender=ENGINEER["email"], sender_name=ENGINEER["name"], subject=f"Re: {notice['Subject']}",
                                       in_reply_to=notice["Message-ID"].strip("<>"), body=body), 1)


def whole_life(boxes: Mailboxes, subject: str) -> None:
    """Request with a file, engineer answer, close, rating 4 with a comment."""
    notice = opened(boxes, subject, ("informe.log", "text/plain", b"ERROR ana@acme.test 0x5\n"))
    boxes.app.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
    engineer_says(boxes, notice, "Hola, revisa el cable.")
    [closure] = engineer_says(boxes, notice, "#close solved\n")
    boxes.deliver(customer_mail(subject=f"Re: {closure['Subject']}", in_reply_to=closure["Message-ID"].strip("<>"),
                                body="4 muy bien, gracias Ana García"), 1)


def test_attachments_list_and_save_keep_hostile_names_inside_the_folder(config: Path, boxes: Mailboxes, tmp_path: Path) -> None:
    first = boxes.deliver(customer_mail(message_id="att-1@acme.test", subject="Fichero raro",
                                        attachment=("../../etc/passwd", "text/plain", b"first\n")), 2)
    assert first
    boxes.deliver(customer_mail(message_id="att-2@acme.test", subject="Re: Fichero raro", in_reply_to="att-1@acme.test",
                                attachment=("passwd", "text/plain", b"second\n")), 1)
    number = case_number(config, "Fichero raro")
    rows = json.loads(run_cli(config, "attachments", "list", number, "--json").stdout)
    assert [(row["filename"], row["size"], row["content_type"], row["author"], row["from"], row["stored"]) for row in rows] == [
        ("../../etc/passwd", 6, "text/plain", "customer", "ana@acme.test", "yes"),
        ("passwd", 7, "text/plain", "customer", "ana@acme.test", "yes")]
    assert "../../etc/passwd" in run_cli(config, "attachments", "list", number).stdout

    folder = tmp_path / "out" / "case"
    saved = run_cli(config, "attachments", "save", number, "--to", str(folder)).stdout
    assert "2 file(s) saved" in saved
    assert sorted(path.name for path in folder.iterdir()) == ["passwd", "passwd (2)"]
    assert (folder / "passwd").read_bytes() == b"first\n" and (folder / "passwd (2)").read_bytes() == b"second\n"
    assert not (tmp_path / "etc").exists()

    # Again: nothing is overwritten, the new copies get the next suffixes; --overwrite replaces one in place.
    run_cli(config, "attachments", "save", number, str(rows[1]["id"]), "--to", str(folder))
    assert (folder / "passwd (3)").read_bytes() == b"second\n"
    run_cli(config, "attachments", "save", number, str(rows[1]["id"]), "--to", str(folder), "--overwrite")
    assert (folder / "passwd").read_bytes() == b"second\n" and len(list(folder.iterdir())) == 3

    missing = run_cli(config, "attachments", "save", number, "999999", "--to", str(folder), check=False)
    assert missing.returncode != 0 and "no attachment 999999" in missing.stderr
    assert run_cli(config, "attachments", "list", "LC-1999-00001", check=False).returncode != 0


def test_purge_drops_raw_mail_and_contents_of_long_closed_cases_and_old_quarantine(
        config: Path, boxes: Mailboxes, db_url: str) -> None:
    whole_life(boxes, "Impresora antigua")
    boxes.deliver(deep_nesting("poison-old@acme.test"), 0)  # quarantined months ago
    boxes.app.clock.set(datetime.now(timezone.utc) - timedelta(days=2))  # type: ignore[attr-defined]
    whole_life(boxes, "Impresora reciente")  # closed two days ago: within the 30 days
    boxes.deliver(deep_nesting("poison-new@acme.test"), 0)
    old, recent = case_number(config, "antigua"), case_number(config, "reciente")
    # Only now: the pipeline above, run with the clock moved on, would have purged already (as it should).
    config.write_text(config.read_text() + RETENTION)
    assert len(json.loads(run_cli(config, "quarantine", "list", "--json").stdout)) == 2

    dry = run_cli(config, "retention", "purge", "--dry-run").stdout
    assert "dry run, would purge: 1 attachment contents, 1 cases, 1 quarantine entries" in dry
    assert raw_sizes(db_url, old)["raw"] > 0  # the dry run changed nothing

    run_cli(config, "run", "--once")  # the purge runs with every `run --once` (and on a schedule in `mailbot run`)
    again = run_cli(config, "retention", "purge").stdout
    assert "nothing to purge" in again and "closed cases' raw mail kept 30 days, quarantine kept 30 days" in again

    assert raw_sizes(db_url, old) == {"raw": 0, "content": 0}
    assert raw_sizes(db_url, recent)["raw"] > 0 and raw_sizes(db_url, recent)["content"] > 0
    [quarantined] = json.loads(run_cli(config, "quarantine", "list", "--json").stdout)
    kept = json.loads(run_cli(config, "cases", "show", old, "--json").stdout)
    assert (kept["status"], kept["close_reason"], kept["survey_rating"]) == ("closed", "solved", 4)
    assert kept["first_response_at"] == "2026-03-02T09:30:00+00:00"
    assert "La impresora 4200 no imprime." in [message["text"].strip() for message in kept["messages"]]
    [attachment] = json.loads(run_cli(config, "attachments", "list", old, "--json").stdout)
    assert (attachment["filename"], attachment["size"], attachment["stored"]) == ("informe.log", 24, "purged")


def test_contact_forget_erases_the_person_everywhere_and_keeps_the_figures(config: Path, boxes: Mailboxes, db_url: str) -> None:
    whole_life(boxes, "Impresora de Ana")
    boxes.deliver(deep_nesting("poison-ana@acme.test"), 0)  # a quarantined message of hers
    other = opened(boxes, "Cosas de Pedro", None, sender="pedro@acme.test")
    assert "pedro@acme.test" in text_of(other)
    before = json.loads(run_cli(config, "cases", "list", "--json").stdout)
    assert traces_of(db_url, "ana@acme.test") and traces_of(db_url, "Ana García")

    forgot = run_cli(config, "contact", "forget", "Ana@ACME.test").stdout
    assert "erased:" in forgot and "1 contacts" in forgot and "1 quarantine entries" in forgot
    assert traces_of(db_url, "ana@acme.test") == [] and traces_of(db_url, "Ana García") == []
    assert traces_of(db_url, "pedro@acme.test")  # nobody else's data went with hers
    after = json.loads(run_cli(config, "cases", "list", "--json").stdout)
    assert [(row["number"], row["status"]) for row in after] == [(row["number"], row["status"]) for row in before]
    shown = json.loads(run_cli(config, "cases", "show", case_number(config, "Pedro"), "--json").stdout)
    assert shown["status"] == "open"
    [ana_case] = [row["number"] for row in after if row["number"] != shown["number"]]
    kept = json.loads(run_cli(config, "cases", "show", ana_case, "--json").stdout)
    assert (kept["status"], kept["survey_rating"], kept["survey_comment"], kept["contact"]) == ("closed", 4, None, None)
    assert kept["first_response_at"] and kept["subject"] == "(erased)"
    assert "Hola, revisa el cable." in [message["text"].strip() for message in kept["messages"]]  # the engineer's words stay
    [erasure] = rows_of(db_url, "erasures")
    assert "ana@acme.test" not in json.dumps(erasure, default=str) and len(erasure["address_hash"]) == 64

    second = run_cli(config, "contact", "forget", "ana@acme.test").stdout
    assert "nothing to erase for that address (erased on" in second
    assert len(rows_of(db_url, "erasures")) == 1


def raw_sizes(db_url: str, number: str) -> dict[str, int]:
    """Bytes of raw mail (outbox copies) and attachment contents a case still holds."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            [case_id] = connection.execute(select(Base.metadata.tables["cases"].c.id)
                                           .where(Base.metadata.tables["cases"].c.number == number)).scalars()
            outbox, messages, attachments = (Base.metadata.tables[name] for name in ("outbox", "case_messages", "attachments"))
            raw = sum(len(row) for row in connection.execute(select(outbox.c.raw).where(outbox.c.case_id == case_id)).scalars())
            content = sum(len(row or b"") for row in connection.execute(
                select(attachments.c.content).join(messages, attachments.c.case_message_id == messages.c.id)
                .where(messages.c.case_id == case_id)).scalars())
    finally:
        engine.dispose()
    return {"raw": raw, "content": content}


def rows_of(db_url: str, table: str) -> list[dict[str, Any]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(Base.metadata.tables[table]))]
    finally:
        engine.dispose()


def traces_of(db_url: str, needle: str) -> list[str]:
    """Every table.column whose text or bytes still hold `needle` (case-insensitive)."""
    found = []
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                columns = [column for column in table.columns if isinstance(column.type, (String, LargeBinary))]
                if not columns:
                    continue  # a table of numbers only (the directory's version) holds no trace
                for row in connection.execute(select(*columns)):
                    for column, value in zip(columns, row):
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")
                        if needle.lower() in text.lower():
                            found.append(f"{table.name}.{column.name}")
    finally:
        engine.dispose()
    return found
