"""Shared pieces of the configuration model: strict sections, languages, time zones, the error listing problems."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

Language = Literal["es", "en"]


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
