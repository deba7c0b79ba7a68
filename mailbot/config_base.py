"""Shared pieces of the configuration model: strict sections, languages, time zones, the error listing problems."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

Language = Literal["es", "en"]
LANGUAGES: tuple[Language, ...] = ("es", "en")
# Text an operator writes and customers or managers read: one string said in every language, or one per
# language (`{ es = "...", en = "..." }`), English standing in for a language left out.
LocalizedText = str | dict[Language, str]


def in_language(text: LocalizedText | None, language: str) -> str | None:
    if text is None or isinstance(text, str):
        return text
    return text.get(language) or text.get("en") or next(iter(text.values()), None)  # type: ignore[call-overload]


def is_single_language(text: LocalizedText | None) -> bool:
    """True for text written once for everybody, so a Spanish reader gets whatever language it was written in."""
    return isinstance(text, str) or (isinstance(text, dict) and not all(text.get(language) for language in LANGUAGES))


class ConfigError(Exception):
    """Configuration is unusable; `problems` lists every problem as 'file: key: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Madrid)") from error
    return value
