"""Ingest throughput and IDLE latency on real Dovecot + a real SMTP server + SQLite (or --db URL).

    .venv/bin/python -m benchmarks.ingest              # 2000 mixed messages, one `run --once`
    .venv/bin/python -m benchmarks.ingest --idle 50    # `mailbot run` in IDLE: arrival -> ack latency

Targets: >= 200 messages/s ingest on SQLite; IDLE p95 < 1 s (Dovecot itself adds ~0.5 s before it
notifies an idling client).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

from mailbot.intake.ingest import Ingestor
from mailbot.runtime.runner import Service, deliver_once
from mailbot.sources.factory import build_source
from tests.support.bot import DIRECTORY_TOML, imap_source, prepared_app, smtp_delivery, write_config
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink

# Calltech's plans: business calendars with Colombian holidays, per-priority calendars and targets.
PRESETS = ("calltech",)
BENCH_DIRECTORY = DIRECTORY_TOML.replace('plan = "standard"', 'plan = "gold"').replace('plan = "advanced"', 'plan = "platinum"')
SENDERS = ("ana@acme.test", "pedro@acme.test", "john@globex.test", "luis@oldco.test", "stranger@else.test")


def mixed_mail(n: int) -> bytes:
    sender = SENDERS[n % len(SENDERS)]
    headers = {"Auto-Submitted": "auto-replied"} if n % 10 == 7 else {}
    attachment = ("log.txt", "text/plain", b"line of log\n" * 2000) if n % 4 == 0 else None
    return customer_mail(sender=sender, subject=f"Incidencia número {n}", headers=headers, attachment=attachment,
                         body="Buenos días:\n\nEl sistema no arranca tras la actualización.\n" * 5)


def throughput(count: int, db_url: str | None) -> None:
    with DovecotServer() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as folder:
        user = dovecot.add_user("bench@example.test")
        path = Path(folder)
        config = write_config(path, db_url=db_url or f"sqlite:///{path}/bench.db",
                              source=imap_source(dovecot, user, path, fetch_batch_size=200),
                              delivery=smtp_delivery(sink), limits={"auto_replies_per_sender_per_hour": 100000},
                              presets=PRESETS, directory=BENCH_DIRECTORY)
        app = prepared_app(config)
        client = dovecot.imap(user)
        for n in range(count):
            client.append("INBOX", mixed_mail(n))
        client.logout()
        source = build_source(app.settings, app.sessions)
        started = time.perf_counter()
        report = Ingestor(app).ingest(source, threading.Event())
        ingested = time.perf_counter()
        delivery = deliver_once(app)
        finished = time.perf_counter()
        source.close()
        app.dispose()
        print(f"messages           {report.total}  ({dict(report.outcomes)})")
        print(f"ingest             {ingested - started:.2f} s = {report.total / (ingested - started):.0f} messages/s"
              " (fetch, parse, decide, case + outbox + checkpoint commit)")
        print(f"delivery           {finished - ingested:.2f} s = {delivery.outcomes['sent'] / (finished - ingested):.0f}"
              " replies/s over SMTP")
        print(f"end to end         {report.total / (finished - started):.0f} messages/s")
        print(f"peak memory (RSS)  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def idle_latency(count: int) -> None:
    with DovecotServer() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as folder:
        user = dovecot.add_user("bench@example.test")
        path = Path(folder)
        config = write_config(path, db_url=f"sqlite:///{path}/bench.db", source=imap_source(dovecot, user, path),
                              delivery=smtp_delivery(sink), limits={"auto_replies_per_sender_per_hour": 100000})
        app = prepared_app(config)
        stop = threading.Event()
        service = Service(app, stop)
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        time.sleep(2)
        latencies = []
        for n in range(count):
            started = time.perf_counter()
            dovecot.append(user, customer_mail(subject=f"latency {n}"))
            sink.wait_for(n + 1, timeout=30)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.2)
        service.request_stop()
        thread.join(10)
        app.dispose()
        latencies.sort()
        print(f"IDLE arrival -> acknowledgment at the SMTP server, {count} messages")
        print(f"p50 {statistics.median(latencies) * 1000:.0f} ms   p95 {latencies[int(0.95 * (count - 1))] * 1000:.0f} ms"
              f"   max {latencies[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--idle", type=int, metavar="N", help="measure IDLE latency over N messages instead")
    arguments = parser.parse_args()
    if arguments.idle:
        idle_latency(arguments.idle)
    else:
        throughput(arguments.count, arguments.db)


if __name__ == "__main__":
    main()
