"""Calltech's rules as pure policy: maintenances per support year, out-of-scope hints, commands bounded by the plan,
contacts' title and phone, and "sample code, if applicable" (seed 001)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from mailbot.config import PlanSettings
from mailbot.directory.files import DirectoryFileError, read_directory_file
from mailbot.domain.decisions import Outcome, ReplyKind
from mailbot.domain.directory import ContractTerm
from mailbot.parsing import parse_message
from mailbot.policy.classify import classify
from mailbot.policy.commands import parse_engineer_message
from mailbot.policy.decide import decide
from mailbot.policy.missing_info import Detail, missing_details
from mailbot.policy.quota import is_beyond_allowance, support_year
from mailbot.policy.scope import out_of_scope_phrases
from tests.support.mailgen import customer_mail
from tests.unit.test_policy import NOW, SETTINGS, situation, standing

CALLTECH = PlanSettings(ticket_types=("problem", "question", "request", "maintenance", "rma"), default_priority="P3",
                        maintenances_per_year=2, flag_out_of_scope=True)
STANDARD = PlanSettings(ticket_types=("problem", "question"), priority_scheme="impact", default_priority="B2")


# -- 3. preventive maintenances per support year --------------------------------------------------------------

@pytest.mark.parametrize(
    ("contract_start", "day", "year"),
    [
        (date(2026, 3, 15), date(2026, 11, 24), (date(2026, 3, 15), date(2027, 3, 15))),
        (date(2025, 3, 15), date(2026, 3, 14), (date(2025, 3, 15), date(2026, 3, 15))),  # the day before the anniversary
        (date(2025, 3, 15), date(2026, 3, 15), (date(2026, 3, 15), date(2027, 3, 15))),  # the anniversary starts a year
        (date(2024, 2, 29), date(2025, 3, 1), (date(2025, 2, 28), date(2026, 2, 28))),  # leap-day contracts
        (date(2026, 1, 1), date(2026, 12, 31), (date(2026, 1, 1), date(2027, 1, 1))),
    ],
)
def test_support_years_run_from_the_contract_start(contract_start: date, day: date, year: tuple[date, date]) -> None:
    assert support_year(contract_start, day) == year


@pytest.mark.parametrize(("used", "allowance", "beyond"), [(0, 2, False), (1, 2, False), (2, 2, True), (5, 2, True),
                                                           (9, None, False), (0, 0, True)])
def test_allowance(used: int, allowance: int | None, beyond: bool) -> None:
    assert is_beyond_allowance(used, allowance) is beyond


def maintenance_situation(used: int, plan: PlanSettings = CALLTECH, subject: str = "[mantenimiento] ventana"):  # type: ignore[no-untyped-def]
    base = situation(customer_mail(subject=subject, body="Proponemos el 15 de diciembre."), standing())
    found = classify(base.message, plan, NOW.date())
    return replace(base, plan=plan, classification=found, maintenances_this_year=used)


def test_third_maintenance_is_opened_beyond_the_allowance() -> None:
    decision = decide(maintenance_situation(used=2), SETTINGS)
    assert (decision.outcome, decision.reply) == (Outcome.CASE_OPENED, ReplyKind.ACKNOWLEDGMENT)
    assert decision.beyond_maintenance_allowance
    assert "beyond the 2 included maintenances" in decision.reason


def test_second_maintenance_is_within_the_allowance() -> None:
    assert not decide(maintenance_situation(used=1), SETTINGS).beyond_maintenance_allowance


def test_unlimited_plans_and_other_types_are_never_beyond() -> None:
    assert not decide(maintenance_situation(used=7, plan=CALLTECH.model_copy(update={"maintenances_per_year": None})), SETTINGS).beyond_maintenance_allowance
    assert not decide(maintenance_situation(used=7, subject="[problema] caída"), SETTINGS).beyond_maintenance_allowance


def test_the_current_contract_is_the_latest_started_of_those_covering_today() -> None:
    renewed = replace(standing(), contracts=(ContractTerm("C1", date(2025, 1, 1), date(2026, 6, 30)),
                                             ContractTerm("C2", date(2026, 6, 1), None)))
    assert renewed.contract_on(date(2026, 6, 15)).reference == "C2"  # type: ignore[union-attr]
    assert renewed.contract_on(date(2024, 1, 1)) is None


# -- 5. out of scope ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("subject", "body", "phrases"),
    [
        ("Capacitación para operadores", "Queremos una capacitación del módulo de grabación.", ("capacitacion",)),
        ("Nuevo reporte", "Necesitamos desarrollar un reporte de llamadas a medida.", ("desarrollar",)),
        ("Training", "Could you run a training session for our new agents?", ("training",)),
        ("Performance", "We would like performance tuning of the dialer.", ("tuning", "performance tuning")),
        ("Monitoreo", "¿Pueden hacer el monitoreo de la plataforma los fines de semana?", ("monitoreo",)),
    ],
)
def test_out_of_scope_requests_are_recognised(subject: str, body: str, phrases: tuple[str, ...]) -> None:
    assert out_of_scope_phrases(subject, body) == phrases


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Sistema caído", "El servidor de grabación no arranca desde esta mañana."),
        ("Error al grabar", "No es una capacitación: el botón de grabar da error 500."),  # denied
        ("Re: caso", "Gracias.\n\nEl 1 de diciembre escribió:\n> ¿Necesitan capacitación?"),  # only in the quote
    ],
)
def test_ordinary_problems_are_not_flagged(subject: str, body: str) -> None:
    assert out_of_scope_phrases(subject, body) == ()


def test_phrases_are_configurable_and_the_flag_is_per_plan() -> None:
    assert out_of_scope_phrases("Ayuda", "Queremos una auditoría de seguridad.", ("auditoría",)) == ("auditoria",)
    mail = customer_mail(subject="Capacitación", body="Queremos una capacitación.")
    flagged = replace(situation(mail, standing()), plan=CALLTECH)
    decision = decide(flagged, SETTINGS)
    assert (decision.outcome, decision.out_of_scope) == (Outcome.CASE_OPENED, ("capacitacion",))  # opened, never refused
    assert decide(replace(flagged, plan=CALLTECH.model_copy(update={"flag_out_of_scope": False})), SETTINGS).out_of_scope == ()


# -- 8. commands respect the plan --------------------------------------------------------------------------------

def test_type_outside_the_plan_is_refused_to_the_engineer() -> None:
    parsed = parse_engineer_message("#type request\nHola", STANDARD.priorities, {}, STANDARD.ticket_types)
    assert parsed.commands == ()
    [error] = parsed.errors
    assert (error.key, dict(error.params)) == ("type_not_in_plan", {"choices": "#type problem|question"})


def test_type_and_priority_of_the_plan_are_obeyed() -> None:
    parsed = parse_engineer_message("#type question\n#priority A1\nHola", STANDARD.priorities, {}, STANDARD.ticket_types)
    assert [(command.name, command.argument) for command in parsed.commands] == [("type", "question"), ("priority", "A1")]


def test_priority_of_the_other_scheme_is_refused() -> None:
    [error] = parse_engineer_message("#priority A1", CALLTECH.priorities, {}, CALLTECH.ticket_types).errors
    assert error.key == "priority_not_in_plan"


# -- 9. contacts' details and "sample code, if applicable" ------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "text", "details"),
    [
        ("d.toml", '[[accounts]]\nkey = "a"\nname = "A"\nplan = "gold"\ncontacts = [{ email = "ana@a.example",'
                   ' title = "Jefa de sistemas", phone = "+57 1 555  0100 ext. 204" }]\n', ("Jefa de sistemas", "+57 1 555 0100 ext. 204")),
        ("d.csv", "account_key,account_name,plan,contact_email,contact_title,contact_phone\n"
                  "a,A,gold,ana@a.example,IT manager,(601) 555 0100 x12\n", ("IT manager", "(601) 555 0100 x12")),
    ],
)
def test_directory_contacts_carry_title_and_phone(tmp_path: Path, name: str, text: str, details: tuple[str, str]) -> None:
    path = tmp_path / name
    path.write_text(text)
    [contact] = read_directory_file(path).accounts[0].contacts
    assert (contact.title, contact.phone) == details


def test_a_phone_that_is_no_number_is_refused_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[[accounts]]\nkey = "a"\nname = "A"\nplan = "gold"\ncontacts = [{ email = "ana@a.example", phone = "call me" }]\n')
    with pytest.raises(DirectoryFileError) as raised:
        read_directory_file(path)
    assert "account 'a': contacts[0].phone" in str(raised.value)


def lacking(subject: str, body: str, ticket_type: str = "problem", attachment: tuple[str, str, bytes] | None = None) -> set[Detail]:
    message = parse_message(customer_mail(subject=subject, body=body, attachment=attachment), max_stored_attachment_bytes=10_000)
    return set(missing_details(message, ticket_type))


def test_problems_with_code_the_customer_builds_ask_for_sample_code() -> None:
    assert Detail.SAMPLE_CODE in lacking("Error en la API", "La integración con la API REST de CTMail devuelve error 500.")
    assert Detail.SAMPLE_CODE in lacking("Script fails", "Our script against the SDK fails since 7.2.")


def test_sample_code_is_not_asked_when_sent_or_not_applicable() -> None:
    sent = "La API devuelve error.\n\n    requests.post(url, json=datos)\n"
    assert Detail.SAMPLE_CODE not in lacking("Error en la API", sent)
    assert Detail.SAMPLE_CODE not in lacking("API", "La API falla.", attachment=("prueba.py", "text/x-python", b"print(1)"))
    assert Detail.SAMPLE_CODE not in lacking("Fuente dañada", "El equipo no enciende.")  # hardware
    assert Detail.SAMPLE_CODE not in lacking("[RMA] API", "La API del equipo no responde.", "rma")
    assert Detail.SAMPLE_CODE not in lacking("Pregunta API", "¿La API admite JSON?", "question")
