"""Everything we send is valid mail: folded header lines (RFC 5322 §2.1.1) and safe attachment names (RFC 2231)."""

from __future__ import annotations

import email
import random
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage

import pytest

from mailbot.domain.messages import Address
from mailbot.outbound.compose import Envelope, as_bytes, compose, single_line
from mailbot.outbound.filenames import MAX_NAME_BYTES, MAX_NAME_CHARACTERS, safe_attachment_name
from mailbot.outbound.templates import RenderedMail
from mailbot.parsing import parse_message

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
LONG_SPANISH = ("Informacióndelsistemadefacturaciónelectrónicaañoúltimo" * 20)[:1000]


def envelope(name: str = "Ana García", **overrides: object) -> Envelope:
    values: dict[str, object] = {
        "from_address": "support@example.test", "from_name": "ACME Soporte", "to_address": "ana@acme.test",
        "to_name": name, "reply_to": "support@example.test", "message_id": "id@example.test", "date": NOW,
        **overrides,
    }
    return Envelope(**values)  # type: ignore[arg-type]


def sent(subject: str, name: str = "Ana García", attachments: tuple[tuple[str, str, bytes], ...] = (),
         **overrides: object) -> tuple[bytes, EmailMessage]:
    raw = as_bytes(compose(envelope(name, **overrides), RenderedMail(subject=subject, text="cuerpo", html=None), attachments))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def longest_line(raw: bytes) -> int:
    return max(len(line) for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("subject", [LONG_SPANISH, "x" * 1000, "=?utf-8?q?not_an_encoded_word?= " + "y" * 990])
def test_a_long_subject_without_spaces_is_folded_and_reads_back_the_same(subject: str) -> None:
    assert len(subject) >= 1000 and " " not in subject[-990:]
    raw, parsed = sent(subject)
    assert longest_line(raw) <= 998
    assert parsed["Subject"] == subject


def test_long_display_names_and_header_values_are_folded() -> None:
    name = "Ñandú" * 300
    raw, parsed = sent("Hola", name=name, extra_headers=(("X-Mailbot-Case", "z" * 1500),),
                       from_name="Soporte" * 200, references=tuple(f"{i}-{'r' * 60}@acme.test" for i in range(20)))
    assert longest_line(raw) <= 998
    assert parsed["To"].addresses[0].addr_spec == "ana@acme.test"
    assert parsed["To"].addresses[0].display_name.replace(" ", "") == name  # the stdlib spaces adjacent words apart
    assert parsed["X-Mailbot-Case"] == "z" * 1500


def test_short_headers_stay_plain() -> None:
    raw, parsed = sent("[LC-2026-00001] Error al exportar")
    assert b"\r\nSubject: [LC-2026-00001] Error al exportar\r\n" in raw
    assert b"To: =?utf-8?" in raw and parsed["To"].addresses[0].display_name == "Ana García"


TRICKY = "aZ09 !*+-/=?_\"(),.:;<>@[]\\ñéÑ€😀\u0301\u00a0中文"


@pytest.mark.parametrize("seed", range(40))
def test_any_subject_and_name_read_back_the_same_within_the_line_limits(seed: int) -> None:
    chooser = random.Random(seed)
    text = "".join(chooser.choice(TRICKY) for _ in range(chooser.randint(1, 300)))
    subject, name = single_line(text) or "x", single_line(text[::-1]) or "y"
    raw, parsed = sent(subject, name=name, extra_headers=(("X-Mailbot-Case", subject),))
    assert longest_line(raw) <= 998
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header_lines) <= 78  # every token here is short: RFC 5322's recommendation holds
    assert parsed["Subject"] == parsed["X-Mailbot-Case"] == subject
    assert parsed["To"].addresses[0].display_name.replace(" ", "") == name.replace(" ", "")  # it spaces words apart
    assert parsed["To"].addresses[0].addr_spec == "ana@acme.test"
    ours = parse_message(raw, max_stored_attachment_bytes=0)  # our own parser reads the name exactly
    assert (ours.subject, ours.to) == (subject, (Address("ana@acme.test", name),))


def test_an_unfoldable_message_id_from_mail_is_left_out() -> None:
    raw, parsed = sent("Hola", in_reply_to="a" * 2000 + "@x", references=("ok@x", "b" * 2000 + "@x"))
    assert longest_line(raw) <= 998
    assert parsed["In-Reply-To"] is None and parsed["References"] == "<ok@x>"


