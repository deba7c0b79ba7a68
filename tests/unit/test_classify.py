"""Ticket type, priority, requested dates and missing details, from realistic Spanish and English mail."""

from __future__ import annotations

from datetime import date

import pytest

from mailbot.config import PlanSettings
from mailbot.parsing import parse_message
from mailbot.policy.classify import classify
from mailbot.policy.missing_info import Detail, missing_details
from tests.support.mailgen import customer_mail

TODAY = date(2026, 11, 23)
SEVERITY = PlanSettings(priority_scheme="severity", default_priority="P3", ticket_types=("problem", "question", "request", "maintenance", "rma"))
IMPACT = PlanSettings(priority_scheme="impact", default_priority="B2", ticket_types=("problem", "question"))


def found(subject: str, body: str = "Hola.", plan: PlanSettings = SEVERITY):  # type: ignore[no-untyped-def]
    return classify(parse_message(customer_mail(subject=subject, body=body), max_stored_attachment_bytes=0), plan, TODAY)


@pytest.mark.parametrize(
    ("subject", "ticket_type"),
    [
        ("[problema] No arranca", "problem"),
        ("[Problem] Service fails", "problem"),
        ("[consulta] Licencias", "question"),
        ("Re: [question] licences", "question"),
        ("[Solicitud] Alta de usuario", "request"),
        ("[request] new user", "request"),
        ("[mantenimiento] Ventana de diciembre", "maintenance"),
        ("[RMA] Fuente dañada", "rma"),
        ("[garantía] Disco averiado", "rma"),
        ("Solicitud de mantenimiento preventivo", "maintenance"),
        ("Equipo en garantía no enciende", "rma"),
        ("No funciona la exportación", "problem"),  # plan default
    ],
)
def test_ticket_type(subject: str, ticket_type: str) -> None:
    assert found(subject).ticket_type == ticket_type


@pytest.mark.parametrize(
    ("subject", "body", "plan", "priority"),
    [
        ("[P1] Caída total", "", SEVERITY, "P1"),
        ("[p2] lento", "", SEVERITY, "P2"),
        ("[A1] urgente", "", IMPACT, "A1"),
        ("[A1] tag from the other scheme", "", SEVERITY, "P1"),
        ("[P4] info", "", IMPACT, "C3"),
        ("El sistema está caído", "", SEVERITY, "P1"),
        ("Incidencia", "Desde las 8:00 el servicio caído en producción.", SEVERITY, "P1"),
        ("Production outage", "System down since 9am.", IMPACT, "A1"),
        ("URGENTE: no imprime", "", SEVERITY, "P2"),
        ("Urgent: report wrong", "", IMPACT, "A1"),
        ("Duda sobre la configuración", "", SEVERITY, "P3"),
        ("Question", "", IMPACT, "B2"),
    ],
)
def test_priority(subject: str, body: str, plan: PlanSettings, priority: str) -> None:
    assert found(subject, body or "Hola.", plan).priority == priority


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ("Solicitamos mantenimiento el 27/11/2026 por la mañana.", date(2026, 11, 27)),
        ("Proponemos el 15 de diciembre para la ventana.", date(2026, 12, 15)),
        ("Proponemos el 10 de enero.", date(2027, 1, 10)),
        ("We would like it on December 3, 2026.", date(2026, 12, 3)),
        ("Fecha: 2026-12-01", date(2026, 12, 1)),
        ("Sin fecha todavía.", None),
        ("Fue instalado el 02/02/2020.", None),  # a past date is not a request
    ],
)
def test_requested_date(body: str, wanted: date | None) -> None:
    assert found("[mantenimiento] ventana", body).requested_date == wanted


def lacking(subject: str, body: str, ticket_type: str = "problem", attachment: bool = False) -> set[Detail]:
    raw = customer_mail(subject=subject, body=body, attachment=("app.log", "text/plain", b"x") if attachment else None)
    return set(missing_details(parse_message(raw, max_stored_attachment_bytes=100), ticket_type))


def test_complete_spanish_report_lacks_nothing() -> None:
    body = ("Buenos días:\nEn el FortiGate 7.2.5 build 1517 sobre Windows Server 2019 aparece el error "
            "\"Connection reset by peer\" al sincronizar. Adjunto el log.\n")
    assert lacking("Fallo de sincronización", body, attachment=True) == set()


def test_vague_report_lacks_everything() -> None:
    assert lacking("Ayuda", "No funciona, por favor revisen.") == {
        Detail.PRODUCT, Detail.VERSION, Detail.OPERATING_SYSTEM, Detail.ERROR_MESSAGE, Detail.LOGS}


def test_english_report_with_version_but_no_logs() -> None:
    body = "Our Veeam Backup 12.1 job on Ubuntu 22.04 fails with error code 0x80070005."
    assert lacking("Backup fails", body) == {Detail.LOGS}


def test_questions_are_not_asked_for_logs() -> None:
    assert lacking("Licencias", "¿Cuántas licencias incluye el producto: Acme Suite 3.1?", "question") == set()


def test_known_products_from_configuration() -> None:
    raw = customer_mail(subject="Falla", body="El módulo de facturación da error en Linux v3.2")
    message = parse_message(raw, max_stored_attachment_bytes=0)
    assert Detail.PRODUCT in missing_details(message, "problem", ("Contabilidad Pro",))
    assert Detail.PRODUCT not in missing_details(message, "problem", ("facturación",))


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Descarga", "Where can I find this download? Not urgent at all."),
        ("Consulta", "No es urgente, cuando puedan."),
        ("Aviso", "We have a planned outage on Saturday."),
        ("Re: informe", "Gracias, lo reviso.\n\nEl lun, 23 nov 2026 a las 10:00, Ana escribió:\n> URGENTE: el sistema está caído"),
    ],
)
def test_denied_or_quoted_phrases_keep_the_default_priority(subject: str, body: str) -> None:
    assert found(subject, body).priority == "P3"


def test_keyword_outside_the_plan_never_refuses() -> None:
    # "garantía" on a plan without RMA: the plan default type, not a refusal.
    assert found("¿El equipo sigue en garantía?", plan=IMPACT).ticket_type == "problem"


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ("Bogotá, 23 de noviembre de 2026\n\nSolicitamos mantenimiento preventivo para el 20 de diciembre.", date(2026, 12, 20)),
        ("Ref pedido 02/12/2026. Mantenimiento preventivo el 20 de diciembre.", date(2026, 12, 20)),
        ("Maintenance window: 15 December 2026.", date(2026, 12, 15)),
    ],
)
def test_requested_date_is_the_one_asked_for(body: str, wanted: date) -> None:
    assert found("[mantenimiento] ventana", body).requested_date == wanted


def test_a_signature_logo_is_not_a_log() -> None:
    raw = customer_mail(subject="Falla", body="Error 500 en FortiGate 7.2 sobre Linux.",
                        attachment=("image001.png", "image/png", b"\x89PNG"))
    assert missing_details(parse_message(raw, max_stored_attachment_bytes=100), "problem") == (Detail.LOGS,)
