"""Warranty through the command line: a CSV directory with warranty columns, an RMA mail, `cases show`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.bot import smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.mailgen import customer_mail

CSV = (
    "account_key,account_name,plan,timezone,warranty,warranty_starts_on,warranty_ends_on,contract_reference,"
    "contract_starts_on,contract_ends_on,contact_email,contact_name\n"
    "bank,Banco,gold,America/Bogota,{option},2026-01-01,2099-12-31,B-1,2026-01-01,,ana@bank.test,Ana\n"
)


# The real clock runs here (a subprocess): the warranty and contract are open-ended enough for any test day.
def test_csv_warranty_import_and_rma_case(tmp_path: Path, sqlite_url: str, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in" / "new").mkdir(parents=True)
    config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": str(tmp_path / "in")},
                          delivery=smtp_delivery(smtp_sink), presets=("calltech",))
    run_cli(config, "db", "upgrade")
    directory = tmp_path / "directory.csv"
    directory.write_text(CSV.format(option="golden"), encoding="utf-8")
    refused = run_cli(config, "directory", "import", str(directory), check=False)
    assert refused.returncode != 0 and "warranty 'golden' is not an option of plan 'gold'" in refused.stdout + refused.stderr
    directory.write_text(CSV.format(option="extended"), encoding="utf-8")
    assert "1 account created" in run_cli(config, "directory", "import", str(directory)).stdout
    (tmp_path / "in" / "new" / "1.rma.host").write_bytes(customer_mail(sender="ana@bank.test", subject="[RMA] Fuente dañada"))

    run_cli(config, "run", "--once")

    [ack] = smtp_sink.wait_for(1)
    assert "Calltech Extended Warranty" in ack.message.get_body(("plain",)).get_content()
    [case] = json.loads(run_cli(config, "cases", "list", "--json").stdout)
    shown = json.loads(run_cli(config, "cases", "show", case["number"], "--json").stdout)
    assert (shown["ticket_type"], shown["warranty_option"], shown["warranty_ends_on"]) == ("rma", "extended", "2099-12-31")
    assert shown["replacement_due"] and shown["rma_started_at"]
    text = run_cli(config, "cases", "show", case["number"]).stdout
    assert "replacement due" in text and "  replacement running " in text and " left (due " in text
    assert [clock["clock"] for clock in shown["clocks"]][-1] == "replacement"
