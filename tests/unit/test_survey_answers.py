"""Closure survey answers by aspect: the shapes customers write, partial and out-of-range answers, quoted history."""

from __future__ import annotations

import pytest

from mailbot.policy.conversation import SurveyAnswer, parse_survey_answer

ASPECTS = ("response_time", "solution_quality", "communication", "overall")


def all_four(first: int, second: int, third: int, overall: int) -> tuple[tuple[str, int], ...]:
    return tuple(zip(ASPECTS, (first, second, third, overall)))


@pytest.mark.parametrize(
    ("text", "ratings", "comment"),
    [
        ("5 4 5 5", all_four(5, 4, 5, 5), ""),
        ("5,4,5,5", all_four(5, 4, 5, 5), ""),
        ("5, 4, 5, 5", all_four(5, 4, 5, 5), ""),
        ("5/4/5/5", all_four(5, 4, 5, 5), ""),
        ("5;4;3;5", all_four(5, 4, 3, 5), ""),
        ("5 4 3 5 muy buen servicio", all_four(5, 4, 3, 5), "muy buen servicio"),
        ("5 4 3 5 - the engineer explained everything", all_four(5, 4, 3, 5), "the engineer explained everything"),
        ("Mi valoración es 4 4 5 4\nEl ingeniero fue muy amable.", all_four(4, 4, 5, 4), "El ingeniero fue muy amable."),
        ("Ratings: 3 3 4 3\nA bit slow at first.", all_four(3, 3, 4, 3), "A bit slow at first."),
    ],
)
def test_one_rating_per_aspect(text: str, ratings: tuple[tuple[str, int], ...], comment: str) -> None:
    answer = parse_survey_answer(text, ASPECTS)
    assert answer == SurveyAnswer(ratings, comment=comment)
    assert answer.is_complete and answer.overall == ratings[-1][1]


@pytest.mark.parametrize(
    ("text", "overall", "comment"),
    [("4", 4, ""), ("4 muy bien", 4, "muy bien"), ("5 - great job", 5, "great job"), ("3/5, tardaron un poco", 3, "tardaron un poco")],
)
def test_one_number_is_the_overall_rating(text: str, overall: int, comment: str) -> None:
    answer = parse_survey_answer(text, ASPECTS)
    assert answer == SurveyAnswer((("overall", overall),), comment=comment)
    assert answer.is_complete


def test_quoted_history_below_the_answer_is_ignored() -> None:
    spanish = "5 4 3 5\nTodo bien.\n\nEl lun, 30 nov 2026, Soporte escribió:\n> Responda con 1 2 3 4\n> 1. Tiempo de respuesta"
    english = "2 3 2 2\n\nOn Mon, 30 Nov 2026, Support wrote:\n> for example: 5 4 5 4"
    assert parse_survey_answer(spanish, ASPECTS) == SurveyAnswer(all_four(5, 4, 3, 5), comment="Todo bien.")
    assert parse_survey_answer(english, ASPECTS) == SurveyAnswer(all_four(2, 3, 2, 2))


def test_a_partial_answer_names_what_was_understood_and_what_is_missing() -> None:
    answer = parse_survey_answer("5 4", ASPECTS)
    assert answer == SurveyAnswer((("response_time", 5), ("solution_quality", 4)), missing=("communication", "overall"))
    assert not answer.is_complete and answer.overall is None


@pytest.mark.parametrize(
    ("text", "ratings", "missing", "out_of_range"),
    [
        ("5 6 4 5", (("response_time", 5), ("communication", 4), ("overall", 5)), ("solution_quality",), (6,)),
        ("0 4 4 4", (("solution_quality", 4), ("communication", 4), ("overall", 4)), ("response_time",), (0,)),
        ("10 5 5 5", (("solution_quality", 5), ("communication", 5), ("overall", 5)), ("response_time",), (10,)),
        ("6", (), ("overall",), (6,)),
        ("0", (), ("overall",), (0,)),
        ("6 estrellas", (), ("overall",), (6,)),
        ("10/10", (), ASPECTS, (10, 10)),
    ],
)
def test_out_of_range_numbers_leave_their_aspect_missing(text: str, ratings: tuple[tuple[str, int], ...],
                                                        missing: tuple[str, ...], out_of_range: tuple[int, ...]) -> None:
    answer = parse_survey_answer(text, ASPECTS)
    assert answer is not None and not answer.is_complete
    assert (answer.ratings, answer.missing, answer.out_of_range) == (ratings, missing, out_of_range)


def test_numbers_beyond_the_last_aspect_are_surplus() -> None:
    answer = parse_survey_answer("5 4 5 5 3", ASPECTS)
    assert answer is not None and answer.ratings == all_four(5, 4, 5, 5) and answer.surplus == (3,)
    assert not answer.is_complete


def test_the_configured_aspects_decide_how_many_numbers_complete_an_answer() -> None:
    answer = parse_survey_answer("4 5", ("solution_quality", "overall"))
    assert answer == SurveyAnswer((("solution_quality", 4), ("overall", 5)))


@pytest.mark.parametrize("text", ["Gracias", "4.5", "2026 fue un buen año", "3 servidores siguen caídos",
                                  "> 5 4 5 5\n> quoted", "The 4 servers are fine"])
def test_not_a_survey_answer(text: str) -> None:
    assert parse_survey_answer(text, ASPECTS) is None
