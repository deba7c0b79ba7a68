"""Shipped plan sets: a configuration names presets, whose plans, calendars and escalation sit under the file's own."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mailbot.config_base import ConfigError
from mailbot.resources import config_dir

PRESET_SECTIONS = ("calendars", "plans")


def with_presets(data: dict[str, object], path: Path) -> dict[str, object]:
    """Plans and calendars from the named presets, under the file's own (which win, key by key); and their escalation.

    Escalation merges as `merged_escalation` says: levels by name, the presets' steps before the file's own.
    """
    names = data.get("presets", ())
    if not isinstance(names, list):
        return data
    merged: dict[str, dict[str, object]] = {section: {} for section in PRESET_SECTIONS}
    escalations: list[dict[str, Any]] = []
    for name in names:
        preset = _read_preset(str(name), path)
        for section in PRESET_SECTIONS:
            merged[section].update(preset.get(section, {}))
        if isinstance(preset.get("escalation"), dict):
            escalations.append(preset["escalation"])
    for section in PRESET_SECTIONS:
        own = data.get(section, {})
        merged[section].update(own if isinstance(own, dict) else {})
    result: dict[str, object] = {**data, **merged}
    if escalations:
        result["escalation"] = merged_escalation(escalations, data.get("escalation"))
    return result


def merged_escalation(presets: list[dict[str, Any]], own: object) -> object:
    """The presets' escalation under the file's [escalation].

    - levels: by name; the file's level replaces the preset's level of that name whole (people and title),
      the preset's other levels stay;
    - steps: the presets' steps in preset order, unless the file has steps of its own: those replace them
      (so a file written with its own whole matrix keeps exactly its steps); with `own_steps = "extend"` the
      file's steps are added after the presets' instead (which keep their positions, so notices already sent
      stay recorded as sent);
    - every other key (sweep_seconds, monthly_report_to): the file's, else the last preset's.
    A file [escalation] that is not a table is left as written, for validation to report.
    """
    if own is not None and not isinstance(own, dict):
        return own
    own_table: dict[str, Any] = own or {}
    result: dict[str, Any] = {}
    levels: dict[str, Any] = {}
    steps: list[Any] = []
    for preset in presets:
        result.update({key: value for key, value in preset.items() if key not in ("levels", "steps")})
        levels.update(_as_dict(preset.get("levels")))
        steps += _as_list(preset.get("steps"))
    result.update({key: value for key, value in own_table.items() if key not in ("levels", "steps")})
    own_levels, own_steps = own_table.get("levels", {}), own_table.get("steps", [])
    if not isinstance(own_levels, dict) or not isinstance(own_steps, list):
        return own_table  # wrong shapes: validation names them as the file wrote them
    levels.update(own_levels)
    keep_preset_steps = not own_steps or own_table.get("own_steps") == "extend"
    result["levels"] = levels
    result["steps"] = (steps if keep_preset_steps else []) + own_steps
    return result


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _read_preset(name: str, path: Path) -> dict[str, Any]:
    candidates = [path.parent / name, config_dir() / "presets" / f"{name}.toml"]
    for candidate in candidates:
        if candidate.is_file():
            try:
                return tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as error:
                raise ConfigError([f"{candidate}: preset not readable: {error}"]) from None
    shipped = sorted(p.stem for p in (config_dir() / "presets").glob("*.toml"))
    raise ConfigError([f"{path}: presets: no preset {name!r} (shipped: {', '.join(shipped)}; or a path to a TOML file)"])
