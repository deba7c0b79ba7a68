"""Terminal output for people: tables, a case's story, a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

PLAIN_STEPS = 10  # lines a progress report prints when it cannot redraw a bar


def render_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns; a cell with line breaks (a wrapped reason) takes as many lines as it needs."""
    if not rows:
        return "(none)"
    headers = [column.upper().replace("_", " ") for column in columns]
    widths = [max(len(headers[i]), *(len(line) for row in rows for line in row[i].split("\n")))
              for i in range(len(columns))]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths)).rstrip()]
    for row in rows:
        cells = [cell.split("\n") for cell in row]
        for index in range(max(len(cell) for cell in cells)):
            lines.append("  ".join((cell[index] if index < len(cell) else "").ljust(width)
                                   for cell, width in zip(cells, widths)).rstrip())
    return "\n".join(lines)


def short(value: Any, column: str) -> str:
    text = "" if value is None else str(value)
    if column == "opened_at":
        return text[:16].replace("T", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def describe_case(case: dict[str, Any]) -> str:
    lines = [
        f"{case['number']}  {case['subject']}",
        f"  status   {case['status']}",
        f"  account  {case['account_name']} ({case['account']}), plan {case['plan']}",
        f"  contact  {case['contact'] or '-'}",
        f"  type     {case['ticket_type'] or '-'}, priority {case['priority'] or '-'}",
        f"  opened   {case['opened_at']}",
        f"  due      first response {case['first_response_due'] or '-'}, resolution {case['resolution_due'] or '-'}",
        "",
    ]
    if case.get("rma_started_at"):
        lines.insert(-1, f"  rma      started {case['rma_started_at']}, replacement due {case.get('replacement_due') or '-'},"
                         f" warranty {case.get('warranty_option') or '-'} until {case.get('warranty_ends_on') or '-'}")
    if case.get("assigned_to") or case.get("survey_rating"):
        lines.insert(-1, f"  assigned {case.get('assigned_to') or '-'}, rating {case.get('survey_rating') or '-'}"
                         f" {case.get('survey_comment') or ''}".rstrip())
    if case.get("survey_ratings"):
        lines.insert(-1, "  survey   " + ", ".join(f"{aspect} {rating}" for aspect, rating in case["survey_ratings"].items()))
    for message in case["messages"]:
        arrow = "<-" if message["direction"] == "in" else "->"
        lines.append(f"{arrow} {message['at'][:19]}  {message['from']} -> {message['to']}")
        lines.append(f"   {message['subject']}")
        delivery = message.get("delivery")
        if delivery:
            state = delivery["status"]
            if state == "pending":
                state += f", attempt {delivery['attempts']}, next at {delivery['next_attempt_at']}"
            if delivery["last_error"]:
                state += f", last error: {delivery['last_error']}"
            lines.append(f"   delivery: {state}")
        for attachment in message["attachments"]:
            lines.append(f"   attachment: {attachment['filename']} ({attachment['content_type']}, {attachment['size']} bytes)")
        lines.append("")
    if case.get("prepaid_hours"):
        lines.append("prepaid hours:")
        lines += [f"  {entry['at'][:19]}  {entry['hours']:g} h  {entry['engineer']}  contract {entry['contract']}"
                  f"{'  overdraft' if entry['overdraft'] else ''}" for entry in case["prepaid_hours"]]
        lines.append("")
    if case.get("events"):
        lines.append("events:")
        lines += [f"  {event['at'][:19]}  {event['actor']}  {event['kind']} {event['detail']}".rstrip() for event in case["events"]]
    return "\n".join(lines)


def progress_bar(done: int, total: int) -> None:
    """A bar redrawn in place on a terminal; elsewhere (a log, a pipe, cron) a plain line at every tenth and at the end,
    since carriage returns make a log unreadable."""
    if sys.stderr.isatty():
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
    elif done == total or done * PLAIN_STEPS // max(total, 1) != (done - 1) * PLAIN_STEPS // max(total, 1):
        sys.stderr.write(f"progress: {done}/{total} ({100 * done // max(total, 1)}%)\n")
    sys.stderr.flush()
