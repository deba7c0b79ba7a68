"""What survey mails say: the aspects asked, in the reader's language, and what an answer was understood as."""

from __future__ import annotations

from typing import Any

from mailbot.config_base import in_language
from mailbot.policy.conversation import HIGHEST_RATING, SurveyAnswer
from mailbot.support_settings import SurveyAspect


def survey_context(aspects: tuple[SurveyAspect, ...], language: str, answer: SurveyAnswer | None = None) -> dict[str, Any]:
    """Every key is always there, so the closure notice, the correction and the thanks render from the same names."""
    label = {aspect.key: in_language(aspect.label, language) or aspect.key for aspect in aspects}
    return {
        "survey_aspects": list(label.values()),
        "survey_example": " ".join(str(max(HIGHEST_RATING - index % 2, 1)) for index in range(len(aspects))),
        "survey_understood": [{"label": label.get(key, key), "rating": rating} for key, rating in answer.ratings]
        if answer else [],
        "survey_missing": [label.get(key, key) for key in answer.missing] if answer else [],
        "survey_out_of_range": list(answer.out_of_range) if answer else [],
        "survey_surplus": list(answer.surplus) if answer else [],
        "survey_comment": answer.comment if answer else "",
    }
