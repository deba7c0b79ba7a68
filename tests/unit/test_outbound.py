"""Outgoing mail: templates in both languages, threading headers, and no header injection."""

from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email import policy

import pytest

from mailbot.config import SupportSettings
from mailbot.domain.decisions import ReplyKind, Situation
from mailbot.domain.directory import ContractTerm, SenderStanding
from mailbot.outbound.compose import Envelope, compose, trimmed_references
from mailbot.outbound.replies import ReplyComposer
from mailbot.outbound.templates import RenderedMail, TemplateRenderer
from mailbot.parsing import parse_message
from tests.support.mailgen import customer_mail

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
SUPPORT = SupportSettings(address="support@example.test", display_name="ACME Support", case_prefix="LC")


def standing(language: str | None) -> SenderStanding:
    return SenderStanding(1, "ana@acme.test", "Ana García", 1, "acme", "ACME S.A.", "standard", language,
                          "America/Bogota", (ContractTerm("C", date(2025, 1, 1), date(2025, 12, 31)),))


@dataclass
class FakeCase:
    number: str
    priority: str | None = None
    ticket_type: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    replacement_due: datetime | None = None
    warranty_option: str | None = None
    warranty_ends_on: date | None = None


def reply(kind: ReplyKind, raw: bytes, sender: SenderStanding | None, number: str | None = None) -> email.message.EmailMessage:
    composer = ReplyComposer(SUPPORT, TemplateRenderer())
    situation = Situation(parse_message(raw, max_stored_attachment_bytes=0), sender, None, 0, NOW)
    outgoing = composer.reply(kind, situation, FakeCase(number) if number else None)
    return email.message_from_bytes(outgoing.raw, policy=policy.default)  # type: ignore[return-value]


def test_acknowledgment_threads_and_carries_the_case_tag() -> None:
    raw = customer_mail(message_id="m1@acme.test", references=("m0@acme.test",), subject="Falla la instalación")
    sent = reply(ReplyKind.ACKNOWLEDGMENT, raw, standing("es"), "LC-2026-00042")
    assert sent["Subject"] == "[LC-2026-00042] Falla la instalación"
    assert sent["In-Reply-To"] == "<m1@acme.test>"
    assert sent["References"] == "<m0@acme.test> <m1@acme.test>"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Reply-To"] == "support@example.test"
    assert sent["X-Loop"] == "support@example.test"
    assert sent["Message-ID"].endswith("@example.test>")
    assert sent["To"].addresses[0].addr_spec == "ana@acme.test"
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "LC-2026-00042" in text and "Próximos pasos" in text
    assert "<strong>LC-2026-00042</strong>" in html


def test_english_contact_gets_english() -> None:
    sent = reply(ReplyKind.ACKNOWLEDGMENT, customer_mail(), standing("en"), "LC-2026-00001")
    assert "What happens next" in sent.get_body(("plain",)).get_content()


def test_no_language_falls_back_to_the_configured_default() -> None:
    sent = reply(ReplyKind.UNKNOWN_SENDER, customer_mail(sender="x@else.test"), None)
    assert "no está registrado" in sent.get_body(("plain",)).get_content()


def test_expired_contract_reply_names_the_end_date() -> None:
    sent = reply(ReplyKind.NO_CONTRACT, customer_mail(), standing("es"))
    assert "2025-12-31" in sent.get_body(("plain",)).get_content()


def test_html_template_escapes_mail_content() -> None:
    raw = customer_mail(subject="<script>alert(1)</script>")
    html = reply(ReplyKind.ACKNOWLEDGMENT, raw, standing("en"), "LC-2026-00001").get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("evil", ["Hola\r\nBcc: victim@x.test", "Hola\nBcc: victim@x.test", "Hola\rBcc: victim@x.test"])
def test_header_injection_is_impossible(evil: str) -> None:
    envelope = Envelope("support@example.test", "Support\r\nX-Evil: 1", "ana@acme.test", "Ana\nBcc: v@x.test",
                        "support@example.test", "id@example.test", NOW)
    message = compose(envelope, RenderedMail(subject=evil, text="body", html=None))
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "Bcc: victim@x.test" in parsed["Subject"]  # kept as text on one line


def test_long_reference_chains_keep_root_and_newest() -> None:
    chain = tuple(f"m{i}@x" for i in range(40))
    trimmed = trimmed_references(chain, "parent@x")
    assert trimmed[0] == "m0@x" and trimmed[-1] == "parent@x" and len(trimmed) == 20


def test_operator_override_replaces_one_template(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgment.subject.j2").write_text("Case {{ case_number }} opened")
    rendered = TemplateRenderer(tmp_path).render("acknowledgment", "en", _context())
    assert rendered.subject == "Case LC-1 opened"
    assert "What happens next" in rendered.text  # the rest still comes from the shipped set


def test_templates_are_compiled_once_and_not_looked_up_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    renderer = TemplateRenderer(tmp_path)
    first = renderer.render("acknowledgment", "en", _context())
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgment.subject.j2").write_text("Changed")
    assert renderer.render("acknowledgment", "en", _context()) == first  # auto_reload off: read at start only
    assert TemplateRenderer(tmp_path).render("acknowledgment", "en", _context()).subject == "Changed"
    assert TemplateRenderer(tmp_path, auto_reload=True).render("acknowledgment", "en", _context()).subject == "Changed"


def _context() -> dict[str, object]:
    from mailbot.outbound.samples import sample_context

    return {**sample_context("en"), "case_number": "LC-1"}
