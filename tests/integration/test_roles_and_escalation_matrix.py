"""Issue 11, points 2 and 7 through the real pipeline (Dovecot, SMTP sink, fixed clock): the Calltech preset's
escalation matrix reaches its level managers, Xpears Advanced copies the CAM only, the TAM meeting reminder goes
once when due, and a customer's "escalar" is answered truthfully when no manager level is configured."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.db.models import OutboxMessage
from mailbot.directory.views import account_detail
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.mailgen import customer_mail

BOGOTA = ZoneInfo("America/Bogota")
TUESDAY_17H = datetime(2026, 11, 24, 17, 0, tzinfo=BOGOTA)  # a Gold P1 is due at 09:00 on Wednesday (seed example)
ENGINEER = {"email": "maria@vendor.test", "name": "María Ruiz"}


def account(key: str, name: str, plan: str, contacts: str, starts_on: str = "2026-01-01", zone: str = "America/Bogota",
            managers: bool = False) -> str:
    """One directory entry; `managers`: a TAM and a CAM at tam-KEY@ / cam-KEY@vendor.test."""
    roles = f'tam = "tam-{key}@vendor.test"\ncam = "cam-{key}@vendor.test"\n' if managers else ""
    return (f'[[accounts]]\nkey = "{key}"\nname = "{name}"\nplan = "{plan}"\ntimezone = "{zone}"\n{roles}'
            f'contracts = [{{ reference = "{key.upper()}-1", starts_on = {starts_on}, ends_on = 2027-12-31 }}]\n'
            f'contacts = [{contacts}]\n')


DIRECTORY = "\n".join([
    account("bank", "Banco Andino", "gold", '{ email = "ana@bank.test", name = "Ana" }'),
    account("shop", "Tienda Sur", "xpears-advanced", '{ email = "luis@shop.test", name = "Luis" }', managers=True),
    account("mill", "Molinos del Valle", "managed", '{ email = "eva@mill.test", name = "Eva" }, { email = "raul@mill.test" }',
            starts_on="2026-06-20", managers=True),
    account("cafe", "Café Central", "standard", '{ email = "teo@cafe.test", name = "Teo" }', zone="America/Santiago"),
])


def scenario(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink, at: datetime) -> tuple[App, Path]:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), presets=("lastcall", "calltech", "xpears"), directory=DIRECTORY,
                          engineers=[ENGINEER], limits={"auto_replies_per_sender_per_hour": 100})
    return prepared_app(config, FixedClock(at)), config


def handle(app: App, dovecot, user: str, sink, raw: bytes | None = None) -> dict[str, list]:  # type: ignore[no-untyped-def,type-arg]
    """Deliver `raw` (if any), run the bot once; the mail it sent, by recipient (all of it is sent when run_once returns)."""
    sink.clear()
    if raw is not None:
        dovecot.append(user, raw)
    run_once(app)
    sent: dict[str, list] = {}  # type: ignore[type-arg]
    for mail in sink.wait_for(0):
        for recipient in mail.rcpt_tos:
            sent.setdefault(recipient, []).append(mail.message)
    return sent


def text_of(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(("plain",)).get_content()


def acknowledgment_id(app: App) -> str:
    with app.sessions() as session:
        return session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.kind == "acknowledgment")
                               .order_by(OutboxMessage.id.desc())).first() or ""


def test_calltech_preset_escalates_a_breach_to_the_seeds_level_managers(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app, _config = scenario(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, TUESDAY_17H)
    opened = handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(sender="ana@bank.test", subject="Sistema caído"))
    assert set(opened) == {"ana@bank.test", "maria@vendor.test"}
    app.clock.set(datetime(2026, 11, 25, 9, 1, tzinfo=BOGOTA))  # type: ignore[attr-defined]
    breached = handle(app, dovecot, mailbox_user, smtp_sink)
    assert set(breached) == {"support-lead@example.com"}  # N2, the support lead (fictional); the 75% warning is superseded
    [notice] = breached["support-lead@example.com"]
    assert "SLA INCUMPLIDO" in notice["Subject"] and "Líder de soporte" in text_of(notice)
    app.clock.set(datetime(2026, 11, 25, 11, 1, tzinfo=BOGOTA))  # type: ignore[attr-defined]
    assert set(handle(app, dovecot, mailbox_user, smtp_sink)) == {"postsales-lead@example.com"}  # N3 at breach + 2h
    assert handle(app, dovecot, mailbox_user, smtp_sink) == {}  # never twice
    app.dispose()


def test_customer_escalation_names_the_manager_level_it_reached(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app, _config = scenario(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, TUESDAY_17H)
    handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(sender="ana@bank.test", subject="Sistema caído"))
    app.clock.set(datetime(2026, 11, 25, 8, 45, tzinfo=BOGOTA))  # type: ignore[attr-defined]
    assert set(handle(app, dovecot, mailbox_user, smtp_sink)) == {"maria@vendor.test"}  # the 75% warning
    escalated = handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="ana@bank.test", subject="Re: Sistema caído", in_reply_to=acknowledgment_id(app), body="Por favor escalar."))
    assert "support-lead@example.com" in escalated  # the next step up, at once
    [answer] = escalated["ana@bank.test"]
    assert "se ha avisado a estos responsables: Líder de soporte" in " ".join(text_of(answer).split())
    app.dispose()


def test_escalation_request_without_a_manager_level_is_answered_truthfully(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app, _config = scenario(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, TUESDAY_17H)
    handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(sender="teo@cafe.test", subject="[problema] caja lenta"))
    escalated = handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="teo@cafe.test", subject="Re: caja lenta", in_reply_to=acknowledgment_id(app), body="Por favor escalar."))
    assert set(escalated) == {"teo@cafe.test", "maria@vendor.test"}  # no manager exists for Last Call's plans
    answer = " ".join(text_of(escalated["teo@cafe.test"][0]).split())
    assert "se la hemos pasado al equipo de soporte que lo atiende" in answer
    assert "responsables" not in answer
    app.dispose()


def test_xpears_advanced_copies_its_cam_but_not_its_tam(tmp_path: Path, sqlite_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    app, _config = scenario(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, TUESDAY_17H)
    opened = handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(sender="luis@shop.test", subject="[P2] VPN lenta"))
    assert set(opened) == {"luis@shop.test", "maria@vendor.test", "cam-shop@vendor.test"}
    notice = opened["maria@vendor.test"][0]
    closing = handle(app, dovecot, mailbox_user, smtp_sink, customer_mail(
        sender="maria@vendor.test", subject=f"Re: {notice['Subject']}", in_reply_to=notice["Message-ID"].strip("<>"),
        body="#close"))
    assert set(closing) == {"luis@shop.test", "cam-shop@vendor.test"}
    app.dispose()


def test_tam_meeting_reminder_goes_to_the_tam_once_when_due(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # MILL-1 starts on 20 June 2026: its semi-annual meeting is due on 20 December 2026; the TAM hears 14 days ahead.
    app, config = scenario(tmp_path, db_url, dovecot, mailbox_user, smtp_sink, datetime(2026, 12, 5, 23, 0, tzinfo=BOGOTA))
    assert handle(app, dovecot, mailbox_user, smtp_sink) == {}
    app.clock.set(datetime(2026, 12, 6, 0, 5, tzinfo=BOGOTA))  # type: ignore[attr-defined]
    sent = handle(app, dovecot, mailbox_user, smtp_sink)
    assert set(sent) == {"tam-mill@vendor.test"}  # the CAM, and Xpears Advanced's TAM (no meetings there), get nothing
    [reminder] = sent["tam-mill@vendor.test"]
    text = " ".join(text_of(reminder).split())
    assert "Reunión de TAM pendiente: Molinos del Valle" in reminder["Subject"]
    assert "domingo 20 de diciembre de 2026" in text and "cada 6 meses" in text and "eva@mill.test" in text
    assert reminder["Auto-Submitted"] == "auto-generated"
    for day in (12, 20, 27):  # once per due date, also on the day itself and after it
        app.clock.set(datetime(2026, 12, day, 9, 0, tzinfo=BOGOTA))  # type: ignore[attr-defined]
        assert handle(app, dovecot, mailbox_user, smtp_sink) == {}
    with app.sessions() as session:
        meeting = account_detail(app, session, "mill", app.clock.now())["tam_meeting"]  # type: ignore[index]
    assert (meeting["last_due"], meeting["next_due"]) == ("2026-12-20", "2027-06-20")
    app.dispose()
    shown = run_cli(config, "accounts", "show", "mill").stdout
    assert "TAM meeting every 6 months" in shown and "reminder for 2026-12-20 sent to tam-mill@vendor.test" in shown
    assert "copies of case notices to: tam-mill@vendor.test, cam-mill@vendor.test" in shown
    assert "copies of case notices to: cam-shop@vendor.test (plan roles: cam)" in run_cli(config, "accounts", "show", "shop").stdout
