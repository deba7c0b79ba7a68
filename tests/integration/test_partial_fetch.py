"""A FETCH answer without the body, from a real Dovecot behind a rewriting proxy: fetched again, or quarantined.

The proxy takes `BODY[] {n}` and its literal out of Dovecot's answer for one UID, as a server does that answers
FETCH without the body. The mail is never skipped: every UID ends with exactly one inbound record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import InboundRecord, QuarantinedMessage
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.proxy import ALWAYS, BodyDroppingProxy
from tests.support.smtp_sink import SmtpSink

MAILS = 4


@pytest.fixture
def proxy(dovecot: DovecotServer) -> Iterator[BodyDroppingProxy]:
    with BodyDroppingProxy(dovecot.host, dovecot.imap_port) as running:
        yield running


@pytest.fixture
def bot(tmp_path: Path, db_url: str, dovecot: DovecotServer, mailbox_user: str, smtp_sink: SmtpSink,
        proxy: BodyDroppingProxy) -> Iterator[App]:
    config = write_config(tmp_path, db_url=db_url, delivery=smtp_delivery(smtp_sink),
                          source=imap_source(dovecot, mailbox_user, tmp_path, port=proxy.port))
    app = prepared_app(config)
    yield app
    app.dispose()


def appended(dovecot: DovecotServer, user: str) -> list[int]:
    return [dovecot.append(user, customer_mail(message_id=f"partial-{n}@acme.test", subject=f"Consulta {n}"))
            for n in range(1, MAILS + 1)]


def records_by_uid(app: App) -> dict[int, list[InboundRecord]]:
    with app.sessions() as session:
        rows = list(session.scalars(select(InboundRecord).order_by(InboundRecord.id)))
        session.expunge_all()
    by_uid: dict[int, list[InboundRecord]] = {}
    for row in rows:
        by_uid.setdefault(int(row.source_ref.split(":")[1]), []).append(row)
    return by_uid


def test_a_body_missing_once_is_fetched_again(bot: App, dovecot: DovecotServer, mailbox_user: str,
                                              smtp_sink: SmtpSink, proxy: BodyDroppingProxy) -> None:
    uids = appended(dovecot, mailbox_user)
    proxy.drop_body(uids[1], times=1)

    summary = run_once(bot)

    assert proxy.dropped == {uids[1]: 1}  # the batch's answer came without it; the answer to the UID alone had it
    records = records_by_uid(bot)
    assert sorted(records) == uids
    assert {uid: [row.outcome for row in rows] for uid, rows in records.items()} == {uid: ["case_opened"] for uid in uids}
    assert records[uids[1]][0].message_key == "partial-2@acme.test"
    assert summary.ingest.outcomes["case_opened"] == MAILS
    assert sorted(mail.message["In-Reply-To"] for mail in smtp_sink.wait_for(MAILS)) == [
        f"<partial-{n}@acme.test>" for n in range(1, MAILS + 1)]
    assert all("\\Seen" in dovecot.flags(mailbox_user, uid) for uid in uids)
    assert summary.exit_code == 0


def test_a_body_that_never_comes_is_quarantined_and_the_mail_after_it_goes_on(
        bot: App, dovecot: DovecotServer, mailbox_user: str, smtp_sink: SmtpSink, proxy: BodyDroppingProxy) -> None:
    uids = appended(dovecot, mailbox_user)
    lost = uids[1]
    proxy.drop_body(lost, times=ALWAYS)

    summary = run_once(bot)

    assert proxy.dropped == {lost: 2}  # in the batch, then alone: SEARCH still finds it, so it is not skipped
    records = records_by_uid(bot)
    assert sorted(records) == uids
    assert all(len(rows) == 1 for rows in records.values()), records
    outcomes = {uid: rows[0].outcome for uid, rows in records.items()}
    assert outcomes == {uid: "quarantined" if uid == lost else "case_opened" for uid in uids}
    reason = records[lost][0].reason or ""
    assert f"answered FETCH BODY[] of UID {lost} without a body" in reason
    assert "INTERNALDATE" in reason  # the server's answer as it came, other items kept
    with bot.sessions() as session:
        [held] = session.scalars(select(QuarantinedMessage)).all()
        assert held.source_ref == records[lost][0].source_ref
        assert b"BODY[]" not in held.raw and b"partial-2@acme.test" not in held.raw  # the answer, not the mail
    assert Counter(summary.ingest.outcomes) == Counter({"case_opened": MAILS - 1, "quarantined": 1})
    assert sorted(mail.message["In-Reply-To"] for mail in smtp_sink.wait_for(MAILS - 1)) == [
        f"<partial-{n}@acme.test>" for n in (1, 3, 4)]
    # Quarantined mail is post-processed like all mail under the checkpoint (the run's catch-up sweep would
    # flag it anyway); the message itself stays in the folder, the only whole copy of it.
    assert all("\\Seen" in dovecot.flags(mailbox_user, uid) for uid in uids)
    assert dovecot.uids(mailbox_user) == uids
    assert summary.exit_code == 0


def test_releasing_an_entry_without_its_mail_fetches_the_mail_again(
        bot: App, tmp_path: Path, dovecot: DovecotServer, mailbox_user: str, smtp_sink: SmtpSink,
        proxy: BodyDroppingProxy) -> None:
    uids = appended(dovecot, mailbox_user)
    proxy.drop_body(uids[1], times=ALWAYS)
    run_once(bot)
    with bot.sessions() as session:
        [held] = session.scalars(select(QuarantinedMessage)).all()
    smtp_sink.wait_for(MAILS - 1)

    refused = run_cli(tmp_path / "mailbot.toml", "quarantine", "release", str(held.id), check=False)
    assert refused.returncode != 0 and "holds no mail" in refused.stderr  # still no body: it stays quarantined

    proxy.drop_body(uids[1], times=0)  # the server behaves again
    released = run_cli(tmp_path / "mailbot.toml", "quarantine", "release", str(held.id))
    assert "handled again: case_opened" in released.stdout
    records = records_by_uid(bot)
    assert [row.outcome for row in records[uids[1]]] == ["case_opened"]
    assert records[uids[1]][0].message_key == "partial-2@acme.test"
    run_once(bot)  # delivers its acknowledgment
    assert "<partial-2@acme.test>" in [mail.message["In-Reply-To"] for mail in smtp_sink.wait_for(MAILS)]
