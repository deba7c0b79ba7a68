"""Engineers' commands and customers' replies: thanks, ratings, escalation, quoted history."""

from __future__ import annotations

import pytest

from mailbot.outbound.labels import command_error_text
from mailbot.policy.commands import Command, parse_engineer_message
from mailbot.policy.conversation import asks_for_escalation, is_short_thanks, own_words, parse_survey_answer

ASPECTS = ("response_time", "solution_quality", "communication", "overall")

ENGINEERS = {"maria": "maria@vendor.test", "maría ruiz": "maria@vendor.test", "maria@vendor.test": "maria@vendor.test"}
SEVERITY = ("P1", "P2", "P3", "P4")


def test_commands_at_the_top_are_parsed_and_stripped() -> None:
    parsed = parse_engineer_message("#priority p2\n#Assign maria\n\nHola Ana, ya está resuelto.\n#not a command", SEVERITY, ENGINEERS)
    assert parsed.commands == (Command("priority", "P2"), Command("assign", "maria@vendor.test"))
    assert parsed.errors == ()
    assert parsed.body == "Hola Ana, ya está resuelto.\n#not a command"


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("#close", Command("close", "solved")),
        ("#close inactive", Command("close", "inactive")),
        ("#CLOSE duplicate LC-2026-00007", Command("close", "duplicate", detail="LC-2026-00007")),
        ("#close duplicate [LC-2026-00007]", Command("close", "duplicate", detail="LC-2026-00007")),
        ("#type request", Command("type", "request")),
        ("#internal", Command("internal")),
        ("#waiting", Command("waiting")),
        ("#reopen", Command("reopen")),
        ("#escalate", Command("escalate")),
        ("#time 1.5h", Command("time", "1.5h", hours=1.5)),
        ("#time 90m", Command("time", "90m", hours=1.5)),
        ("#time 1,5h", Command("time", "1,5h", hours=1.5)),
    ],
)
def test_each_command(line: str, command: Command) -> None:
    assert parse_engineer_message(line + "\nbody", SEVERITY, ENGINEERS).commands == (command,)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("#frobnicate", "unknown command"),
        ("#priority A1", "not in this plan's scheme"),
        ("#priority urgent", "needs a priority"),
        ("#assign pedro", "no engineer 'pedro'"),
        ("#close maybe", "reason must be one of"),
        ("#close duplicate", "needs the other case's number"),
        ("#time soon", "needs hours"),
        ("#internal please", "takes no argument"),
    ],
)
def test_invalid_commands_are_reported(line: str, error: str) -> None:
    parsed = parse_engineer_message(line + "\nbody", SEVERITY, ENGINEERS)
    assert parsed.commands == () and len(parsed.errors) == 1
    assert parsed.errors[0].line == line and error in command_error_text(parsed.errors[0], "en")


def test_quoted_history_and_signature_are_trimmed() -> None:
    text = ("Ya está corregido.\n\n--\nMaría Ruiz\nSoporte N2\n\n"
            "El lun, 23 nov 2026 a las 10:00, Ana <ana@acme.test> escribió:\n> No arranca\n")
    assert own_words(text) == "Ya está corregido."
    outlook = "Done, thanks.\n\n-----Original Message-----\nFrom: Ana\nSent: Monday\n\nold text"
    assert own_words(outlook) == "Done, thanks."


@pytest.mark.parametrize("text", ["Gracias!", "Muchas gracias, ya funciona.", "Thanks a lot", "ok, gracias",
                                  "Hola,\n\nGracias por todo.\n\nAna", "Perfecto, muchas gracias!!",
                                  "Thank you!\n\nOn Mon, Nov 23, 2026 Support wrote:\n> closed"])
def test_short_thanks(text: str) -> None:
    assert is_short_thanks(text)


@pytest.mark.parametrize("text", ["Gracias, pero sigue sin funcionar.", "Thanks. Now the export fails again with error 5.",
                                  "El problema ha vuelto a aparecer.", ""])
def test_not_just_thanks(text: str) -> None:
    assert not is_short_thanks(text)


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("4 muy bien", (4, "muy bien")),
        ("5 - excelente", (5, "excelente")),
        ("5", (5, "")),
        ("3/5, tardaron un poco", (3, "tardaron un poco")),
        ("4, muy bien", (4, "muy bien")),
        ("Rating: 2 slow answer", (2, "slow answer")),
        ("1\n\nNo resolvieron nada.\n\nEl lun, Soporte escribió:\n> Califique de 1 a 5", (1, "No resolvieron nada.")),
    ],
)
def test_rating(text: str, rating: tuple[int, str]) -> None:
    answer = parse_survey_answer(text, ASPECTS)
    assert answer is not None and answer.is_complete and (answer.overall, answer.comment) == rating


@pytest.mark.parametrize("text", ["Gracias", "4.5", "2026 fue un buen año", "> 5\nold"])
def test_not_a_rating(text: str) -> None:
    assert parse_survey_answer(text, ASPECTS) is None


def test_escalation_request() -> None:
    assert asks_for_escalation("Llevamos dos días sin respuesta, por favor escalar el caso.")
    assert asks_for_escalation("Please escalate this.")
    assert not asks_for_escalation("Gracias.\n\nEl lun, Soporte escribió:\n> si no, puede escalar")


@pytest.mark.parametrize("text", ["1 problema más: sigue fallando el backup", "3 servidores siguen caídos"])
def test_reports_starting_with_a_number_are_not_ratings(text: str) -> None:
    assert parse_survey_answer(text, ASPECTS) is None


@pytest.mark.parametrize("text", ["Gracias\nsigue sin funcionar", "Thanks\nstill broken", "Gracias.\nNo funciona."])
def test_thanks_followed_by_a_complaint_is_not_thanks(text: str) -> None:
    assert not is_short_thanks(text)


def test_engineer_text_with_dashes_and_prompts_is_kept() -> None:
    text = "Ana, ejecuta:\n  --repair --all\n> Restart-Service vpn\ny reinicia.\n\n-- \nMaría"
    assert own_words(text) == "Ana, ejecuta:\n  --repair --all\n> Restart-Service vpn\ny reinicia."


@pytest.mark.parametrize("text", ["Tenemos un problema de privilege escalation.", "El escalado automático no funciona.",
                                  "No hace falta escalar, gracias."])
def test_not_an_escalation_request(text: str) -> None:
    assert not asks_for_escalation(text)
