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
class EngineerMessage:
    commands: tuple[Command, ...]
    errors: tuple[str, ...]
    body: str  # what remains for the customer, commands removed

    @property
    def internal(self) -> bool:
        return any(command.name == "internal" for command in self.commands)

    def has(self, name: str) -> bool:
        return any(command.name == name for command in self.commands)


def parse_engineer_message(text: str, priorities: tuple[str, ...], engineers: dict[str, str]) -> EngineerMessage:
    """Commands are the '#…' lines at the top (blank lines between them allowed); the rest is the message.

    `engineers` maps lower-case names, first names and addresses to addresses, for #assign.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    commands: list[Command] = []
    errors: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        match = COMMAND_LINE.match(line)
        if match is None:
            break
        command, error = parse_command(match.group(1).lower(), match.group(2), priorities, engineers)
        if error:
            errors.append(f"{line.strip()}: {error}")
        elif command:
            commands.append(command)
        index += 1
    body = "\n".join(lines[index:]).strip("\n")
    return EngineerMessage(tuple(commands), tuple(errors), body)


def parse_command(  # noqa: PLR0911 - one branch per command reads best
    name: str, argument: str, priorities: tuple[str, ...], engineers: dict[str, str]
) -> tuple[Command | None, str | None]:
    argument = argument.strip()
    if name not in KNOWN:
        return None, f"unknown command (known: {', '.join('#' + known for known in KNOWN)})"
    if name == "priority":
        level = argument.upper()
        all_levels = {level for scheme in PRIORITY_SCHEMES.values() for level in scheme}
        if level not in all_levels:
            return None, f"needs a priority: {', '.join(priorities)}"
        if level not in priorities:
            return None, f"{level} is not in this plan's scheme ({', '.join(priorities)})"
        return Command("priority", level), None
    if name == "type":
        ticket_type = argument.lower()
        if ticket_type not in TICKET_TYPES:
            return None, f"needs a type: {', '.join(TICKET_TYPES)}"
        return Command("type", ticket_type), None
    if name == "assign":
        address = engineers.get(argument.lower())
        if address is None:
            return None, f"no engineer {argument!r} (use a configured engineer's name or address)"
        return Command("assign", address), None
    if name == "close":
        return parse_close(argument)
    if name == "time":
        try:
            hours = parse_duration(argument.replace(",", ".")) / timedelta(hours=1)
        except ValueError:
            return None, "needs hours such as 1.5h or 90m"
        if hours <= 0:
            return None, "needs a positive time"
        return Command("time", argument, hours=hours), None
    if argument:
        return None, "takes no argument"
    return Command(name), None


def parse_close(argument: str) -> tuple[Command | None, str | None]:
    parts = argument.split()
    reason = parts[0].lower() if parts else "solved"
    if reason not in CLOSE_REASONS:
        return None, f"reason must be one of {', '.join(CLOSE_REASONS)}"
    if reason == "duplicate":
        match = CASE_NUMBER.match(parts[1]) if len(parts) > 1 else None
        if match is None:
            return None, "#close duplicate needs the other case's number"
        return Command("close", reason, detail=match.group(1).upper()), None
    if len(parts) > 1:
        return None, "unexpected text after the reason"
    return Command("close", reason), None