def test_attachment_names_are_sanitised_and_encoded_per_rfc_2231() -> None:
    files = (("../../etc/passwd", "text/plain", b"x"), ("con.txt", "text/plain", b"x"),
             ("Informe ñandú " + "é" * 400 + ".pdf", "application/pdf", b"%PDF"),
             ("odd.bin", "text/plain\r\nX-Evil: 1", b"x"))
    raw, parsed = sent("Hola", attachments=files)
    assert longest_line(raw) <= 998
    parts = list(parsed.iter_attachments())
    names = [part.get_filename() for part in parts]
    assert names[:2] == ["passwd", "_con.txt"]
    assert names[2] is not None and names[2].startswith("Informe ñandú é") and names[2].endswith(".pdf")
    assert b"filename*=utf-8''Informe%20%C3%B1and%C3%BA" in raw
    assert parts[3].get_content_type() == "application/octet-stream" and parsed["X-Evil"] is None


@pytest.mark.parametrize(("given", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\Desktop\\factura.pdf", "factura.pdf"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("con.txt", "_con.txt"),
    ("NUL", "_NUL"),
    ("Com1.tar.gz", "_Com1.tar.gz"),
    ("lpt9 .log", "_lpt9 .log"),
    ("console.txt", "console.txt"),
    ("com10.txt", "com10.txt"),
    (".bashrc", "bashrc"),
    ("...", "attachment"),
    ("", "attachment"),
    ("dir/", "attachment"),
    ("informe. . ", "informe"),
    ("a\x00b\r\nc\x7f.txt", "a b c .txt"),
    ("factura\u202etxt.exe", "factura txt.exe"),  # a right-to-left override would show "exe.txt"
    ('dos:puntos<y>"comillas"|?*.doc', "dos_puntos_y__comillas____.doc"),
    ("Presupuesto año 2026.xlsx", "Presupuesto año 2026.xlsx"),
    ("cafe\u0301.txt", "café.txt"),  # NFC: one character, as the reader's file system will show it
])
def test_safe_attachment_name(given: str, safe: str) -> None:
    assert safe_attachment_name(given) == safe


@pytest.mark.parametrize("given", ["a" * 5000 + ".pdf", "é" * 300 + ".docx", "😀" * 200 + ".png", "x" * 300,
                                   "a" * 200 + "." + "b" * 40])
def test_long_names_are_capped_keeping_the_extension(given: str) -> None:
    safe = safe_attachment_name(given)
    assert len(safe) <= MAX_NAME_CHARACTERS and len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    extension = given.rpartition(".")[2]
    if "." in given and len(extension) <= 16:
        assert safe.endswith("." + extension)
    assert safe_attachment_name(safe) == safe  # sanitising twice changes nothing


def test_a_notice_carries_at_most_the_configured_number_of_files_and_names_the_rest() -> None:
    from mailbot.cases.work import MAX_NAMED_LEFT_OUT, attachable, left_out_context
    from mailbot.db.models import StoredAttachment

    stored = [StoredAttachment(filename=f"../parte{i}.txt", content_type="text/plain", size=1, content=b"x")
              for i in range(10_000)]
    files, left_out = attachable(stored, 20)
    assert [name for name, _, _ in files] == [f"parte{i}.txt" for i in range(20)]
    assert len(left_out) == 9_980 and left_out[0] == "parte20.txt"
    context = left_out_context(left_out)
    assert len(context["attachments_left_out"]) == MAX_NAMED_LEFT_OUT
    assert context["attachments_left_out_more"] == 9_980 - MAX_NAMED_LEFT_OUT


@pytest.mark.parametrize(("language", "words"), [("es", "Sin adjuntar"), ("en", "Not attached")])
@pytest.mark.parametrize("kind", ["engineer_new_case", "engineer_customer_message"])
def test_both_notices_name_the_files_left_out_in_both_languages(kind: str, language: str, words: str) -> None:
    from mailbot.outbound.samples import notice_context
    from mailbot.outbound.templates import TemplateRenderer

    context = {**notice_context(language), "case_number": "LC-1", "attachments_left_out": ["a.log", "b.log"],
               "attachments_left_out_more": 7}
    text = TemplateRenderer().render(kind, language, context).text
    more = "y 7 más" if language == "es" else "and 7 more"
    assert f"{words} (" in text and f"a.log, b.log {more}" in text
