"""Shipped plan sets: a configuration names presets, whose plans and calendars sit under the file's own."""

from __future__ import annotations

import tomllib
from pathlib import Path

from mailbot.config_base import ConfigError
from mailbot.resources import config_dir

PRESET_SECTIONS = ("calendars", "plans")


def with_presets(data: dict[str, object], path: Path) -> dict[str, object]:
    """Plans and calendars from the named presets, under the file's own (which win, key by key)."""
    names = data.get("presets", ())
    if not isinstance(names, list):
        return data
    merged: dict[str, dict[str, object]] = {section: {} for section in PRESET_SECTIONS}
    for name in names:
        preset = _read_preset(str(name), path)
        for section in PRESET_SECTIONS:
            merged[section].update(preset.get(section, {}))
    for section in PRESET_SECTIONS:
        own = data.get(section, {})
        merged[section].update(own if isinstance(own, dict) else {})
    return {**data, **merged}


def _read_preset(name: str, path: Path) -> dict[str, dict[str, object]]:
    candidates = [path.parent / name, config_dir() / "presets" / f"{name}.toml"]
    for candidate in candidates:
        if candidate.is_file():
            try:
                return tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as error:
                raise ConfigError([f"{candidate}: preset not readable: {error}"]) from None
    shipped = sorted(p.stem for p in (config_dir() / "presets").glob("*.toml"))
    raise ConfigError([f"{path}: presets: no preset {name!r} (shipped: {', '.join(shipped)}; or a path to a TOML file)"])
