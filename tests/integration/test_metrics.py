"""Metrics counted where things happen (intake, delivery, SLA) and database gauges read from a real database."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from mailbot.clock import FixedClock
from mailbot.db.probe import DatabaseProbe
from mailbot.runtime.runner import deliver_once, run_once
from mailbot.sla.escalations import escalation_sweep
from tests.integration.test_sla import BOGOTA, FRIDAY_17H, config_for, open_p1
from tests.support.bot import prepared_app, smtp_delivery, write_config
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink


def value(app, name: str, **labels: str) -> float | None:  # type: ignore[no-untyped-def]
    return app.metrics.registry.get_sample_value(name, labels)


def test_warnings_and_breaches_sent_are_counted_apart(tmp_path: Path, sqlite_url: str, smtp_sink: SmtpSink) -> None:
    clock = FixedClock(FRIDAY_17H)
    app = prepared_app(config_for(tmp_path, sqlite_url, smtp_sink), clock)
    open_p1(app, tmp_path)
    clock.set(datetime(2026, 1, 13, 8, 31, tzinfo=BOGOTA))  # 75 % of the response time: a warning
    escalation_sweep(app)
    clock.set(datetime(2026, 1, 13, 9, 1, tzinfo=BOGOTA))  # the target itself: a breach
    escalation_sweep(app)
    escalation_sweep(app)  # nothing more is owed: nothing more is counted
    assert value(app, "mailbot_sla_escalations_sent_total", clock="response", kind="warning") == 1
    assert value(app, "mailbot_sla_escalations_sent_total", clock="response", kind="breach") == 1
    assert value(app, "mailbot_sla_escalations_sent_total", clock="resolution", kind="breach") == 0


def test_outcomes_rules_latency_and_delivery_are_counted(tmp_path: Path, sqlite_url: str, smtp_sink: SmtpSink) -> None:
    inbox = tmp_path / "in" / "new"
    inbox.mkdir(parents=True)
    config = write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": "in"},
                          delivery=smtp_delivery(smtp_sink))
    app = prepared_app(config)
    (inbox / "1.a.host").write_bytes(customer_mail(message_id="same@acme.test"))
    (inbox / "2.b.host").write_bytes(customer_mail(message_id="same@acme.test"))  # delivered twice
    (inbox / "3.c.host").write_bytes(customer_mail(sender="stranger@nowhere.test", message_id="x@nowhere.test"))
    run_once(app)
    assert value(app, "mailbot_messages_handled_total", outcome="case_opened", rule="open_case") == 1
    # Seen in new/ once: run --once's sweep of cur/ skips the files this run moved there itself.
    assert value(app, "mailbot_messages_handled_total", outcome="duplicate", rule="known_message") == 1
    assert value(app, "mailbot_messages_handled_total", outcome="refused", rule="unknown_sender") == 1
    assert value(app, "mailbot_handling_latency_seconds_count") == 2  # duplicates are not handled again
    assert value(app, "mailbot_delivery_attempts_total", result="sent") == 2


def test_database_facts_count_what_waits(tmp_path: Path, sqlite_url: str) -> None:
    inbox = tmp_path / "in" / "new"
    inbox.mkdir(parents=True)
    dead_smtp = {"kind": "smtp", "host": "127.0.0.1", "port": 9, "tls": "none"}
    clock = FixedClock(datetime.now().astimezone())
    app = prepared_app(write_config(tmp_path, db_url=sqlite_url, source={"kind": "maildir", "path": "in"},
                                    delivery=dead_smtp), clock)
    (inbox / "1.a.host").write_bytes(customer_mail(subject="[P1] caído"))
    run_once(app)
    clock.advance(timedelta(minutes=5))
    probe = DatabaseProbe(sqlite_url, clock)
    try:
        facts = probe.facts()
        assert probe.problems() == []
    finally:
        probe.dispose()
    assert facts.outbox == {"pending": 1, "sending": 0, "failed": 0}
    assert facts.oldest_pending_age_seconds == 300
    assert facts.quarantined == 0
    assert facts.open_cases == {("standard", "P1"): 1}
    assert value(app, "mailbot_delivery_attempts_total", result="unreachable") == 1
    deliver_once(app)
    assert value(app, "mailbot_delivery_attempts_total", result="unreachable") == 2


def test_a_missing_sqlite_file_is_unreachable_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "gone.db"
    probe = DatabaseProbe(f"sqlite:///{missing}", FixedClock(FRIDAY_17H))
    try:
        [problem] = probe.problems()
    finally:
        probe.dispose()
    assert problem == f"database unreachable: SQLite file {missing} does not exist"
    assert not missing.exists()
