"""Proactive alerts reach every designated contact of plans that include them, once, through the outbox."""

from __future__ import annotations

from pathlib import Path

from tests.support.bot import prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli

DIRECTORY = """
[[accounts]]
key = "bank"
name = "Banco Andino"
plan = "managed"
language = "es"
contracts = [{ reference = "B", starts_on = 2020-01-01 }]
contacts = [{ email = "ana@bank.test" }, { email = "luis@bank.test", language = "en" }]

[[accounts]]
key = "shop"
name = "Tienda"
plan = "basic"
contracts = [{ reference = "S", starts_on = 2020-01-01 }]
contacts = [{ email = "eva@shop.test" }]

[[accounts]]
key = "gone"
name = "Expired"
plan = "basic"
contracts = [{ reference = "G", starts_on = 2020-01-01, ends_on = 2021-01-01 }]
contacts = [{ email = "old@gone.test" }]

[[accounts]]
key = "lc"
name = "No alerts plan"
plan = "standard"
contracts = [{ reference = "L", starts_on = 2020-01-01 }]
contacts = [{ email = "x@lc.test" }]
"""


def test_alert_reaches_each_contact_once(tmp_path: Path, db_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in" / "new").mkdir(parents=True)
    config = write_config(tmp_path, db_url=db_url, source={"kind": "maildir", "path": "in"},
                          delivery=smtp_delivery(smtp_sink), presets=("xpears", "lastcall"), directory=DIRECTORY)
    prepared_app(config).dispose()
    arguments = ("alerts", "send", "--template", "security_advisory", "--var", "title=CVE-2026-1234 en FortiOS",
                 "--var", "summary=Actualice a 7.4.5.", "--var", "risk=alto")

    dry = run_cli(config, *arguments, "--dry-run")
    assert "ana@bank.test" in dry.stdout and "old@gone.test" not in dry.stdout and "x@lc.test" not in dry.stdout
    assert smtp_sink.received == []

    sent = run_cli(config, *arguments)
    assert "3 queued" in sent.stdout
    received = {mail.rcpt_tos[0]: mail.message for mail in smtp_sink.wait_for(3)}
    assert set(received) == {"ana@bank.test", "luis@bank.test", "eva@shop.test"}
    assert received["ana@bank.test"]["Subject"] == "[Alerta] CVE-2026-1234 en FortiOS"
    assert received["luis@bank.test"]["Subject"] == "[Alert] CVE-2026-1234 en FortiOS"
    assert received["eva@shop.test"]["Auto-Submitted"] == "auto-generated"
    assert "Nivel de riesgo: alto" in received["ana@bank.test"].get_body(("plain",)).get_content()

    again = run_cli(config, *arguments)
    assert "0 queued, 3 already sent" in again.stdout
    assert len(smtp_sink.received) == 3

    only_managed = run_cli(config, *arguments, "--plan", "managed", "--key", "second", "--dry-run")
    assert "2 recipients" in only_managed.stdout
