"""Configuration errors name the file, the key and the problem; the example file is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import ConfigError, load_settings, runtime_problems
from mailbot.resources import config_dir

MINIMAL = """
[support]
address = "support@example.test"
[source]
kind = "maildir"
path = "in"
[delivery]
kind = "maildir"
path = "out"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    return caught.value.problems


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.database.url == f"sqlite:///{tmp_path.resolve()}/mailbot.db"
    assert settings.source.path == tmp_path / "in"  # type: ignore[union-attr]
    assert settings.support.case_number_format == "{prefix}-{year}-{seq:05d}"


def test_every_problem_is_listed_with_file_and_key(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace('address = "support@example.test"', 'address = "nope"\ncase_prefix = "x-1"\ncolour = 1'))
    path = str(tmp_path / "mailbot.toml")
    assert any(p.startswith(path) and "support.address" in p and "email address" in p for p in found)
    assert any("support.case_prefix" in p for p in found)
    assert any("support.colour" in p and "unknown key" in p for p in found)


def test_plain_imap_only_on_loopback(tmp_path: Path) -> None:
    text = MINIMAL.replace('kind = "maildir"\npath = "in"', 'kind = "imap"\nhost = "mail.example.com"\ntls = "none"\nuser = "u"')
    assert any("loopback" in p for p in problems(tmp_path, text))


def test_case_number_format_needs_seq(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace("[source]", 'case_number_format = "{prefix}-{year}"\n[source]'))
    assert any("support.case_number_format" in p and "{seq}" in p for p in found)


def test_unknown_time_zone(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace("[source]", 'default_timezone = "Mars/Olympus"\n[source]'))
    assert any("support.default_timezone" in p and "Mars/Olympus" in p for p in found)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    found = problems(tmp_path, "[support\naddress=1")
    assert str(tmp_path / "mailbot.toml") in found[0] and "TOML" in found[0]


def test_missing_password_env_is_a_runtime_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILBOT_TEST_NOPE", raising=False)
    text = MINIMAL.replace('kind = "maildir"\npath = "in"', 'kind = "imap"\nhost = "127.0.0.1"\ntls = "none"\nuser = "u"\npassword_env = "MAILBOT_TEST_NOPE"')
    path = write(tmp_path, text)
    found = runtime_problems(load_settings(path), path)
    assert any("source.password_env" in p and "MAILBOT_TEST_NOPE" in p for p in found)


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(config_dir() / "mailbot.example.toml")
    assert settings.support.address


def test_demo_config_is_valid() -> None:
    assert load_settings(config_dir() / "demo" / "mailbot.toml").source.kind == "maildir"
