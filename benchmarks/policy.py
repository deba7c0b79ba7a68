"""Cost of the pure policy per message: classify, decide, missing details and deadlines on a business calendar.

    .venv/bin/python -m benchmarks.policy
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone
from pathlib import Path

from mailbot.config import load_settings
from mailbot.domain.decisions import Situation
from mailbot.domain.directory import ContractTerm, SenderStanding
from mailbot.parsing import parse_message
from mailbot.policy.catalog import Catalog
from mailbot.policy.classify import classify
from mailbot.policy.decide import decide
from mailbot.policy.missing_info import missing_details
from mailbot.app import policy_settings
from tests.support.mailgen import customer_mail

COUNT = 5000


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "config" / "demo"
    text = (folder / "mailbot.toml").read_text().replace('presets = ["lastcall"]', 'presets = ["lastcall", "calltech", "xpears"]')
    tmp = Path("/tmp/mailbot-policy-bench.toml")
    tmp.write_text(text.replace('path = "inbox"', 'path = "/tmp"').replace('path = "outbox"', 'path = "/tmp"'))
    settings = load_settings(tmp)
    catalog, rules = Catalog(settings), policy_settings(settings)
    plan = settings.plans["gold"]
    sender = SenderStanding(1, "ana@acme.test", "Ana", 1, "acme", "ACME", "gold", "es", "America/Bogota",
                            (ContractTerm("C", date(2026, 1, 1), None),))
    subjects = ["[P1] Sistema caído", "Consulta de licencias", "[mantenimiento] ventana", "URGENTE no imprime", "Error E1042"]
    messages = [parse_message(customer_mail(to="support@demo.example", subject=subjects[n % 5],
                                            body="El FortiGate 7.2 en Windows da error.\n" * 20), max_stored_attachment_bytes=0)
                for n in range(COUNT)]
    now = datetime(2026, 11, 24, 22, 0, tzinfo=timezone.utc)
    started = time.perf_counter()
    for message in messages:
        found = classify(message, plan, now.date())
        decision = decide(Situation(message, sender, None, 0, now, plan, found, 1), rules)
        missing_details(message, found.ticket_type)
        catalog.targets(plan, found.priority, now)
    elapsed = time.perf_counter() - started
    print(f"policy per message: {elapsed / COUNT * 1e6:.0f} µs ({COUNT} messages, {COUNT / elapsed:.0f}/s); last: {decision.rule}")


if __name__ == "__main__":
    main()
