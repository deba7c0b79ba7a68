"""Values from mail fit their columns: long text is cut to the column's length, NUL replaced, never refused.

Any valid mail must be storable on both databases: SQLite ignores VARCHAR lengths, PostgreSQL refuses a longer
value (and any NUL in text) and would fail the whole message. The full value stays in the raw message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import String, inspect
from sqlalchemy.orm import Mapper, Session

ELLIPSIS = "…"


def fit_to_columns(session: Session, _flush_context: Any, _instances: Any) -> None:
    """A before_flush hook: every new or changed row's strings cut to their column's length, NUL replaced."""
    for row in [*session.new, *session.dirty]:
        for key, length in text_columns(inspect(row).mapper):
            value = getattr(row, key, None)
            if isinstance(value, str):
                fitted = fitted_text(value, length)
                if fitted != value:
                    setattr(row, key, fitted)


@lru_cache(maxsize=None)  # one entry per mapped class: the schema does not change while the process runs
def text_columns(mapper: Mapper[Any]) -> tuple[tuple[str, int | None], ...]:
    """A mapped class's string attributes and their column lengths."""
    return tuple((mapper.get_property_by_column(column).key, column.type.length)
                 for column in mapper.columns if isinstance(column.type, String))


def fitted_text(value: str, length: int | None) -> str:
    value = value.replace("\x00", "\ufffd")
    if length is not None and len(value) > length:
        return value[: length - 1] + ELLIPSIS
    return value
