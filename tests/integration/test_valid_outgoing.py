"""What we send is valid mail on a real SMTP server, and a message that kills the connection fails alone."""

from __future__ import annotations

import asyncio
import email
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.db.models import OutboxMessage
from mailbot.delivery.outbox import deliver_due
from mailbot.delivery.transports import DeliveryError, Parcel
from mailbot.runtime.runner import deliver_once, run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail

ENGINEER = {"email": "maria@vendor.test", "name": "María Ruiz", "team": "network", "level": "N1", "language": "es"}
MAX_ATTEMPTS = 3


def bot_for(tmp_path: Path, db_url: str, dovecot, user: str, sink, **sections: dict) -> App:  # type: ignore[no-untyped-def, type-arg]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, user, tmp_path),
                          delivery=smtp_delivery(sink), engineers=[ENGINEER], **sections)
    return prepared_app(config)


def longest_line(raw: bytes) -> int:
    return max(len(line) for line in raw.split(b"\r\n"))


def with_attachments(raw: bytes, files: list[tuple[str, bytes]]) -> bytes:
    message = email.message_from_bytes(raw, policy=policy.SMTP)
    assert isinstance(message, EmailMessage)
    for name, content in files:
        message.add_attachment(content, maintype="text", subtype="plain", filename=name)
    return message.as_bytes()


def test_a_long_subject_without_spaces_reaches_customer_and_engineer(tmp_path: Path, sqlite_url: str, dovecot,  # type: ignore[no-untyped-def]
                                                                     mailbox_user: str, smtp_sink) -> None:
    bot = bot_for(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink)
    subject = "ErrorAlExportar_" * 63  # 1,008 characters, no space: once sent unfolded and refused "500 Line too long"
    dovecot.append(mailbox_user, customer_mail(subject=subject))
    summary = run_once(bot)
    bot.dispose()
    assert summary.delivery.outcomes == {"sent": 2}
    mails = {mail.rcpt_tos[0]: mail for mail in smtp_sink.wait_for(2)}
    for mail in mails.values():
        assert longest_line(mail.raw) <= 998
        assert subject in mail.message["Subject"]


def test_a_notice_carries_safe_names_and_at_most_the_limit(tmp_path: Path, sqlite_url: str, dovecot,  # type: ignore[no-untyped-def]
                                                           mailbox_user: str, smtp_sink) -> None:
    bot = bot_for(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, limits={"max_attachments_per_notice": 2})
    files = [("../../etc/passwd", b"root"), ("con.txt", b"c"), ("C:\\temp\\informe año.log", b"i"), ("d.log", b"d")]
    dovecot.append(mailbox_user, with_attachments(customer_mail(body="Adjunto los ficheros."), files))
    run_once(bot)
    bot.dispose()
    notice = {mail.rcpt_tos[0]: mail for mail in smtp_sink.wait_for(2)}["maria@vendor.test"].message
    assert [part.get_filename() for part in notice.iter_attachments()] == ["passwd", "_con.txt"]
    assert "Sin adjuntar (demasiado grandes o más allá del máximo por aviso): informe año.log, d.log" in \
        notice.get_body(("plain",)).get_content()


def test_a_message_that_kills_the_connection_fails_alone(tmp_path: Path, db_url: str, dovecot,  # type: ignore[no-untyped-def]
                                                        mailbox_user: str, smtp_sink) -> None:
    bot = bot_for(tmp_path, db_url, dovecot, mailbox_user, smtp_sink,
                  outbox={"backoff_initial_seconds": 1, "backoff_max_seconds": 4, "max_attempts": MAX_ATTEMPTS})
    smtp_sink.drop_on_data(b"POISON")
    dovecot.append(mailbox_user, customer_mail(message_id="poison@acme.test", subject="POISON en el asunto"))
    dovecot.append(mailbox_user, customer_mail(message_id="good@acme.test", subject="Consulta normal"))

    first = run_once(bot)  # four rows: the poison's ack first, then its notice and the good mail's two

    assert first.delivery.server_unreachable is None
    assert first.delivery.outcomes == {"retry": 2, "sent": 2}
    assert {mail.message["In-Reply-To"] for mail in smtp_sink.wait_for(2)} == {"<good@acme.test>", None}
    for _ in range(MAX_ATTEMPTS - 1):
        later = App(**{**bot.__dict__, "clock": FixedClock(due_at(bot) + timedelta(seconds=1))})
        assert deliver_once(later).server_unreachable is None
    with bot.sessions() as session:
        rows = {row.message_id: row for row in session.scalars(select(OutboxMessage))}
        poisoned = [row for row in rows.values() if row.status != "sent"]
        assert len(rows) == 4 and len(poisoned) == 2
        for row in poisoned:
            assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
            assert "connection lost while the server took this message" in (row.last_error or "")
    bot.dispose()
    assert smtp_sink.drops == 2 * MAX_ATTEMPTS and len(smtp_sink.received) == 2


def due_at(app: App):  # type: ignore[no-untyped-def]
    with app.sessions() as session:
        return max(row.next_attempt_at for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")))


class ServerGoneAfterData:
    """A session lost during the first message's content, and no new one to be had: the server went down."""

    def __init__(self) -> None:
        self.reconnects = 0

    async def __aenter__(self) -> "ServerGoneAfterData":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, parcel: Parcel) -> None:
        raise DeliveryError("SMTP connection lost while the server took this message", permanent=False,
                            connection=True, during_data=True)

    async def reconnect(self) -> None:
        self.reconnects += 1
        raise DeliveryError("SMTP 127.0.0.1:25 unreachable: connection refused", permanent=False, connection=True)


def test_when_the_new_session_cannot_be_had_the_server_is_down(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": str(tmp_path / "in")},
                          delivery={"kind": "maildir", "path": str(tmp_path / "out")})
    app = prepared_app(config, seed=False)
    now = app.clock.now()
    with app.sessions() as session:
        session.add_all([OutboxMessage(message_id=f"m{i}@example.test", kind="acknowledgment", recipient="ana@acme.test",
                                       envelope_from="support@example.test", subject="s", raw=b"Subject: s\r\n\r\nx\r\n",
                                       is_auto_reply=False, status="pending", attempts=0, next_attempt_at=now,
                                       created_at=now, priority=0) for i in range(2)])
        session.commit()
    transport = ServerGoneAfterData()
    report = asyncio.run(deliver_due(app, [transport]))
    assert transport.reconnects == 1 and "unreachable" in (report.server_unreachable or "")
    with app.sessions() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    app.dispose()
    assert [(row.status, row.attempts) for row in rows] == [("pending", 1), ("pending", 0)]
    assert "not sent yet: SMTP 127.0.0.1:25 unreachable" in (rows[1].last_error or "")
