from __future__ import annotations

import pytest

from mailbot.policy.case_numbers import CaseNumbering

DEFAULT = CaseNumbering("{prefix}-{year}-{seq:05d}", "LC")


def test_default_format() -> None:
    assert DEFAULT.format(2026, 42) == "LC-2026-00042"


def test_counter_scope_restarts_yearly_only_when_year_is_shown() -> None:
    assert DEFAULT.counter_scope(2026) != DEFAULT.counter_scope(2027)
    flat = CaseNumbering("{prefix}{seq:06d}", "T")
    assert flat.counter_scope(2026) == flat.counter_scope(2027)


@pytest.mark.parametrize(
    "subject",
    [
        "[LC-2026-00042] Problema",
        "Re: [LC-2026-00042] Problema",
        "RE: RV: Fwd: [LC-2026-00042] Problema",
        "AW: Problema [ LC-2026-00042 ]",
        "re: [lc-2026-00042] minúsculas",
    ],
)
def test_tag_found_whatever_surrounds_it(subject: str) -> None:
    assert DEFAULT.find_in_subject(subject) == "LC-2026-00042"


@pytest.mark.parametrize("subject", ["LC-2026-00042 without brackets", "[XX-2026-00042] other prefix", "[LC-26-1]"])
def test_no_tag(subject: str) -> None:
    assert DEFAULT.find_in_subject(subject) is None


def test_numbers_beyond_the_padding_still_match() -> None:
    assert DEFAULT.find_in_subject("[LC-2026-123456]") == "LC-2026-123456"
