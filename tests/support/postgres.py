"""Per-test PostgreSQL databases on a shared server.

Each test gets its own freshly created database so schema migrations and data
never leak between tests, and tests may run in any order. The server itself
is provided by the machine (CI's .ci/run starts one); tests skip, or fail
under MAILBOT_REQUIRE_SERVERS=1, where it is unreachable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

PG_ENV = "MAILBOT_TEST_PG"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_SECONDS = 2
DB_PREFIX = "mailbot_t_"


def pg_base_url() -> str:
    """The maintenance database URL (MAILBOT_TEST_PG, else the CI default)."""
    return os.environ.get(PG_ENV) or DEFAULT_PG_URL


def _with_timeout(url: URL) -> URL:
    """Add libpq's connect_timeout so an absent server fails fast instead of hanging."""
    if "connect_timeout" in url.query:
        return url
    return url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)})


def pg_available() -> bool:
    """True if the base database accepts a connection within ~2 s."""
    engine = create_engine(_with_timeout(make_url(pg_base_url())), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _admin_engine() -> Engine:
    """AUTOCOMMIT engine on the base db: CREATE/DROP DATABASE cannot run in a transaction."""
    return create_engine(
        _with_timeout(make_url(pg_base_url())), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it afterwards.

    DROP ... WITH (FORCE) (PostgreSQL 13+) also ends connections a test left
    open, e.g. an engine that was never disposed, so cleanup cannot hang.
    """
    name = f"{DB_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(pg_base_url()).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_exists(name: str) -> bool:
    """True if a database called name exists on the server (for cleanup checks)."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            row = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        return row is not None
    finally:
        admin.dispose()
