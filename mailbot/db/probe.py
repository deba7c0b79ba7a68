"""The database as /readyz and /metrics see it: reachable, schema current, and a few cheap counts.

The probe has an engine of its own without a pool and with short timeouts: a scrape never waits behind the
service's connections, never hangs on a server that is down, and holds no connection between scrapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from mailbot.clock import Clock
from mailbot.db.revisions import schema_gap
from mailbot.db.models import Account, Case, OutboxMessage, QuarantinedMessage

# The statuses of delivery/outbox.py and cases/work.py, spelt out: the db layer does not import the layers above it.
OUTBOX_WAITING = ("pending", "sending")
OUTBOX_COUNTED = (*OUTBOX_WAITING, "failed")
CASES_NOT_CLOSED = ("open", "waiting")
NO_PRIORITY = "none"


@dataclass(frozen=True)
class DatabaseFacts:
    outbox: dict[str, int]  # status -> messages, for every status in OUTBOX_COUNTED
    oldest_pending_age_seconds: float  # 0 when nothing waits
    quarantined: int  # not released
    open_cases: dict[tuple[str, str], int]  # (plan, priority) -> cases not closed


class DatabaseProbe:
    def __init__(self, url: str, clock: Clock, timeout_seconds: float = 2.0) -> None:
        self._url = url
        self._clock = clock
        self._engine = build_probe_engine(url, timeout_seconds)

    def problems(self) -> list[str]:
        """Why the database is not ready (unreachable, schema not current), or nothing when it is."""
        missing = missing_sqlite_file(self._url)
        if missing:
            return [f"database unreachable: SQLite file {missing} does not exist"]
        try:
            gap = schema_gap(self._engine)
        except Exception as error:  # noqa: BLE001 - any failure to answer is "unreachable", said in its words
            return [f"database unreachable: {first_line(error)}"]
        if gap is not None:
            revision, head = gap
            return [f"database schema not current: it is at {revision or 'no revision (empty)'}, this mailbot needs "
                    f"{head}; run `mailbot db upgrade`"]
        return []

    def facts(self) -> DatabaseFacts:
        """Counts over indexed columns (outbox status, case status); raises when the database does not answer."""
        missing = missing_sqlite_file(self._url)
        if missing:
            raise FileNotFoundError(f"SQLite file {missing} does not exist")
        with Session(self._engine) as session:
            return read_facts(session, self._clock.now())

    def dispose(self) -> None:
        self._engine.dispose()


def read_facts(session: Session, now: datetime) -> DatabaseFacts:
    by_status = dict(session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status.in_(OUTBOX_COUNTED))
        .group_by(OutboxMessage.status)
    ).all())
    oldest = session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(OUTBOX_WAITING)))
    # The quarantine is an operator's short work list: a scan of it is cheap.
    quarantined = session.scalar(select(func.count()).select_from(QuarantinedMessage)
                                 .where(QuarantinedMessage.released_at.is_(None)))
    open_cases = session.execute(
        select(Account.plan_name, Case.priority, func.count()).join(Account, Case.account_id == Account.id)
        .where(Case.status.in_(CASES_NOT_CLOSED)).group_by(Account.plan_name, Case.priority)
    ).all()
    return DatabaseFacts(
        outbox={status: int(by_status.get(status, 0)) for status in OUTBOX_COUNTED},
        oldest_pending_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        quarantined=int(quarantined or 0),
        open_cases={(plan, priority or NO_PRIORITY): int(count) for plan, priority, count in open_cases},
    )


def build_probe_engine(url: str, timeout_seconds: float) -> Engine:
    if url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": timeout_seconds})
    milliseconds = int(timeout_seconds * 1000)
    return create_engine(url, poolclass=NullPool, connect_args={
        "connect_timeout": max(int(timeout_seconds), 1),  # libpq counts whole seconds
        "options": f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}",
    })


def missing_sqlite_file(url: str) -> Path | None:
    """Connecting to a missing SQLite file would create an empty one: look first."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None)
    text = str(original or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
