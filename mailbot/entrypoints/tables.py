"""Plain-text tables for people at a terminal."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return "(none)"
    headers = [column.upper().replace("_", " ") for column in columns]
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(columns))]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths)).rstrip()]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)
