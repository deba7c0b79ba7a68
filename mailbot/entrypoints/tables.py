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


BOT_TEXT_LINES = 4  # lines of each bot message shown by `cases show`


def describe_case(case: dict[str, Any]) -> str:
    """A case as an operator reads it: header, SLA clocks, the conversation, then the ledger and the events.

    Times are the account's (what the customer was told); `--json` has them in UTC too.
    """
    lines = [
        f"{case['number']}  {case['subject']}",
        f"  status   {case['status']}" + (f" ({case['close_reason']}, {case['closed_at_local']})"
                                           if case.get("closed_at_local") else ""),
        f"  account  {case['account_name']} ({case['account']}), plan {case['plan']}",
        f"  contact  {case['contact'] or '-'}",
        f"  type     {case['ticket_type'] or '-'}, priority {case['priority'] or '-'}",
        f"  opened   {case['opened_at_local']}  (times in {case['timezone']})",
        f"  assigned {case.get('assigned_to') or '-'}",
    ]
    if case.get("rma_started_at"):
        lines.append(f"  warranty {case.get('warranty_option') or '-'} until {case.get('warranty_ends_on') or '-'}; RMA started"
                     f" {case['rma_started_at_local']}, replacement due {case.get('replacement_due_local') or '-'}")
    if case.get("survey_rating") or case.get("survey_ratings"):
        ratings = ", ".join(f"{aspect} {rating}" for aspect, rating in case.get("survey_ratings", {}).items())
        comment = f" \"{case['survey_comment']}\"" if case.get("survey_comment") else ""
        lines.append(f"  rating   {case.get('survey_rating') or '-'}{comment}" + (f"  ({ratings})" if ratings else ""))
    lines.append("")
    lines += describe_clocks(case["clocks"])
    lines.append("")
    lines.append(f"conversation ({len(case['messages'])} messages):")
    for message in case["messages"]:
        lines += describe_message(message)
    if case.get("prepaid_hours"):
        lines.append("prepaid hours:")
        lines += [f"  {entry['at_local']}  {entry['hours']:g} h  {entry['engineer']}  contract {entry['contract']}"
                  f"{'  overdraft' if entry['overdraft'] else ''}" for entry in case["prepaid_hours"]]
        lines.append("")
    if case.get("events"):
        lines.append("events:")
        lines += [f"  {event['at_local']}  {event['actor']}  {event['kind']} {event['detail']}".rstrip()
                  for event in case["events"]]
    return "\n".join(lines).rstrip()


def describe_clocks(clocks: list[dict[str, Any]]) -> list[str]:
    """One line per clock; the calendar in the heading when they share one (the usual case), else on each line."""
    if not clocks:
        return ["SLA clocks: none (no target for this plan and priority)"]
    calendars = {clock["calendar"] for clock in clocks}
    if len(calendars) == 1:
        return [f"SLA clocks (business time, calendar {calendars.pop()}):",
                *(f"  {clock['clock']:<12}{describe_clock(clock)}" for clock in clocks)]
    return ["SLA clocks (business time):",
            *(f"  {clock['clock']:<12}{describe_clock(clock)}, calendar {clock['calendar']}" for clock in clocks)]


def describe_clock(clock: dict[str, Any]) -> str:
    due = f"due {clock['due_local']}"
    state = clock["state"]
    if state == "met":
        return f"met       in {clock['business_taken']} ({due})"
    if state == "missed":
        return f"missed    by {clock['business_late']}, took {clock['business_taken']} ({due})"
    if state == "overdue":
        return f"OVERDUE   by {clock['business_late']} ({due})"
    if state == "paused":
        return f"paused    {clock['business_left']} left, waiting on the customer ({due} if it resumed now)"
    return f"running   {clock['business_left']} left ({due})"


def describe_message(message: dict[str, Any]) -> list[str]:
    arrow = "<-" if message["direction"] == "in" else "->"
    lines = [f"{arrow} {message['at_local']}  {message['author']}, {message['visibility']}",
             f"   from {message['from']}  to {message['to']}",
             f"   subject: {message['subject']}"]
    delivery = message.get("delivery")
    if delivery:
        state = delivery["status"]
        if state == "pending":
            state += f", attempt {delivery['attempts']}, next at {delivery['next_attempt_at'][:19].replace('T', ' ')} UTC"
        if delivery["last_error"]:
            state += f", last error: {delivery['last_error']}"
        lines.append(f"   delivery: {state}")
    words = message["own_words"].splitlines() or ["(no text)"]
    if message["author"] == "bot" and len(words) > BOT_TEXT_LINES + 2:  # cutting one or two lines saves nothing
        # The bot's mail is the operator's own templates: its opening says which; the rest would drown the people.
        words = words[:BOT_TEXT_LINES] + [f"... ({len(words) - BOT_TEXT_LINES} more lines, the whole text in --json)"]
    lines += ["   | " + line if line else "   |" for line in words]
    for attachment in message["attachments"]:
        lines.append(f"   attachment: {attachment['filename']} ({attachment['content_type']}, {human_size(attachment['size'])})"
                     + ("" if attachment["stored"] else ", content not kept"))
    lines.append("")
    return lines


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


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
