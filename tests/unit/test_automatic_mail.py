"""The automatic-mail corpus: every auto-reply, DSN and MDN is ignored; every human look-alike is answered."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from mailbot.domain.decisions import Outcome, PolicySettings, ReplyKind, Situation
from mailbot.domain.directory import ContractTerm, SenderStanding, ThreadEvidence, ThreadMatch
from mailbot.domain.messages import InboundMessage
from mailbot.parsing import parse_message
from mailbot.policy.decide import decide
from mailbot.policy.loops import is_automatic
from tests.support.mailgen import customer_mail

MAIL = Path(__file__).resolve().parents[1] / "mail"
AUTOMATIC = sorted((MAIL / "automatic").glob("*.eml"))
LOOKALIKES = sorted((MAIL / "human_lookalikes").glob("*.eml"))
AUTOMATIC_RULES = ("auto_submitted", "bulk_or_list", "delivery_report")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
SETTINGS = PolicySettings(support_address="support@example.com", own_message_id_domain="example.com",
                          trusted_authserv_ids=(), auto_replies_per_sender_per_hour=5)
# The case the corpus answers: waiting on the customer, so a reply in its thread would resume the clock.
WAITING = ThreadMatch(42, "LC-2026-00042", account_id=1, status="waiting", evidence=ThreadEvidence.REFERENCE)


def contact(message: InboundMessage) -> SenderStanding:
    """The sender as a designated contact with a valid contract: the strongest claim to an answer."""
    email = message.sender.email if message.sender else ""
    return SenderStanding(contact_id=1, contact_email=email, contact_name="", account_id=1, account_key="acme",
                          account_name="ACME", plan_name="standard", language="en", timezone="UTC",
                          account_timezone="UTC", contracts=(ContractTerm("C1", date(2026, 1, 1), None),))


def read(path: Path) -> InboundMessage:
    return parse_message(path.read_bytes(), max_stored_attachment_bytes=100_000)


def test_the_corpus_is_big_enough_and_documented() -> None:
    assert len(AUTOMATIC) >= 60 and len(LOOKALIKES) >= 20
    for folder, files in (("automatic", AUTOMATIC), ("human_lookalikes", LOOKALIKES)):
        provenance = (MAIL / folder / "PROVENANCE.md").read_text()
        assert all(f"| {path.name} |" in provenance for path in files)


@pytest.mark.parametrize("path", AUTOMATIC, ids=lambda path: path.stem)
@pytest.mark.parametrize("known", ["stranger", "contact_in_waiting_thread"])
def test_automatic_mail_is_ignored_without_reply(path: Path, known: str) -> None:
    message = read(path)
    standing, thread = (None, None) if known == "stranger" else (contact(message), WAITING)
    decision = decide(Situation(message, standing, thread, 0, NOW), SETTINGS)
    assert (decision.outcome, decision.reply) == (Outcome.IGNORED, None), decision
    assert decision.rule in AUTOMATIC_RULES and decision.reason


@pytest.mark.parametrize("path", LOOKALIKES, ids=lambda path: path.stem)
def test_human_lookalike_is_answered(path: Path) -> None:
    message = read(path)
    assert is_automatic(message) is None
    opened = decide(Situation(message, contact(message), None, 0, NOW), SETTINGS)
    assert (opened.outcome, opened.reply) == (Outcome.CASE_OPENED, ReplyKind.ACKNOWLEDGMENT), opened
    in_thread = decide(Situation(message, contact(message), WAITING, 0, NOW), SETTINGS)
    assert in_thread.rule == "thread_reply"  # the customer's answer: resumes the clock, reaches the engineer


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        ({"Auto-Submitted": "No"}, "Out of office equipment request"),
        ({"X-Auto-Response-Suppress": "None"}, "Re: Out of office: back now"),
        ({"Precedence": "first-class"}, "Auto repair module crashes"),
        ({}, "Absent du bureau demain, appelez-moi"),
    ],
)
def test_near_misses_are_people(headers: dict[str, str], subject: str) -> None:
    message = parse_message(customer_mail(headers=headers, subject=subject), max_stored_attachment_bytes=0)
    assert is_automatic(message) is None


@pytest.mark.parametrize(
    ("headers", "subject", "reason"),
    [
        ({"Precedence": "auto_reply"}, "Re: [LC-1] x", "Precedence: auto_reply"),
        ({"X-Apple-Action": "VACATION"}, "Re: [LC-1] x", "Apple iCloud"),
        ({"X-Auto-Response-Suppress": "DR, OOF"}, "Re: [LC-1] x", "Exchange"),
        ({}, "Réponse automatique : [LC-1] x", "out-of-office subject"),
        ({}, "fuera de la oficina", "out-of-office subject"),
    ],
)
def test_the_reason_names_the_mark(headers: dict[str, str], subject: str, reason: str) -> None:
    message = parse_message(customer_mail(headers=headers, subject=subject), max_stored_attachment_bytes=0)
    assert reason in (is_automatic(message) or "")
