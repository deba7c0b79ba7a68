"""What is due for purging and how traces of an erased person are rewritten; where saved attachments land."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailbot.cases.attachments import UnsafeTarget, target_path, unique_name
from mailbot.retention.policy import (
    ERASED,
    address_hash,
    cutoff,
    has_raw_trace,
    is_case_raw_due,
    is_quarantine_due,
    traces,
    without_traces,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
BEFORE = NOW - timedelta(days=30)


def test_no_setting_keeps_everything_forever() -> None:
    assert cutoff(NOW, None) is None
    assert not is_case_raw_due(NOW - timedelta(days=9999), None, None)
    assert not is_quarantine_due(NOW - timedelta(days=9999), None)


@pytest.mark.parametrize(("closed_at", "purged_at", "due"), [
    (None, None, False),  # open or waiting: never
    (BEFORE + timedelta(seconds=1), None, False),  # closed within the period
    (BEFORE - timedelta(seconds=1), None, True),
    (BEFORE - timedelta(days=5), BEFORE - timedelta(days=1), False),  # already purged since it closed
    (BEFORE - timedelta(days=1), BEFORE - timedelta(days=5), True),  # reopened after a purge, closed again
])
def test_case_raw_is_due_once_per_closure(closed_at: datetime | None, purged_at: datetime | None, due: bool) -> None:
    assert cutoff(NOW, 30) == BEFORE
    assert is_case_raw_due(closed_at, purged_at, BEFORE) is due


def test_quarantine_due_after_its_days() -> None:
    assert is_quarantine_due(BEFORE - timedelta(seconds=1), BEFORE)
    assert not is_quarantine_due(BEFORE, BEFORE)


def test_traces_are_replaced_whatever_their_case() -> None:
    needles = traces(" Ana@ACME.test ", "Ana  García")
    assert needles == ("ana@acme.test", "Ana García")
    assert without_traces("To: ANA GARCÍA <ana@acme.TEST>, pedro@acme.test", needles) == f"To: {ERASED} <{ERASED}>, pedro@acme.test"
    assert traces("x@y.test", "Al") == ("x@y.test",)  # too short to be a name worth hunting for in text
    assert has_raw_trace(b"From: <Ana@Acme.Test>", needles) and not has_raw_trace(b"From: pedro@acme.test", needles)


def test_the_log_keeps_a_hash_not_the_address() -> None:
    assert address_hash("Ana@Acme.test ") == address_hash("ana@acme.test") and "ana" not in address_hash("ana@acme.test")
    assert len(address_hash("ana@acme.test")) == 64


def test_duplicate_names_get_a_numbered_suffix_before_the_type() -> None:
    taken = {"informe.pdf", "informe (2).pdf", "README"}
    assert unique_name("informe.pdf", taken.__contains__) == "informe (3).pdf"
    assert unique_name("README", taken.__contains__) == "README (2)"
    assert unique_name("nuevo.txt", taken.__contains__) == "nuevo.txt"


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "..", ".", ""])
def test_saved_names_stay_inside_the_folder(tmp_path: Path, hostile: str) -> None:
    target = target_path(tmp_path, hostile, set(), overwrite=False)
    assert target.parent == tmp_path.resolve()


def test_a_symlinked_name_that_escapes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafeTarget):
        target_path(tmp_path / "out", "link", set(), overwrite=True)
