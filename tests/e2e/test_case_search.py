"""`mailbot cases search`: cases opened by real mail (Dovecot + SMTP sink), found through the real CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.runtime.runner import run_once
from tests.support.bot import imap_source, prepared_app, smtp_delivery, write_config
from tests.support.cli import run_cli
from tests.support.mailgen import customer_mail

START = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
LATER = START + timedelta(days=3)
MAIL = (  # (opened at, sender, subject, text)
    (START, "ana@acme.test", "La garantía del disco",
     "Buenos días,\nel disco duro del backup falló y la garantía sigue vigente.\nSaludos, Ana"),
    (LATER, "john@globex.test", "Nightly job",
     "Hello,\nthe nightly backup failed again with error 0x80070005.\nRegards, John"),
    (LATER, "ana@acme.test", "Facturación de noviembre", "Hola,\nlas facturas de noviembre no han llegado.\nAna"),
)


@pytest.fixture
def config(tmp_path: Path, db_url: str, dovecot, mailbox_user: str, smtp_sink) -> Path:  # type: ignore[no-untyped-def]
    """Three cases opened through the real pipeline, two of them three days after the first."""
    path = write_config(tmp_path, db_url=db_url, source=imap_source(dovecot, mailbox_user, tmp_path),
                        delivery=smtp_delivery(smtp_sink))
    for index, (opened_at, sender, subject, body) in enumerate(MAIL):
        app: App = prepared_app(path, FixedClock(opened_at), seed=index == 0)
        try:
            dovecot.append(mailbox_user, customer_mail(sender=sender, sender_name="", subject=subject, body=body,
                                                       message_id=f"case-{index}@example.test", date=opened_at))
            run_once(app)
        finally:
            app.dispose()
    return path


def search(config: Path, *arguments: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(run_cli(config, "cases", "search", *arguments, "--json").stdout)


def subjects(matches: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return sorted(match["subject"] for match in matches)


def test_words_are_found_in_spanish_and_english_with_their_line(config: Path) -> None:
    for words in ("garantia", "garantía", "GARANTÍA"):  # accents and case need not match
        [match] = search(config, words)
        assert match["subject"] == "La garantía del disco" and match["account"] == "acme"
        assert "[garantía]" in match["line"] and match["status"] and match["number"].startswith("LC-")
    assert subjects(search(config, "factura", "noviembre")) == ["Facturación de noviembre"]
    [match] = search(config, "failing", "backups")  # English stems
    assert match["subject"] == "Nightly job"
    assert match["line"] == "the nightly [backup] [failed] again with error 0x80070005."
    table = run_cli(config, "cases", "search", "garantia").stdout.splitlines()
    assert table[0].split() == ["NUMBER", "STATUS", "ACCOUNT", "SUBJECT", "RANK"]
    assert "acme" in table[1] and "La garantía del disco" in table[1]
    assert table[2].startswith("    ") and "[garantía]" in table[2]


def test_account_and_since_narrow_the_search_and_no_match_exits_0(config: Path) -> None:
    day_after = (START + timedelta(days=1)).date().isoformat()
    assert subjects(search(config, "backup")) == ["La garantía del disco", "Nightly job"]
    assert subjects(search(config, "backup", "--account", "GLOBEX")) == ["Nightly job"]
    assert subjects(search(config, "backup", "--since", day_after)) == ["Nightly job"]
    assert search(config, "garantia", "--since", day_after) == []
    result = run_cli(config, "cases", "search", "impresora", "--account", "acme")
    assert result.stdout.strip() == "no cases match 'impresora' (account acme)"
    wrong = run_cli(config, "cases", "search", "--since", "yesterday", "backup", check=False)
    assert wrong.returncode == 2 and "--since 'yesterday'" in wrong.stderr
