"""Every problem of a configuration file in one run: keys, cross-checks, secrets, folders and templates together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mailbot.config import ConfigError, Settings, anchor_paths, read_config_data, runtime_problems, settings_from_data
from mailbot.outbound.samples import template_problems

# The sections the environment checks look at; the others (plans, engineers...) are checked by validation alone.
ENVIRONMENT_SECTIONS = ("source", "delivery", "database", "templates")
# Stand-ins for required sections that are missing or wrong, chosen so that no environment check fires on them.
INERT_SECTIONS: dict[str, dict[str, Any]] = {
    "support": {"address": "support@example.invalid"},
    "source": {"kind": "maildir", "path": "."},
    "delivery": {"kind": "maildir", "path": "."},
    "database": {},
    "templates": {},
}


@dataclass(frozen=True)
class ConfigAudit:
    settings: Settings | None  # None while the file does not validate
    problems: tuple[str, ...]


def audit_config(path: Path) -> ConfigAudit:
    """Validate the file and check its secrets, folders and templates, listing every problem found."""
    try:
        data = read_config_data(path)
    except ConfigError as error:
        return ConfigAudit(None, tuple(error.problems))  # unreadable, not TOML or a missing preset: nothing to go on
    settings: Settings | None = None
    problems: list[str] = []
    try:
        settings = settings_from_data(data, path)
    except ConfigError as error:
        problems += error.problems
    problems += environment_problems(data, path)
    return ConfigAudit(settings, tuple(problems))


def environment_problems(data: dict[str, Any], path: Path) -> list[str]:
    """Secrets, folders and templates of the sections that are valid, also while other sections are not."""
    stand_in = environment_stand_in(data)
    if stand_in is None:
        return []
    settings = anchor_paths(stand_in, path.parent)
    problems = runtime_problems(settings, path)
    folder = settings.templates.path
    if folder is None or folder.is_dir():  # a missing folder is already reported, and would hide nothing new
        problems += template_problems(settings, path)
    return problems


def environment_stand_in(data: dict[str, Any]) -> Settings | None:
    """Settings made of the file's environment sections, with inert stand-ins for those that do not validate."""
    candidate = {**INERT_SECTIONS, **{name: data[name] for name in ENVIRONMENT_SECTIONS if name in data}}
    try:
        return Settings.model_validate(candidate)
    except ValidationError as error:
        broken = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
    try:
        return Settings.model_validate({**candidate, **{name: INERT_SECTIONS.get(name, {}) for name in broken}})
    except ValidationError:
        return None  # cannot happen while sections validate independently; their errors are reported anyway
