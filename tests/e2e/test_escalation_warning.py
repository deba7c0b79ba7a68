"""`mailbot check-config` warns, as an operator sees it, about plans whose SLA breaches no manager would hear of."""

from __future__ import annotations

from pathlib import Path

from tests.support.bot import write_config
from tests.support.cli import run_cli


def check(tmp_path: Path, presets: tuple[str, ...], extra: str = "") -> tuple[int, str]:
    (tmp_path / "in").mkdir(exist_ok=True)
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", source={"kind": "maildir", "path": "in"},
                          delivery={"kind": "maildir", "path": "out"}, presets=presets)
    config.write_text(config.read_text() + extra)
    result = run_cli(config, "check-config", check=False)
    return result.returncode, result.stderr


def test_calltech_escalates_out_of_the_box_and_plans_without_a_matrix_are_warned_about(tmp_path: Path) -> None:
    code, stderr = check(tmp_path, ("calltech", "lastcall"))
    warned = sorted(line.split(":")[1].strip() for line in stderr.splitlines() if "no escalation step reaches a manager" in line)
    assert code == 0 and warned == ["plans.advanced", "plans.standard"], stderr


def test_own_steps_that_leave_a_priority_without_a_manager_are_warned_about(tmp_path: Path) -> None:
    steps = '\n[[escalation.steps]]\nclock = "response"\nat = "100%"\nnotify = "N2"\npriorities = ["P1"]\n'
    code, stderr = check(tmp_path, ("calltech",), steps)
    assert code == 0
    assert "warning: plans.gold: SLA targets for P2, P3, P4 but no escalation step reaches a manager level" in stderr
