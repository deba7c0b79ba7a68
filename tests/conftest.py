"""Shared fixtures: real Dovecot, a real SMTP sink and per-test databases.

Servers that are missing make their tests skip with a visible reason, except
under MAILBOT_REQUIRE_SERVERS=1 (set by .ci/run), where they fail instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support import skip_or_fail
from tests.support.dovecot import DovecotServer, dovecot_available
from tests.support.postgres import fresh_database, pg_available, pg_base_url
from tests.support.smtp_sink import SmtpSink
from tests.support.tls import Certificate, self_signed_certificate

DOVECOT_MISSING = "dovecot not installed: apt-get install dovecot-imapd dovecot-lmtpd"

# Fixtures whose use means a test needs that server; the markers let
# `pytest -m "not dovecot"` / `-m "not postgres"` deselect them.
_MARKER_FOR_FIXTURE = {"dovecot": "dovecot", "pg_base": "postgres"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the server fixtures they (transitively) request."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _MARKER_FOR_FIXTURE.items():
            if fixture in names:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One Dovecot for the session; tests isolate themselves with fresh users."""
    if not dovecot_available():
        skip_or_fail(DOVECOT_MISSING)
    with DovecotServer() as server:
        yield server


@pytest.fixture
def mailbox_user(dovecot: DovecotServer) -> str:
    """A new, empty mailbox (password 'secret') that no other test touches."""
    return dovecot.add_user(f"support-{uuid.uuid4().hex[:8]}@example.test")


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A fresh SMTP server per test, so recorded mail and scripted failures never leak."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1/localhost (TLS servers and the https token endpoint)."""
    made = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        skip_or_fail("openssl not installed")
    assert made is not None
    return made


@pytest.fixture(scope="session")
def pg_base() -> str:
    """The PostgreSQL base URL, checked once per session (an absent server costs ~2 s once)."""
    url = pg_base_url()
    if not pg_available():
        shown = make_url(url).render_as_string(hide_password=True)
        skip_or_fail(f"PostgreSQL not reachable at {shown} (set MAILBOT_TEST_PG or start the server)")
    return url


@pytest.fixture
def pg_url(pg_base: str) -> Iterator[str]:
    """URL of a brand-new database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A file-backed SQLite database private to the test."""
    return f"sqlite:///{tmp_path}/mailbot.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], ids=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once per supported database backend."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("sqlite_url"))
