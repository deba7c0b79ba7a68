"""Cost of one SLA escalation sweep with many open and many more closed cases, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.sla_sweep [--open 100000] [--closed 1000000] [--db URL]

Cases are bulk-inserted with SQL (generate_series / a recursive CTE). The sweep reads only cases whose
next threshold has passed, through the index on cases.next_escalation_at, so its cost must not grow with
closed cases: the figures are printed for a growing number of closed cases.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from mailbot.clock import FixedClock
from mailbot.sla.escalations import escalation_sweep
from tests.support.bot import prepared_app, write_config

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
DIRECTORY = """
[[accounts]]
key = "bank"
name = "Banco"
plan = "gold"
contracts = [{ reference = "B", starts_on = 2020-01-01 }]
contacts = [{ email = "ana@bank.test" }]
"""


def insert_cases(connection, first: int, count: int, *, open_cases: bool, postgres: bool) -> None:  # type: ignore[no-untyped-def]
    status = "'open'" if open_cases else "'closed'"
    # Open cases have their next threshold in the future (nothing due); closed ones have none.
    next_at = f"'{(NOW + timedelta(days=1)).isoformat()}'" if open_cases else "NULL"
    columns = ("number, account_id, subject, status, language, opened_at, updated_at, next_escalation_at, remote_hours,"
               " paused_seconds")
    values = (f"'B-' || n, 1, 'subject', {status}, 'es', '{NOW.isoformat()}', '{NOW.isoformat()}', {next_at}, 0, 0")
    if postgres:
        sql = f"INSERT INTO cases ({columns}) SELECT {values.replace(chr(39) + NOW.isoformat() + chr(39), chr(39) + NOW.isoformat() + chr(39) + '::timestamptz')} FROM generate_series({first}, {first + count - 1}) AS n"
        sql = sql.replace(f"'{(NOW + timedelta(days=1)).isoformat()}'", f"'{(NOW + timedelta(days=1)).isoformat()}'::timestamptz")
    else:
        sql = (f"WITH RECURSIVE seq(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM seq WHERE n < {first + count - 1}) "
               f"INSERT INTO cases ({columns}) SELECT {values} FROM seq")
    connection.execute(text(sql))


def sweep_times(app, runs: int = 5) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        escalation_sweep(app)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=1_000_000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--due", type=int, default=10, help="cases whose threshold has passed, escalated by the sweep")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "in" / "new").mkdir(parents=True)
        url = arguments.db or f"sqlite:///{path}/sla.db"
        config = write_config(path, db_url=url, source={"kind": "maildir", "path": "in"},
                              delivery={"kind": "maildir", "path": "out"}, presets=("calltech",), directory=DIRECTORY)
        config.write_text(config.read_text() + '\n[[escalation.steps]]\nclock = "response"\nat = "100%"\nnotify = "assigned"\n')
        app = prepared_app(config, FixedClock(NOW))
        postgres = app.engine.dialect.name == "postgresql"
        print(f"database: {app.engine.dialect.name}")
        started = time.perf_counter()
        with app.engine.begin() as connection:
            insert_cases(connection, 1, arguments.open, open_cases=True, postgres=postgres)
        with app.engine.connect() as connection:
            inserted = connection.execute(text("SELECT count(*) FROM cases")).scalar_one()
        print(f"{inserted} open cases inserted in {time.perf_counter() - started:.1f} s")
        next_number = arguments.open + 1
        steps = [0, arguments.closed // 10, arguments.closed // 2, arguments.closed]
        for target in steps:
            missing = target - (next_number - arguments.open - 1)
            if missing > 0:
                with app.engine.begin() as connection:
                    insert_cases(connection, next_number, missing, open_cases=False, postgres=postgres)
                next_number += missing
                with app.engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            idle_median, idle_max = sweep_times(app)
            with app.engine.connect() as connection:
                total = connection.execute(text("SELECT count(*) FROM cases")).scalar_one()
            print(f"closed {target:>9} (cases {total:>9}): sweep with nothing due  median {idle_median:6.1f} ms  max {idle_max:6.1f} ms")
        with app.engine.begin() as connection:  # some cases fall due: the sweep escalates them
            connection.execute(text(
                "UPDATE cases SET next_escalation_at = :due, opened_at = :opened, priority = 'P1'"
                " WHERE id IN (SELECT id FROM cases WHERE status = 'open' LIMIT :n)"
            ), {"due": NOW - timedelta(minutes=1), "opened": NOW - timedelta(days=3), "n": arguments.due})
        started = time.perf_counter()
        sent = escalation_sweep(app)
        print(f"sweep escalating {arguments.due} due cases: {(time.perf_counter() - started) * 1000:.1f} ms ({dict(sent)})")
        app.dispose()


if __name__ == "__main__":
    main()
