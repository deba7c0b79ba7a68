"""No message can stop the mailbox: each poison shape is handled or quarantined, and the good mail behind it goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.db.models import InboundRecord
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.poison import SHAPES, VALID_MAIL
from tests.support.smtp_sink import SmtpSink


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_poison_never_stops_the_mailbox(shape: str, tmp_path: Path, db_url: str, dovecot: DovecotServer,
                                        mailbox_user: str, smtp_sink: SmtpSink) -> None:
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink))
    app = prepared_app(config)
    poison_id = f"poison-{shape}@acme.test"
    dovecot.append(mailbox_user, SHAPES[shape](poison_id))
    dovecot.append(mailbox_user, customer_mail(message_id="good-after-poison@acme.test", subject="Consulta normal"))
    started = time.monotonic()
    summary = run_once(app)
    took = time.monotonic() - started
    with app.sessions() as session:
        records = {row.message_key: row.outcome for row in session.scalars(select(InboundRecord))}
    app.dispose()
    assert records.get("good-after-poison@acme.test") == "case_opened", records
    assert len(records) == 2, records  # the poison has its own record: handled or quarantined, never skipped
    if shape in VALID_MAIL:
        assert records[poison_id.replace("poison", "póison-ñandú") if shape == "utf8_message_ids" else poison_id] == "case_opened"
    assert summary.exit_code == 0
    print(f"{shape}: poison -> {[outcome for key, outcome in records.items() if key != 'good-after-poison@acme.test']}, "
          f"both handled in {took:.2f} s")
