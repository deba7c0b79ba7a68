"""Outbox claims stay flat as the backlog grows; delivery's statements per message over a real SMTP server.

    .venv/bin/python -m benchmarks.outbox_claim                    # SQLite: 100 .. 20,000 pending rows
    .venv/bin/python -m benchmarks.outbox_claim --db postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python -m benchmarks.outbox_claim --deliver 2000     # statements and time per delivered message

For each backlog size: the claim's plan (EXPLAIN: no sort step), the time of one batch claim of CLAIM_BATCH rows,
and, beside it, the single-row query claims used before migration 0016 (status IN (...) ORDER BY ... LIMIT 1 over
ix_outbox_due, which sorts every pending row). Timings are noisy on a shared machine; the plan and the
statement counts are what is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, insert, select, text

from mailbot.app import App
from mailbot.db.models import OutboxMessage
from mailbot.delivery.claims import CLAIM_BATCH, PENDING, SENDING, _claim_query, claim_due, hand_back
from mailbot.delivery.outbox import build_transports, deliver_due
from tests.support.bot import prepared_app, smtp_delivery, write_config
from tests.support.smtp_sink import SmtpSink

SIZES = (100, 1_000, 5_000, 20_000)
CLAIMS_PER_SIZE = 30


def bench_app(folder: Path, db_url: str | None, sink: SmtpSink | None = None, connections: int = 2) -> App:
    delivery = smtp_delivery(sink) if sink else {"kind": "maildir", "path": str(folder / "out")}
    config = write_config(folder, db_url=db_url or f"sqlite:///{folder}/bench.db",
                          source={"kind": "maildir", "path": str(folder / "in")}, delivery=delivery,
                          outbox={"connections": connections})
    return prepared_app(config, seed=False)


def add_pending(app: App, start: int, count: int) -> None:
    now = app.clock.now()
    rows = [dict(message_id=f"b{n}@example.test", kind="acknowledgment", recipient=f"c{n}@acme.test",
                 envelope_from="support@example.test", subject=f"s{n}",
                 raw=f"Message-ID: <b{n}@example.test>\r\nSubject: s{n}\r\n\r\nx\r\n".encode(), is_auto_reply=False,
                 status=PENDING, attempts=0, next_attempt_at=now - timedelta(seconds=n % 997), created_at=now,
                 priority=n % 3) for n in range(start, start + count)]
    with app.sessions() as session:
        for offset in range(0, len(rows), 5_000):
            session.execute(insert(OutboxMessage), rows[offset:offset + 5_000])
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()


def old_claim_ms(app: App) -> float:
    """The claim before migration 0016: one row, status IN (pending, sending), sorted."""
    query = (select(OutboxMessage.id).where(OutboxMessage.status.in_((PENDING, SENDING)),
                                            OutboxMessage.next_attempt_at <= app.clock.now())
             .order_by(OutboxMessage.priority.desc(), OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))
    timings = []
    with app.sessions() as session:
        for _ in range(CLAIMS_PER_SIZE):
            started = time.perf_counter()
            session.execute(query).all()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def batch_claim_ms(app: App) -> float:
    """A whole claim (requeue, select, lease, commit) of CLAIM_BATCH rows; handed back untimed, so sizes stay put."""
    timings = []
    for _ in range(CLAIMS_PER_SIZE):
        started = time.perf_counter()
        claimed = claim_due(app, app.clock.now())
        timings.append(time.perf_counter() - started)
        hand_back(app, claimed)
    return statistics.median(timings) * 1000


def claim_plan(app: App) -> str:
    compiled = _claim_query(app.clock.now(), CLAIM_BATCH, ()).compile(app.engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if app.engine.dialect.name == "sqlite" else "EXPLAIN "
    with app.sessions() as session:
        lines = [str(row[-1]) for row in session.execute(text(explain + str(compiled)))]
    return " | ".join(line.strip() for line in lines if "Scan" in line or "SCAN" in line or "SEARCH" in line
                      or "Sort" in line or "B-TREE" in line)


def claims(db_url: str | None, sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = bench_app(Path(folder), db_url)
        print(f"{'pending':>8}  {'batch claim (20 rows)':>22}  {'per row':>8}  {'old claim (1 row)':>18}  plan")
        total = 0
        for size in sizes:
            add_pending(app, total, size - total)
            total = size
            batch = batch_claim_ms(app)
            print(f"{size:>8}  {batch:>19.2f} ms  {batch / CLAIM_BATCH:>5.3f} ms  {old_claim_ms(app):>15.2f} ms  {claim_plan(app)}")
        app.dispose()


def delivery(count: int, db_url: str | None, connections: int) -> None:
    """Statements and time per delivered message: `count` queued rows, one round, a real SMTP server."""
    with SmtpSink() as sink, tempfile.TemporaryDirectory() as folder:
        app = bench_app(Path(folder), db_url, sink, connections)
        add_pending(app, 0, count)
        statements: Counter[str] = Counter()
        event.listen(app.engine, "before_cursor_execute", lambda *args: statements.update([args[2].split()[0]]))
        started = time.perf_counter()
        report = asyncio.run(deliver_due(app, build_transports(app.settings)))
        elapsed = time.perf_counter() - started
        app.dispose()
        sent = report.outcomes["sent"]
        print(f"delivered {sent} of {count} over {connections} SMTP session(s) in {elapsed:.2f} s = {sent / elapsed:.0f} replies/s")
        print(f"statements {sum(statements.values())} = {sum(statements.values()) / max(sent, 1):.2f} per message "
              f"({dict(statements)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file); PostgreSQL: an empty database")
    parser.add_argument("--deliver", type=int, metavar="N", help="deliver N queued rows instead, counting statements")
    parser.add_argument("--connections", type=int, default=2, help="SMTP sessions for --deliver")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="backlog sizes, growing")
    arguments = parser.parse_args()
    if arguments.deliver:
        delivery(arguments.deliver, arguments.db, arguments.connections)
    else:
        claims(arguments.db, tuple(arguments.sizes))


if __name__ == "__main__":
    main()
