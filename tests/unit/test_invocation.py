"""The command the demo's hints name is the one the user ran."""

from __future__ import annotations

from pathlib import Path

from mailbot.entrypoints.invocation import mailbot_command


def test_python_dash_m_names_the_interpreter_relative_to_the_working_directory(tmp_path: Path) -> None:
    assert mailbot_command(str(tmp_path / "pkg" / "mailbot" / "__main__.py"), str(tmp_path / ".venv" / "bin" / "python"),
                           tmp_path) == ".venv/bin/python -m mailbot"


def test_a_script_not_on_path_is_named_by_its_path(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", "/nonexistent")
    assert mailbot_command(".venv/bin/mailbot", "/usr/bin/python3", tmp_path) == ".venv/bin/mailbot"
    assert mailbot_command("/opt/mail bot/bin/mailbot", "/usr/bin/python3", tmp_path) == "'/opt/mail bot/bin/mailbot'"


def test_a_script_found_on_path_is_named_plainly(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "bin" / "mailbot"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(script.parent))
    assert mailbot_command(str(script), "/usr/bin/python3", tmp_path / "elsewhere") == "mailbot"
