"""The parse stage over the sample mails in tests/mail/ and over hostile or broken input."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailbot.domain.messages import Address, InboundMessage
from mailbot.parsing import UnparseableMessage, parse_message
from mailbot.parsing.addresses import normalise_email, parse_address_list, strip_msgid
from mailbot.parsing.html_text import html_to_text

MAIL = Path(__file__).resolve().parent.parent / "mail"
ONE_MB = 1024 * 1024


def raw_sample(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def parse_sample(name: str, limit: int = ONE_MB) -> InboundMessage:
    return parse_message(raw_sample(name), max_stored_attachment_bytes=limit)


def parse_bytes(raw: bytes, limit: int = ONE_MB) -> InboundMessage:
    return parse_message(raw, max_stored_attachment_bytes=limit)


# --- the sample mails -------------------------------------------------------------------------


def test_spanish_quoted_printable_plain_text() -> None:
    msg = parse_sample("es_utf8_qp.eml")
    assert msg.subject == "Problema con la instalación"
    assert msg.sender == Address(email="jose.munoz@cliente.example", name="José Muñoz")
    assert "Buenos días, el sistema no arranca. Adjunto el log." in msg.text
    assert "¿Podrían revisarlo? La señal de error aparece después de la instalación." in msg.text
    assert "Contrato: ÑANDÚ-2024" in msg.text
    assert "\r" not in msg.text
    assert msg.html is None
    assert msg.content_type == "text/plain"
    assert msg.message_id == msg.message_key == "CAF1xqz5Gd8=es-qp-0001@mail.cliente.example"
    assert msg.date == datetime(2024, 3, 12, 9, 15, tzinfo=timezone(timedelta(hours=1)))
    assert msg.defects == ()


def test_recipients_are_decoded_normalised_and_deduplicated() -> None:
    msg = parse_sample("es_utf8_qp.eml")
    assert msg.to == (Address("soporte@vendor.example", "Soporte Vendor"),)
    assert msg.cc == (Address("ana.garcia@cliente.example", "Ana García"), Address("soporte@vendor.example"))
    assert msg.delivered_to == ("soporte@vendor.example",)
    assert msg.recipients == ("soporte@vendor.example", "ana.garcia@cliente.example", "soporte@vendor.example",
                              "soporte@vendor.example")


def test_every_header_is_kept_in_order_on_one_line() -> None:
    msg = parse_sample("es_utf8_qp.eml")
    assert msg.headers[0] == ("return-path", "<jose.munoz@cliente.example>")
    assert msg.headers[1] == ("delivered-to", "Soporte@Vendor.Example")
    assert msg.header("received") == (
        "from mx.cliente.example (mx.cliente.example [192.0.2.10]) by mx.vendor.example with ESMTPS id 4Xy2Z1 "
        "for <soporte@vendor.example>; Tue, 12 Mar 2024 09:15:02 +0100"
    )
    assert msg.header("SUBJECT") == "Problema con la instalación"
    assert [name for name, _ in msg.headers] == [
        "return-path", "delivered-to", "received", "from", "to", "cc", "subject", "date", "message-id",
        "mime-version", "content-type", "content-transfer-encoding",
    ]
    assert msg.size == len(raw_sample("es_utf8_qp.eml"))


def test_iso_8859_1_base64_body_and_b_encoded_subject() -> None:
    msg = parse_sample("latin1_base64.eml")
    assert msg.subject == "Petición de soporte: error de conexión"
    assert msg.sender == Address("maria.pena@cliente.example", "María Peña")
    assert 'La aplicación muestra "Error de conexión" al iniciar sesión.' in msg.text
    assert "¿Es un problema conocido? Gracias por la atención." in msg.text
    assert msg.date == datetime(2024, 3, 13, 16, 40, 12, tzinfo=timezone.utc)


def test_windows_1252_curly_quotes_and_euro() -> None:
    msg = parse_sample("windows1252_8bit.eml")
    assert msg.text == (
        "Buenas tardes,\n\nLa factura dice \u201c1.250 \u20ac\u201d pero el contrato \u2018Plan Básico\u2019 "
        "cuesta 990 \u20ac \u2014 ¿por qué?\n\nSaludos\n"
    )
    assert msg.defects == ()


def test_body_declared_utf8_but_really_windows_1252_falls_back() -> None:
    msg = parse_sample("mislabelled_charset.eml")
    assert msg.text == "Precio: 20 \u20ac, \u201cbásico\u201d.\n"
    assert any("windows-1252" in defect for defect in msg.defects)


def test_unknown_charset_in_body_and_subject() -> None:
    msg = parse_sample("unknown_charset.eml")
    assert msg.subject == "Charset raro"
    assert msg.text == "Texto en UTF-8 con charset desconocido: señor.\n"
    assert any("x-unknown" in defect for defect in msg.defects)


def test_html_only_message_gets_text_from_html() -> None:
    msg = parse_sample("html_only.eml")
    assert msg.content_type == "text/html"
    assert msg.html is not None and "<b>no</b>" in msg.html
    assert msg.text == (
        "Incidencia\n\nBuenos días,\n\nEl servidor no responde.\nDesde ayer.\n\nVersión 4.2\nLinux\n\nGracias & saludos"
    )


def test_multipart_alternative_prefers_plain_and_keeps_html() -> None:
    msg = parse_sample("alternative.eml")
    assert msg.content_type == "multipart/alternative"
    assert msg.sender == Address("laura@cliente.example", "Laura Gómez")
    assert msg.text == "Necesitamos dos licencias más para el equipo de Logística.\n"
    assert msg.html == "<p>Necesitamos <b>dos licencias más</b> para el equipo de Logística.</p>\n"
    assert msg.attachments == ()


def test_attachments_names_types_and_sizes() -> None:
    msg = parse_sample("attachments.eml")
    assert msg.text == "Adjunto el log del arranque y la factura en PDF.\n"
    assert [(a.filename, a.content_type, a.size) for a in msg.attachments] == [
        ("firma.png", "image/png", 70),
        ("factura-2024-03.pdf", "application/pdf", 308),
        ("instalación_résumé.log", "text/plain", 115),
    ]
    assert all(attachment.is_stored for attachment in msg.attachments)
    pdf, log = msg.attachments[1].content, msg.attachments[2].content
    assert pdf is not None and pdf.startswith(b"%PDF-1.4\n") and bytes(range(256)) in pdf
    assert log is not None and 'módulo "núcleo" no encontrado' in log.decode("utf-8")


def test_attachments_above_the_limit_are_measured_but_not_stored() -> None:
    msg = parse_sample("attachments.eml", limit=100)
    stored = {a.filename: a.is_stored for a in msg.attachments}
    assert stored == {"firma.png": True, "factura-2024-03.pdf": False, "instalación_résumé.log": False}
    assert msg.attachments[1].size == 308


def test_reply_thread_ids() -> None:
    msg = parse_sample("reply.eml")
    assert msg.subject == "Re: [Caso #1042] Problema con la instalación"
    assert msg.in_reply_to == ("case-1042.2@vendor.example",)
    assert msg.references == (
        "CAF1xqz5Gd8=es-qp-0001@mail.cliente.example",
        "case-1042.1@vendor.example",
        "case-1042.2@vendor.example",
    )
    assert msg.thread_ids == (
        "case-1042.2@vendor.example",
        "case-1042.1@vendor.example",
        "CAF1xqz5Gd8=es-qp-0001@mail.cliente.example",
    )
    assert "> ¿Puede probar la versión 4.2.1?" in msg.text


def test_delivery_status_notification() -> None:
    msg = parse_sample("dsn.eml")
    assert msg.content_type == "multipart/report"
    assert msg.sender == Address("mailer-daemon@mx.vendor.example", "Mail Delivery System")
    assert msg.sender.local_part == "mailer-daemon"
    assert msg.header("return-path") == "<>"
    assert msg.header("auto-submitted") == "auto-replied"
    assert msg.text.startswith("This is the mail system at host mx.vendor.example.")
    assert "550 5.1.1 User unknown" in msg.text
    assert "Reporting-MTA" not in msg.text  # the message/delivery-status part is not body text
    assert "Hemos recibido" not in msg.text  # nor is the returned message
    [returned] = msg.attachments
    assert (returned.filename, returned.content_type) == ("message.eml", "message/rfc822")
    assert returned.content is not None and returned.content.startswith(b"From: Soporte <soporte@vendor.example>")
    assert returned.size == len(returned.content)


def test_out_of_office_headers_are_there_for_loop_detection() -> None:
    msg = parse_sample("out_of_office.eml")
    assert msg.header("auto-submitted") == "auto-replied"
    assert msg.header("X-Autoreply") == "yes"
    assert msg.header_values("precedence") == ("auto_reply",)
    assert msg.header("list-id") is None
    assert msg.subject == "Fuera de la oficina: Re: [Caso #1042]"
    assert msg.in_reply_to == ("case-1042.3@vendor.example",)


def test_message_without_message_id_gets_a_stable_content_key() -> None:
    raw = raw_sample("no_message_id.eml")
    first, second = parse_bytes(raw), parse_bytes(raw)
    assert first.message_id is None
    assert first.message_key == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert second.message_key == first.message_key
    assert first.sender == Address("legacy-system@cliente.example")
    # "21 Mar 2024 06:00:00" carries no zone: read as UTC (RFC 5322 §3.3 makes the zone mandatory).
    assert first.date == datetime(2024, 3, 21, 6, 0, tzinfo=timezone.utc)


def test_encoded_crlf_in_subject_cannot_inject_a_header() -> None:
    msg = parse_sample("crlf_injection_subject.eml")
    assert msg.subject == "Hola Bcc: evil@x.test"
    assert all("\r" not in value and "\n" not in value for _, value in msg.headers)
    assert msg.header("bcc") is None


def test_8bit_unencoded_headers() -> None:
    msg = parse_sample("eight_bit_headers.eml")
    assert msg.subject == "Instalación fallida en el servidor"
    assert msg.sender == Address("inigo@cliente.example", "Íñigo Yáñez")
    assert msg.header("x-comment") == "café \u20ac"  # windows-1252 octets, not UTF-8
    assert msg.text == "Cuerpo sin charset declarado: pingüino.\n"


def test_broken_boundary_still_yields_the_text() -> None:
    msg = parse_sample("broken_boundary.eml")
    assert msg.text == "El cuerpo usa otro separador."
    assert "StartBoundaryNotFoundDefect" in msg.defects
    assert msg.date is None


# --- hostile and broken input -----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\n"])
def test_empty_input_is_unparseable(raw: bytes) -> None:
    with pytest.raises(UnparseableMessage, match="empty"):
        parse_bytes(raw)


@pytest.mark.parametrize(
    "raw",
    [
        random.Random(20240312).randbytes(4096),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
        b"just some words without any header\nand a second line\n",
    ],
)
def test_input_without_a_header_section_is_unparseable(raw: bytes) -> None:
    with pytest.raises(UnparseableMessage, match="no header section"):
        parse_bytes(raw)


def test_non_bytes_input_is_unparseable() -> None:
    with pytest.raises(UnparseableMessage, match="expected bytes"):
        parse_message("From: a@b.example\n\nhi", max_stored_attachment_bytes=1)  # type: ignore[arg-type]


def test_nested_multipart_with_a_wrong_boundary_cut_short_is_read() -> None:
    # A nested multipart with a wrong boundary in a message cut short before its close delimiter
    # (mail-parser's post-processing, used until issue 12, raised AttributeError on it).
    raw = (
        raw_sample("attachments.eml")
        .replace(b'boundary="==rel=="', b'boundary="==related=="')
        .replace(b"--==mixed==--\n", b"")
    )
    msg = parse_bytes(raw)
    assert msg.subject == "Adjunto log y factura"
    assert "Adjunto el log del arranque" in msg.text
    # the inner part is re-read with the boundary its body really uses, so the image is not lost
    assert [a.filename for a in msg.attachments] == ["firma.png", "factura-2024-03.pdf", "instalación_résumé.log"]
    assert "StartBoundaryNotFoundDefect" in msg.defects
    assert msg.date == datetime(2024, 3, 12, 8, 30, tzinfo=timezone.utc)


def test_unreadable_rfc2231_parameters_keep_the_attachment() -> None:
    # Mixed "filename*0*" and "filename*" make CPython's decode_params raise TypeError.
    raw = (
        b"From: a@b.example\nMIME-Version: 1.0\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*0*=utf-8''a; filename*=b.pdf\n\n%PDF\n"
    )
    msg = parse_bytes(raw)
    [attachment] = msg.attachments
    assert (attachment.filename, attachment.content_type, attachment.content) == ("attachment.pdf", "application/pdf",
                                                                                  b"%PDF\n")
    assert "unreadable filename parameter" in msg.defects


def test_parser_failure_is_wrapped_with_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(raw: bytes, **options: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("mailbot.parsing.parse.message_from_bytes", explode)
    with pytest.raises(UnparseableMessage, match="RuntimeError: boom") as caught:
        parse_bytes(raw_sample("reply.eml"))
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_missing_from_is_not_unparseable() -> None:
    msg = parse_bytes(b"To: soporte@vendor.example\nSubject: sin remitente\n\nHola\n")
    assert msg.sender is None
    assert msg.subject == "sin remitente"
    assert msg.text == "Hola\n"
    assert "no usable From address" in msg.defects


def test_garbage_date_and_odd_message_ids() -> None:
    long_id = "x" * 1000 + "@example.test"
    msg = parse_bytes(f"From: a@b.example\nDate: not a date at all\nMessage-ID: <{long_id}>\n\nhi\n".encode())
    assert msg.date is None
    assert msg.message_id == long_id
    assert msg.message_key.startswith("sha256:")
    spaced = parse_bytes(b"From: a@b.example\nMessage-ID: <a b@c.example>\n\nhi\n")
    assert spaced.message_key.startswith("sha256:")
    bare = parse_bytes(b"From: a@b.example\nMessage-ID: bare-id@c.example\n\nhi\n")
    assert bare.message_id == bare.message_key == "bare-id@c.example"


def test_encoded_words_split_mid_character_and_outlook_style_filenames() -> None:
    raw = (
        b"From: =?UTF-8?Q?Mu=C3=B1oz,_Jos=C3=A9?= <j@cliente.example>\n"
        b"Subject: =?UTF-8?Q?a=C3?= =?UTF-8?Q?=A1b?= =?UTF-8?B?w6k=?= fin\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nver adjunto\n"
        b'--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="=?UTF-8?B?'
        + base64.b64encode("configuración.ini".encode())
        + b'?="\nContent-Transfer-Encoding: base64\n\n'
        + base64.b64encode(b"[core]\n")
        + b"\n--b--\n"
    )
    msg = parse_bytes(raw)
    assert msg.subject == "aábé fin"
    assert msg.sender == Address("j@cliente.example", "Muñoz, José")
    [attachment] = msg.attachments
    assert (attachment.filename, attachment.content, attachment.size) == ("configuración.ini", b"[core]\n", 7)


def test_huge_header_section_of_encoded_words_parses() -> None:
    # 10,000 encoded-words (200 KB): mail-parser's header decoding, used until issue 12, was quadratic in this.
    raw = b"From: a@b.example\nSubject: " + b" ".join([b"=?UTF-8?Q?=C3=B1?="] * 10_000) + b"\n\nhola\n"
    msg = parse_bytes(raw)
    assert msg.subject == "ñ" * 10_000
    assert msg.text == "hola\n"


@pytest.mark.parametrize(("value", "expected"), [
    ("Tue, 12 Mar 2024 09:15:00 (CET) +0100", datetime(2024, 3, 12, 8, 15, tzinfo=timezone.utc)),  # email.utils: 09:15
    ("Tue, 12 (x) Mar 2024 09:15:00 +0100", datetime(2024, 3, 12, 8, 15, tzinfo=timezone.utc)),  # email.utils refuses
    ("Sat, 31 Dec 2016 23:59:60 +0000", datetime(2017, 1, 1, tzinfo=timezone.utc)),  # a leap second
    ("Tue, 12 Mar 2024 9:15:00 +0100", datetime(2024, 3, 12, 8, 15, tzinfo=timezone.utc)),  # one-digit hour: email.utils
    ("Tue, 12 Mar 2024 09:15:00", datetime(2024, 3, 12, 9, 15, tzinfo=timezone.utc)),  # no zone: taken as UTC
])
def test_dates_in_obsolete_syntax_are_read_at_the_right_instant(value: str, expected: datetime) -> None:
    assert parse_bytes(f"From: a@b.example\nDate: {value}\n\nhi\n".encode()).date == expected


def test_twelve_megabyte_attachment_is_measured_not_stored() -> None:
    payload = bytes(range(256)) * (12 * ONE_MB // 256)
    raw = (
        b"From: big@cliente.example\nTo: soporte@vendor.example\nSubject: volcado\nMessage-ID: <big@cliente.example>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="big"\n\n'
        b"--big\nContent-Type: text/plain; charset=utf-8\n\nAdjunto el volcado.\n"
        b'--big\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="core.dump"\n'
        b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(payload) + b"--big--\n"
    )
    msg = parse_bytes(raw, limit=ONE_MB)
    assert msg.text == "Adjunto el volcado."  # RFC 2046 §5.1.1: the line break before a boundary is the boundary's
    [dump] = msg.attachments
    assert (dump.filename, dump.size, dump.content) == ("core.dump", 12 * ONE_MB, None)


# --- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jose.Munoz@Cliente.Example", "jose.munoz@cliente.example"),
        ("  <Soporte@Vendor.EXAMPLE>  ", "soporte@vendor.example"),
        ("plain@example.test", "plain@example.test"),
        ("no-at-sign", ""),
        ("", ""),
        ("@example.test", ""),
        ("user@", ""),
    ],
)
def test_normalise_email(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


def test_parse_address_list_skips_invalid_and_deduplicates() -> None:
    addresses = parse_address_list(
        ["Ana <ANA@x.example>, undisclosed-recipients:;, nobody", "ana@x.example, =?ISO-8859-1?Q?Pe=F1a?= <p@y.example>"]
    )
    assert addresses == (Address("ana@x.example", "Ana"), Address("p@y.example", "Peña"))
    assert parse_address_list(None) == ()
    assert parse_address_list("") == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@b>", ("a@b",)),
        ("<a@b> <c@d>\r\n\t<e@f>", ("a@b", "c@d", "e@f")),
        ('Your message of "Mon, 1 Jan 2024" <a@b>', ("a@b",)),
        ("lone@token", ("lone@token",)),
        ("two tokens", ()),
        ("", ()),
        (None, ()),
        ("<a@b> <a@b>", ("a@b",)),
    ],
)
def test_strip_msgid(value: str | None, expected: tuple[str, ...]) -> None:
    assert strip_msgid(value) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hola</p><p>Adiós</p>", "Hola\n\nAdiós"),
        ("uno<br>dos<br/>tres", "uno\ndos\ntres"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<ul><li>uno</li><li>dos</li></ul>", "uno\ndos"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<head><title>t</title></head><script>x()</script><style>p{}</style><h2>Título</h2>texto", "Título\n\ntexto"),
        ("<p>a</p>\n\n\n<br><br><br><br><p>b</p>", "a\n\nb"),
        ("<p>  muchos   espacios \n partidos  </p>", "muchos espacios partidos"),
        ("<pre>  sangría\n    más</pre>", "  sangría\n    más"),
        ("x&nbsp;&amp;&nbsp;y <!-- comentario -->", "x & y"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_thread_ids_are_bounded_newest_first_with_in_reply_to_kept() -> None:
    from mailbot.domain.messages import MAX_THREAD_IDS

    references = " ".join(f"<r{n}@x.test>" for n in range(70_000))
    raw = (f"From: a@b.test\r\nTo: support@example.test\r\nSubject: s\r\nMessage-ID: <m@b.test>\r\n"
           f"In-Reply-To: <parent@x.test>\r\nReferences: {references}\r\n\r\nhola\r\n").encode()
    ids = parse_message(raw, max_stored_attachment_bytes=1000).thread_ids
    assert len(ids) == MAX_THREAD_IDS
    assert ids[:3] == ("parent@x.test", "r69999@x.test", "r69998@x.test")


def test_engineer_addresses_match_exactly_not_as_substrings() -> None:
    from mailbot.db.queries import is_among

    assert is_among("ana@vendor.test", "juana@vendor.test, ana@vendor.test")
    assert not is_among("ana@vendor.test", "juana@vendor.test")
    assert is_among("Ana@Vendor.test", "ana@vendor.test")
