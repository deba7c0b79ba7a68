"""The command line as a new user meets it: options anywhere, each group's help, plurals, directory import's
report of every problem with its line, progress output, and the demo's hints that can be pasted back."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.bot import write_config
from tests.support.cli import cli_env, run_cli, run_mailbot

ONE_ACCOUNT = """
[[accounts]]
key = "acme"
name = "ACME"
plan = "standard"
contracts = [{ reference = "C1", starts_on = 2026-01-01 }]
contacts = [{ email = "ana@acme.test", name = "Ana" }]
"""

# Field mistakes (a language without templates, a bad address, an unknown zone) and plan mistakes in one file.
MANY_PROBLEMS = """[[accounts]]
key = "acme"
name = "ACME"
plan = "gold"
language = "fr"
contacts = [{ email = "ana@acme.test" }, { email = "not-an-address" }]

[[accounts]]
key = "globex"
name = "Globex"
plan = "platinum"
timezone = "Europe/Nowhere"
"""


def maildir_config(folder: Path, db_url: str) -> Path:
    return write_config(folder, db_url=db_url, source={"kind": "maildir", "path": str(folder / "in")},
                        delivery={"kind": "maildir", "path": str(folder / "out")})


def test_global_options_work_before_and_after_the_subcommand(tmp_path: Path, sqlite_url: str) -> None:
    config = maildir_config(tmp_path, sqlite_url)
    after = run_mailbot("check-config", "-c", str(config))
    before = run_mailbot("-c", str(config), "check-config")
    assert after.returncode == before.returncode == 0, after.stderr
    assert after.stdout == before.stdout and "OK" in after.stdout
    assert run_mailbot("db", "upgrade", "--config", str(config)).returncode == 0
    nested = run_mailbot("directory", "import", str(tmp_path / "directory.toml"), "-c", str(config))
    assert nested.returncode == 0, nested.stderr
    # Given at both places, the one after the subcommand wins.
    assert run_mailbot("-c", str(tmp_path / "missing.toml"), "check-config", "-c", str(config)).returncode == 0


@pytest.mark.parametrize("group", ["db", "directory", "cases", "quarantine", "outbox", "alerts", "sla", "inbound",
                                   "hours", "accounts"])
def test_a_group_without_an_action_shows_its_own_help(group: str) -> None:
    result = run_mailbot(group)
    assert result.returncode == 2
    assert result.stdout.startswith(f"usage: mailbot {group} ")
    assert "ACTION" in result.stdout and "COMMAND" not in result.stdout


def test_counts_agree_with_their_nouns(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": str(tmp_path / "in")},
                          delivery={"kind": "maildir", "path": str(tmp_path / "out")}, directory=ONE_ACCOUNT)
    run_cli(config, "db", "upgrade")
    imported = run_cli(config, "directory", "import", str(tmp_path / "directory.toml")).stdout
    assert "1 account created, 1 contract created, 1 contact created" in imported
    assert "queued again" in (retried := run_cli(config, "outbox", "retry").stdout) and "0 failed messages" in retried


def test_directory_import_reports_every_problem_with_its_line(tmp_path: Path, db_url: str) -> None:
    config = maildir_config(tmp_path, db_url)
    run_cli(config, "db", "upgrade")
    path = tmp_path / "directory.toml"
    path.write_text(MANY_PROBLEMS)
    result = run_cli(config, "directory", "import", str(path), check=False)
    assert result.returncode == 1
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert problems == [
        f"{path}:1: account 'acme': plan 'gold' is not defined in the configuration (known: advanced, standard)",
        f"{path}:5: account 'acme': language: 'fr' is not a supported language (valid: es, en)",
        f"{path}:6: account 'acme': contacts[1].email: 'not-an-address' is not an email address",
        f"{path}:8: account 'globex': plan 'platinum' is not defined in the configuration (known: advanced, standard)",
        f"{path}:12: account 'globex': timezone: unknown time zone 'Europe/Nowhere'",
    ]
    checked = run_cli(config, "check-config", "--directory", str(path), check=False)
    assert checked.returncode == 3 and all(problem in checked.stderr for problem in problems)
    assert "(none)" in run_cli(config, "cases", "list").stdout  # nothing half-imported either


def test_a_toml_syntax_error_names_file_line_and_column_and_quotes_the_line(tmp_path: Path, sqlite_url: str) -> None:
    config = maildir_config(tmp_path, sqlite_url)
    run_cli(config, "db", "upgrade")
    path = tmp_path / "directory.toml"
    path.write_text(ONE_ACCOUNT.replace("starts_on = 2026-01-01 }]", "starts_on = 2026-01-01 ]"))
    result = run_cli(config, "directory", "import", str(path), check=False)
    assert result.returncode == 1
    assert f"{path}:6:" in result.stderr and "Unclosed inline table" in result.stderr
    assert 'contracts = [{ reference = "C1", starts_on = 2026-01-01 ]' in result.stderr
    assert "(at line" not in result.stderr


def test_directory_import_prints_plain_progress_lines_when_not_on_a_terminal(tmp_path: Path, sqlite_url: str) -> None:
    accounts = "".join(f'[[accounts]]\nkey = "a{index}"\nname = "A {index}"\nplan = "standard"\n'
                       f'contacts = [{{ email = "c{index}@acme.test" }}]\n' for index in range(40))
    config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": str(tmp_path / "in")},
                          delivery={"kind": "maildir", "path": str(tmp_path / "out")}, directory=accounts)
    run_cli(config, "db", "upgrade")
    result = run_cli(config, "directory", "import", str(tmp_path / "directory.toml"))  # stderr is a pipe here
    assert "\r" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert lines[0] == "progress: 4/40 (10%)" and lines[-1] == "progress: 40/40 (100%)" and len(lines) == 10
    assert "40 accounts created" in result.stdout


def test_demo_hints_can_be_run_as_printed_and_reasons_are_whole(tmp_path: Path) -> None:
    result = run_mailbot("demo", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(RFC 3464\n" in result.stdout and result.stdout.count("DSN)") == 1  # wrapped, not cut
    hint = result.stdout.rstrip().splitlines()[-1].strip()
    assert hint.endswith("--config demo/mailbot.toml cases list") and not hint.startswith("mailbot ")
    listed = subprocess.run(shlex.split(hint), capture_output=True, text=True, timeout=120, env=cli_env(), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "DEMO-2026-00001" in listed.stdout
