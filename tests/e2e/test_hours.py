"""`mailbot hours list|show` as an operator runs them: balance, used and expiry per contract period, and the ledger."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import migrate_and_import, run_cli
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink

DIRECTORY = """
[[accounts]]
key = "bank"
name = "Banco Ejemplo"
plan = "managed"
timezone = "America/Bogota"
contracts = [
  { reference = "XP-OLD", starts_on = 2020-01-01, ends_on = 2020-12-31 },
  { reference = "XP-NOW", starts_on = 2021-01-01, ends_on = 2099-12-31, prepaid_remote_hours = 12 },
]
contacts = [{ email = "ana@bank.test", name = "Ana" }]

[[accounts]]
key = "shop"
name = "Tienda"
plan = "basic"
contracts = [{ reference = "B-1", starts_on = 2020-01-01 }]
contacts = [{ email = "luis@shop.test", name = "Luis" }]
"""


def test_hours_list_and_show_after_time_is_logged(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer,
                                                  mailbox_user: str, smtp_sink: SmtpSink) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                          delivery=smtp_delivery(smtp_sink), presets=("xpears",), directory=DIRECTORY,
                          engineers=[{"email": "maria@vendor.test", "name": "María Ruiz"}])
    migrate_and_import(config)
    listed = json.loads(run_cli(config, "hours", "list", "--json").stdout)
    assert [(row["account"], row["contract"], row["granted"], row["used"], row["remaining"], row["expires_on"])
            for row in listed] == [("bank", "XP-NOW", 12.0, 0.0, 12.0, "2099-12-31")]  # the contract's own 12 h

    dovecot.append(mailbox_user, customer_mail(sender="ana@bank.test", subject="[P3] VPN"))
    run_cli(config, "run", "--once")
    notice = next(mail.message for mail in smtp_sink.wait_for(2) if "maria@vendor.test" in mail.rcpt_tos)
    dovecot.append(mailbox_user, customer_mail(sender="maria@vendor.test", subject=f"Re: {notice['Subject']}",
                                               in_reply_to=notice["Message-ID"].strip("<>"), body="#time 1.5h\nHecho."))
    run_cli(config, "run", "--once")

    [row] = json.loads(run_cli(config, "hours", "list", "--json").stdout)
    assert (row["used"], row["remaining"], row["state"]) == (1.5, 10.5, "current")
    shown = json.loads(run_cli(config, "hours", "show", "bank", "--json").stdout)
    [period] = shown["periods"]
    assert [(entry["kind"], entry["hours"], bool(entry["case"])) for entry in period["entries"]] == [
        ("grant", 12.0, False), ("debit", 1.5, True)]
    assert period["entries"][1]["engineer"] == "maria@vendor.test"
    table = run_cli(config, "hours", "show", "bank").stdout
    assert "granted 12 h, used 1.5 h, remaining 10.5 h" in table and "maria@vendor.test" in table
    assert "XP-NOW" in run_cli(config, "hours", "list").stdout
    case = json.loads(run_cli(config, "cases", "show", period["entries"][1]["case"], "--json").stdout)
    assert [(entry["hours"], entry["contract"]) for entry in case["prepaid_hours"]] == [(1.5, "XP-NOW")]
    assert "prepaid hours:" in run_cli(config, "cases", "show", period["entries"][1]["case"]).stdout
    assert run_cli(config, "hours", "show", "nobody", check=False).returncode != 0
