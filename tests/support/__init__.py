"""Helpers that run real servers (Dovecot, an SMTP sink, PostgreSQL) for the test suite."""

import os

import pytest

REQUIRE_SERVERS_ENV = "MAILBOT_REQUIRE_SERVERS"


def servers_required() -> bool:
    """True where real-server tests must run (CI sets MAILBOT_REQUIRE_SERVERS=1)."""
    return os.environ.get(REQUIRE_SERVERS_ENV, "") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the test for a missing server, or fail it where servers are required.

    CI sets MAILBOT_REQUIRE_SERVERS=1 so a broken install can never turn the
    real-server tests into a green run of skips.
    """
    if servers_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVERS_ENV}=1, so this is an error)", pytrace=False)
    pytest.skip(reason)
