"""The README's first command: `mailbot demo` works from a clean folder, with no server at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.cli import cli_env


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mailbot", "demo", str(tmp_path / "demo")], capture_output=True,
                            text=True, timeout=120, env=cli_env())
    assert result.returncode == 0, result.stderr
    assert "case_opened" in result.stdout and "appended" in result.stdout and "refused" in result.stdout
    written = list((tmp_path / "demo" / "outbox" / "new").iterdir())
    assert len(written) >= 4  # two acknowledgments, two polite refusals
