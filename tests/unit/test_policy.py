"""The policy table: who may open a case, what never gets an answer, and the reply cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from mailbot.domain.decisions import Outcome, PolicySettings, ReplyKind, Situation
from mailbot.domain.directory import ContractTerm, SenderStanding, ThreadEvidence, ThreadMatch
from mailbot.parsing import parse_message
from mailbot.policy.decide import decide
from tests.support.mailgen import customer_mail

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
SETTINGS = PolicySettings(
    support_address="support@example.test",
    own_message_id_domain="example.test",
    trusted_authserv_ids=("mx.example.test",),
    auto_replies_per_sender_per_hour=5,
)


def standing(ends_on: date | None = date(2026, 12, 31), starts_on: date = date(2026, 1, 1), account_id: int = 1) -> SenderStanding:
    return SenderStanding(
        contact_id=1, contact_email="ana@acme.test", contact_name="Ana", account_id=account_id, account_key="acme",
        account_name="ACME", plan_name="standard", language="es", timezone="Europe/Madrid", account_timezone="Europe/Madrid",
        contracts=(ContractTerm("C1", starts_on, ends_on),),
    )


def situation(raw: bytes, sender: SenderStanding | None = None, thread: ThreadMatch | None = None, replies: int = 0) -> Situation:
    return Situation(parse_message(raw, max_stored_attachment_bytes=1000), sender, thread, replies, NOW)


def test_designated_contact_with_valid_contract_opens_a_case() -> None:
    decision = decide(situation(customer_mail(), standing()), SETTINGS)
    assert (decision.outcome, decision.reply) == (Outcome.CASE_OPENED, ReplyKind.ACKNOWLEDGMENT)


def test_unknown_sender_is_refused_with_an_explanation() -> None:
    decision = decide(situation(customer_mail(sender="x@else.test")), SETTINGS)
    assert (decision.outcome, decision.rule, decision.reply) == (Outcome.REFUSED, "unknown_sender", ReplyKind.UNKNOWN_SENDER)


@pytest.mark.parametrize(
    "terms",
    [
        {"ends_on": date(2026, 11, 22)},  # expired yesterday
        {"starts_on": date(2026, 12, 1), "ends_on": None},  # not started
    ],
)
def test_contract_outside_its_dates_is_refused(terms: dict[str, date | None]) -> None:
    decision = decide(situation(customer_mail(), standing(**terms)), SETTINGS)  # type: ignore[arg-type]
    assert (decision.rule, decision.reply) == ("no_valid_contract", ReplyKind.NO_CONTRACT)


def test_open_ended_contract_is_valid() -> None:
    assert decide(situation(customer_mail(), standing(ends_on=None)), SETTINGS).outcome is Outcome.CASE_OPENED


def test_contract_day_is_the_accounts_local_day() -> None:
    # 23:30 UTC on the 30th is already 1 December in Madrid: a contract ending on the 30th no longer covers it.
    late = Situation(parse_message(customer_mail(), max_stored_attachment_bytes=0), standing(ends_on=date(2026, 11, 30)),
                     None, 0, datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc))
    assert decide(late, SETTINGS).rule == "no_valid_contract"


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_submitted"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, "auto_submitted"),
        ({"X-Autoreply": "yes"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "bulk_or_list"),
        ({"Precedence": "junk"}, "bulk_or_list"),
        ({"Precedence": "list"}, "bulk_or_list"),
        ({"List-Id": "<news.acme.test>"}, "bulk_or_list"),
        ({"Return-Path": "<>"}, "delivery_report"),
        ({"X-Loop": "support@example.test"}, "own_mail"),
    ],
)
def test_machine_mail_is_ignored_without_reply(headers: dict[str, str], rule: str) -> None:
    decision = decide(situation(customer_mail(headers=headers), standing()), SETTINGS)
    assert (decision.outcome, decision.rule, decision.reply) == (Outcome.IGNORED, rule, None)


def test_auto_submitted_no_is_a_person() -> None:
    decision = decide(situation(customer_mail(headers={"Auto-Submitted": "no"}), standing()), SETTINGS)
    assert decision.outcome is Outcome.CASE_OPENED


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.acme.test", "postmaster@acme.test"])
def test_daemon_senders_are_ignored(sender: str) -> None:
    assert decide(situation(customer_mail(sender=sender, sender_name="")), SETTINGS).rule == "delivery_report"


def test_our_own_message_id_domain_is_ignored() -> None:
    raw = customer_mail(message_id="mailbot.abc@example.test")
    assert decide(situation(raw, standing()), SETTINGS).rule == "own_mail"


def test_mail_from_our_own_address_is_ignored() -> None:
    raw = customer_mail(sender="support@example.test")
    assert decide(situation(raw), SETTINGS).rule == "own_mail"


def test_mail_not_addressed_to_support_is_ignored() -> None:
    raw = customer_mail(to="sales@example.test")
    assert decide(situation(raw, standing()), SETTINGS).rule == "not_for_support"


def test_mail_to_an_alias_counts_as_addressed() -> None:
    settings = replace(SETTINGS, support_aliases=("soporte@example.test",))
    raw = customer_mail(to="Soporte <soporte@example.test>")
    assert decide(situation(raw, standing()), settings).outcome is Outcome.CASE_OPENED
    assert decide(situation(raw, standing()), SETTINGS).rule == "not_for_support"


def test_support_in_cc_counts_as_addressed() -> None:
    raw = customer_mail(to="colleague@acme.test", headers={"Cc": "Support <SUPPORT@Example.test>"})
    assert decide(situation(raw, standing()), SETTINGS).outcome is Outcome.CASE_OPENED


def test_forged_sender_per_trusted_server_is_ignored() -> None:
    raw = customer_mail(headers={"Authentication-Results": "mx.example.test; dmarc=fail header.from=acme.test"})
    assert decide(situation(raw, standing()), SETTINGS).rule == "forged_sender"


def test_authentication_results_from_untrusted_server_are_not_believed() -> None:
    raw = customer_mail(headers={"Authentication-Results": "evil.test; dmarc=fail"})
    assert decide(situation(raw, standing()), SETTINGS).outcome is Outcome.CASE_OPENED


def test_reply_cap_withholds_the_reply_but_keeps_the_decision() -> None:
    decision = decide(situation(customer_mail(sender="bot@else.test"), replies=5), SETTINGS)
    assert (decision.outcome, decision.reply, decision.reply_suppressed_by) == (Outcome.REFUSED, None, "auto_reply_cap")


def test_below_the_cap_replies() -> None:
    assert decide(situation(customer_mail(sender="bot@else.test"), replies=4), SETTINGS).reply is ReplyKind.UNKNOWN_SENDER


def test_reply_by_reference_appends_to_the_case() -> None:
    thread = ThreadMatch(7, "CASE-2026-00007", account_id=1, status="open", evidence=ThreadEvidence.REFERENCE)
    decision = decide(situation(customer_mail(), standing(), thread), SETTINGS)
    assert (decision.outcome, decision.reply) == (Outcome.APPENDED, None)


def test_subject_tag_from_a_stranger_does_not_reach_the_case() -> None:
    thread = ThreadMatch(7, "CASE-2026-00007", account_id=99, status="open", evidence=ThreadEvidence.SUBJECT_TAG)
    decision = decide(situation(customer_mail(sender="x@else.test"), None, thread), SETTINGS)
    assert decision.rule == "unknown_sender"


def test_subject_tag_from_the_accounts_contact_appends() -> None:
    thread = ThreadMatch(7, "CASE-2026-00007", account_id=1, status="open", evidence=ThreadEvidence.SUBJECT_TAG)
    assert decide(situation(customer_mail(), standing(), thread), SETTINGS).outcome is Outcome.APPENDED


def test_a_colleague_on_our_domain_is_not_our_own_mail() -> None:
    raw = customer_mail(message_id="4f1c@example.test")  # Thunderbird builds ids from the sender's domain
    assert decide(situation(raw, standing()), SETTINGS).outcome is Outcome.CASE_OPENED


@pytest.mark.parametrize("address", ["a b@c.test", "josé@ejemplo.es", "x@localhost", "<x@y.test>"])
def test_no_reply_to_an_address_smtp_cannot_take(address: str) -> None:
    from mailbot.domain.messages import Address, InboundMessage  # noqa: F401

    base = parse_message(customer_mail(sender="x@else.test"), max_stored_attachment_bytes=0)
    odd = replace(base, sender=Address(address, ""))
    decision = decide(Situation(odd, None, None, 0, NOW), SETTINGS)
    assert (decision.outcome, decision.reply, decision.reply_suppressed_by) == (Outcome.REFUSED, None, "unusable_address")


SURVEYED = ThreadMatch(7, "CASE-2026-00007", account_id=1, status="closed", evidence=ThreadEvidence.REFERENCE,
                       closed_at=NOW, survey_pending=True)


@pytest.mark.parametrize(
    ("body", "thread", "rule", "reply"),
    [
        ("5 4 3 5", SURVEYED, "survey_answer", ReplyKind.SURVEY_THANKS),
        ("4", SURVEYED, "survey_answer", ReplyKind.SURVEY_THANKS),
        ("5 4", SURVEYED, "survey_correction", ReplyKind.SURVEY_CORRECTION),
        ("6", SURVEYED, "survey_correction", ReplyKind.SURVEY_CORRECTION),
        ("5 4", replace(SURVEYED, survey_corrected=True), "survey_answer", ReplyKind.SURVEY_THANKS),  # corrected once only
        ("5 4 3 5", replace(SURVEYED, survey_pending=False), "thanks_after_close", None),  # already answered
    ],
)
def test_survey_answers_are_thanked_or_corrected_once(body: str, thread: ThreadMatch, rule: str, reply: ReplyKind | None) -> None:
    decision = decide(situation(customer_mail(body=body), standing(), thread), SETTINGS)
    assert (decision.rule, decision.reply) == (rule, reply)
