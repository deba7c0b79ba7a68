"""Where in a directory file a record or a field is: `file:line` for the messages an operator reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

# A place in the parsed data, as pydantic reports it: ("accounts", 2, "contacts", 0, "email").
DataPath = tuple[str | int, ...]
LineFinder = Callable[[DataPath], int | None]
TOML_ACCOUNT_HEADER = re.compile(r"^\s*\[\[\s*accounts\s*\]\]")
TOMLLIB_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def syntax_problem(path: Path, text: str, message: str, line: int, column: int) -> str:
    """`directory.toml:7:49: Unclosed inline table`, then the offending line with a caret under the column."""
    lines = text.splitlines()
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    caret = " " * max(column - 1, 0) + "^"
    return f"{path}:{line}:{column}: {message}\n      {shown}\n      {caret}"


def toml_syntax_problem(path: Path, text: str, error: Exception) -> str:
    """tomllib puts the place at the end of its message: "Unclosed inline table (at line 7, column 49)"."""
    message = str(error)
    position = TOMLLIB_POSITION.search(message)
    if position is None:
        return f"{path}: not valid TOML: {message}"
    return syntax_problem(path, text, message[: position.start()], int(position.group(1)), int(position.group(2)))


def yaml_syntax_problem(path: Path, text: str, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"{path}: not valid YAML: {problem}"
    return syntax_problem(path, text, f"not valid YAML: {problem}", mark.line + 1, mark.column + 1)


def toml_lines(text: str) -> LineFinder:
    """Accounts by their `[[accounts]]` header; a field by its `name =` inside that account's block.

    TOML's parser keeps no positions, so the field is found by its key: the n-th `email =` of the block for
    contacts[n].email. When the text does not look like that (an inline `accounts = [...]`), only what can be
    found is given, and the message goes without a line.
    """
    lines = text.splitlines()
    headers = [number for number, line in enumerate(lines, 1) if TOML_ACCOUNT_HEADER.match(line)]

    def find(place: DataPath) -> int | None:
        if len(place) < 2 or place[0] != "accounts" or not isinstance(place[1], int) or place[1] >= len(headers):
            return None
        start = headers[place[1]]
        end = headers[place[1] + 1] if place[1] + 1 < len(headers) else len(lines) + 1
        field = next((part for part in reversed(place[2:]) if isinstance(part, str)), None)
        index = next((part for part in place[3:] if isinstance(part, int)), 0)
        if field is None:
            return start
        key = re.compile(rf"(?<![\w-]){re.escape(field)}\s*=")
        found = [number for number in range(start, end) if key.search(lines[number - 1])]
        return found[min(index, len(found) - 1)] if found else start

    return find


def yaml_lines(text: str) -> LineFinder:
    """YAML keeps every node's position: follow the data path down the node tree as far as it goes."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lambda place: None

    def find(place: DataPath) -> int | None:
        node, line = root, None
        for part in place:
            node = _child(node, part)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    return find


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        return next((value for key, value in node.value if key.value == part), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def csv_lines(rows: Mapping[DataPath, int]) -> LineFinder:
    """CSV rows as the reader counted them: the longest known prefix of the place (the contact's row, else the
    account's first row)."""

    def find(place: DataPath) -> int | None:
        for length in range(len(place), 0, -1):
            if place[:length] in rows:
                return rows[place[:length]]
        return None

    return find


def at_line(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line else source


def account_lines(find: LineFinder, count: int) -> Sequence[int | None]:
    return [find(("accounts", index)) for index in range(count)]
