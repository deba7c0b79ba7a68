"""Case numbers: how they look, which counter they draw from, and how to find one in a subject."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaseNumbering:
    """The configured format, e.g. "{prefix}-{year}-{seq:05d}" with prefix "LC"."""

    number_format: str
    prefix: str

    def format(self, year: int, seq: int) -> str:
        return self.number_format.format(prefix=self.prefix, year=year, seq=seq)

    def counter_scope(self, year: int) -> str:
        """Numbers restart each year only when the year is part of the number."""
        return f"{self.prefix}:{year}" if self.uses_year else f"{self.prefix}:all"

    @property
    def uses_year(self) -> bool:
        return "year" in self._field_names()

    def tag(self, number: str) -> str:
        return f"[{number}]"

    def tag_pattern(self) -> re.Pattern[str]:
        """Matches "[LC-2026-00042]" anywhere in a subject, whatever reply prefixes surround it."""
        parts: list[str] = []
        for literal, name, _spec, _conv in string.Formatter().parse(self.number_format):
            parts.append(re.escape(literal))
            if name == "prefix":
                parts.append(re.escape(self.prefix))
            elif name == "year":
                parts.append(r"\d{4}")
            elif name == "seq":
                parts.append(r"\d+")
        return re.compile(r"\[\s*(" + "".join(parts) + r")\s*\]", re.IGNORECASE)

    def find_in_subject(self, subject: str) -> str | None:
        match = self.tag_pattern().search(subject)
        return match.group(1).upper() if match else None

    def _field_names(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.number_format) if name}
