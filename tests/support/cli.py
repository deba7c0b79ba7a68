"""Run the real `mailbot` command as a subprocess, as an operator or cron would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[2]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def command(config: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "mailbot", "--config", str(config), *arguments]


def run_cli(config: Path, *arguments: str, timeout: float = 120, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`env` adds to (or overrides) the environment the command sees."""
    result = subprocess.run(command(config, *arguments), capture_output=True, text=True, timeout=timeout,
                            env={**cli_env(), **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"mailbot {' '.join(arguments)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def run_mailbot(*arguments: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m mailbot ARGUMENTS` exactly as given (no --config put first), for tests of the parsing itself."""
    return subprocess.run([sys.executable, "-m", "mailbot", *arguments], capture_output=True, text=True,
                          timeout=timeout, env=cli_env(), cwd=cwd)


def start_service(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """`mailbot run` in the background; its log goes to `log_path`."""
    log_file = log_path.open("wb")
    return subprocess.Popen(command(config, "run"), stdout=log_file, stderr=subprocess.STDOUT, env=cli_env())


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_service(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if process.poll() is None:
        process.terminate()
    return process.wait(timeout)


def migrate_and_import(config: Path) -> None:
    """`db upgrade` and `directory import` of the directory.toml beside the config, as an operator would."""
    run_cli(config, "db", "upgrade")
    run_cli(config, "directory", "import", str(config.parent / "directory.toml"))
