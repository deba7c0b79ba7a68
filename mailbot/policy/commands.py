"""Commands an engineer writes at the top of a reply (#priority P1, #close solved, ...): parsed, never executed here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from mailbot.config import PRIORITY_SCHEMES, TICKET_TYPES, parse_duration

CLOSE_REASONS = ("solved", "inactive", "no-contract", "unsupported", "duplicate")
COMMAND_LINE = re.compile(r"^\s*#([a-z]+)\b\s*(.*?)\s*$", re.IGNORECASE)
CASE_NUMBER = re.compile(r"^\[?([A-Z][A-Z0-9]*-[0-9A-Z-]+)\]?$", re.IGNORECASE)
KNOWN = ("priority", "type", "assign", "internal", "waiting", "close", "reopen", "time", "escalate")


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # one of KNOWN
    argument: str = ""  # normalised: P1, request, an engineer's email, a close reason, hours as text
    detail: str = ""  # e.g. the duplicate's case number
    hours: float = 0.0


@dataclass(frozen=True, slots=True)
class CommandError:
    """A command line that was not understood: a message key of the catalogue and its values, never English text,
    so the reply can say it in the engineer's language (mailbot.outbound.labels.command_error_text)."""

    line: str  # the command line as the engineer wrote it, quoted back verbatim
    key: str  # e.g. "needs_priority"; the catalogues have one message per key
    params: tuple[tuple[str, str], ...] = ()  # values for the message's {placeholders}: syntax, codes, names


Problem = tuple[str, dict[str, str]]  # a message key and its parameters, before the line is known


@dataclass(frozen=True, slots=True)
class EngineerMessage:
    commands: tuple[Command, ...]
    errors: tuple[CommandError, ...]
    body: str  # what remains for the customer, commands removed

    @property
    def internal(self) -> bool:
        return any(command.name == "internal" for command in self.commands)

    def has(self, name: str) -> bool:
        return any(command.name == name for command in self.commands)


def parse_engineer_message(text: str, priorities: tuple[str, ...], engineers: dict[str, str],
                           ticket_types: tuple[str, ...] = TICKET_TYPES) -> EngineerMessage:
    """Commands are the '#…' lines at the top (blank lines between them allowed); the rest is the message.

    `priorities` and `ticket_types` are the case's plan's: other values are refused to the engineer.
    `engineers` maps lower-case names, first names and addresses to addresses, for #assign.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    commands: list[Command] = []
    errors: list[CommandError] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        match = COMMAND_LINE.match(line)
        if match is None:
            break
        command, error = parse_command(match.group(1).lower(), match.group(2), Allowed(priorities, ticket_types), engineers)
        if error:
            key, params = error
            errors.append(CommandError(line.strip(), key, tuple(params.items())))
        elif command:
            commands.append(command)
        index += 1
    body = "\n".join(lines[index:]).strip("\n")
    return EngineerMessage(tuple(commands), tuple(errors), body)


@dataclass(frozen=True, slots=True)
class Allowed:
    """What the case's plan allows #priority and #type to set."""

    priorities: tuple[str, ...]
    ticket_types: tuple[str, ...] = TICKET_TYPES


def parse_command(  # noqa: PLR0911 - one branch per command reads best
    name: str, argument: str, allowed: Allowed, engineers: dict[str, str]
) -> tuple[Command | None, Problem | None]:
    argument = argument.strip()
    if name not in KNOWN:
        return None, ("unknown_command", {"known": ", ".join("#" + known for known in KNOWN)})
    if name == "priority":
        return parse_priority(argument, allowed.priorities)
    if name == "type":
        return parse_type(argument, allowed.ticket_types)
    if name == "assign":
        address = engineers.get(argument.lower())
        if address is None:
            return None, ("no_such_engineer", {"name": repr(argument)})
        return Command("assign", address), None
    if name == "close":
        return parse_close(argument)
    if name == "time":
        return parse_time(argument)
    if argument:
        return None, ("takes_no_argument", {})
    return Command(name), None


def parse_priority(argument: str, priorities: tuple[str, ...]) -> tuple[Command | None, Problem | None]:
    level = argument.upper()
    all_levels = {level for scheme in PRIORITY_SCHEMES.values() for level in scheme}
    if level not in all_levels:
        return None, ("needs_priority", {"choices": ", ".join(priorities)})
    if level not in priorities:
        return None, ("priority_not_in_plan", {"level": level, "choices": ", ".join(priorities)})
    return Command("priority", level), None


def parse_type(argument: str, ticket_types: tuple[str, ...]) -> tuple[Command | None, Problem | None]:
    ticket_type = argument.lower()
    if ticket_type not in TICKET_TYPES:
        return None, ("needs_type", {"choices": syntax("type", TICKET_TYPES)})
    if ticket_type not in ticket_types:
        # The value is not quoted back: the engineer's line already shows it, and type names are English syntax.
        return None, ("type_not_in_plan", {"choices": syntax("type", ticket_types)})
    return Command("type", ticket_type), None


def parse_time(argument: str) -> tuple[Command | None, Problem | None]:
    """'#time 1.5h', '#time 1h30m overdraft' (the word allows a debit past the prepaid balance, recorded as such)."""
    amount, _, rest = argument.partition(" ")
    overdraft = rest.strip().lower() == "overdraft"
    if rest.strip() and not overdraft:
        amount = argument  # not our word: let the duration parser say what it expects
    try:
        hours = parse_duration(amount.replace(",", ".")) / timedelta(hours=1)
    except ValueError:
        return None, ("needs_hours", {})
    if hours <= 0:
        return None, ("needs_positive_time", {})
    return Command("time", amount, detail="overdraft" if overdraft else "", hours=hours), None


def parse_close(argument: str) -> tuple[Command | None, Problem | None]:
    parts = argument.split()
    reason = parts[0].lower() if parts else "solved"
    if reason not in CLOSE_REASONS:
        return None, ("needs_close_reason", {"choices": syntax("close", CLOSE_REASONS)})
    if reason == "duplicate":
        match = CASE_NUMBER.match(parts[1]) if len(parts) > 1 else None
        if match is None:
            return None, ("needs_duplicate_number", {})
        return Command("close", reason, detail=match.group(1).upper()), None
    if len(parts) > 1:
        return None, ("text_after_reason", {})
    return Command("close", reason), None


def syntax(name: str, arguments: tuple[str, ...]) -> str:
    """Arguments as the engineer must type them (#type problem|question|...): syntax, so never translated."""
    return f"#{name} {'|'.join(arguments)}"
