"""Health and metrics of a running `mailbot run`, asked over real HTTP, against real Dovecot, SMTP and databases."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import run_cli, start_service, stop_service, wait_until
from tests.support.dovecot import DovecotServer, free_port
from tests.support.mailgen import customer_mail
from tests.support.postgres import pg_base_url
from tests.support.smtp_sink import SmtpSink


def get(port: int, path: str) -> tuple[int, str]:
    """A real HTTP GET; 4xx/5xx answers are returned, not raised."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def is_answering(port: int, path: str, status: int) -> bool:
    try:
        return get(port, path)[0] == status
    except OSError:
        return False


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    status, body = get(port, "/metrics")
    assert status == 200, body
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def prepared(tmp_path: Path, db_url: str, dovecot: DovecotServer, user: str, sink: SmtpSink, **health: object) -> Path:
    config = write_config(tmp_path, db_url=db_url, delivery=smtp_delivery(sink),
                          source=imap_source(dovecot, user, tmp_path, poll_interval_seconds=60),
                          health={"listen": f"127.0.0.1:{health.pop('port')}", "ready_margin_seconds": 1, **health})
    run_cli(config, "db", "upgrade")
    run_cli(config, "directory", "import", str(tmp_path / "directory.toml"))
    return config


@contextmanager
def running(config: Path, log: Path) -> Iterator[Popen[bytes]]:
    service = start_service(config, log)
    try:
        yield service
    finally:
        assert stop_service(service) == 0, log.read_text()


def test_ready_after_the_first_round_and_metrics_after_mail(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer,
                                                            mailbox_user: str, smtp_sink: SmtpSink) -> None:
    port = free_port()
    config = prepared(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, port=port)
    log = tmp_path / "service.log"
    started = time.time()
    with running(config, log):
        wait_until(lambda: is_answering(port, "/healthz", 200), 20, what="/healthz")
        # /healthz answers before the start-up finishes: wait for its log line before comparing the order.
        wait_until(lambda: "service started" in log.read_text(), 20, what="the service start")
        assert log.read_text().index("health endpoint listening") < log.read_text().index("service started")
        wait_until(lambda: is_answering(port, "/readyz", 200), 20, what="/readyz to say ready")
        assert get(port, "/readyz") == (200, "ready\n")
        assert get(port, "/nothing-here")[0] == 404

        dovecot.append(mailbox_user, customer_mail(subject="[P2] La réplica no sincroniza"))
        smtp_sink.wait_for(1, timeout=15)
        wait_until(lambda: samples(port).get(("mailbot_delivery_attempts_total", (("result", "sent"),))) == 1, 10,
                   what="the acknowledgment's delivery to be counted")
        metrics = samples(port)
        assert get(port, "/readyz")[0] == 200  # IDLE after mail: still ready

    assert metrics[("mailbot_messages_handled_total", (("outcome", "case_opened"), ("rule", "open_case")))] == 1
    assert metrics[("mailbot_handling_latency_seconds_count", ())] == 1
    assert 0 <= metrics[("mailbot_handling_latency_seconds_sum", ())] < 15
    assert metrics[("mailbot_outbox_messages", (("status", "pending"),))] == 0
    assert metrics[("mailbot_outbox_messages", (("status", "failed"),))] == 0
    assert metrics[("mailbot_outbox_oldest_pending_age_seconds", ())] == 0
    assert metrics[("mailbot_quarantine_messages", ())] == 0
    assert metrics[("mailbot_open_cases", (("plan", "standard"), ("priority", "P2")))] == 1
    assert metrics[("mailbot_database_up", ())] == 1
    assert metrics[("mailbot_sla_escalations_sent_total", (("clock", "response"), ("kind", "breach")))] == 0
    assert metrics[("mailbot_mailbox_last_read_timestamp_seconds", ())] >= started
    assert ("process_cpu_seconds_total", ()) in metrics


def test_an_old_schema_makes_readyz_503_with_the_reason(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer,
                                                        mailbox_user: str, smtp_sink: SmtpSink) -> None:
    port = free_port()
    config = prepared(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, port=port)
    with running(config, tmp_path / "service.log"):
        wait_until(lambda: is_answering(port, "/readyz", 200), 20, what="/readyz to say ready")
        # What an older mailbot's database looks like to this one: another revision in alembic_version.
        engine = create_engine(sqlite_url, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'an_older_revision'"))
        engine.dispose()
        status, body = get(port, "/readyz")
    assert status == 503
    assert "database schema not current: it is at an_older_revision" in body and "mailbot db upgrade" in body


def test_a_dropped_database_makes_readyz_503_and_metrics_say_database_down(
        tmp_path: Path, pg_url: str, dovecot: DovecotServer, mailbox_user: str, smtp_sink: SmtpSink) -> None:
    port = free_port()
    config = prepared(tmp_path, pg_url, dovecot, mailbox_user, smtp_sink, port=port)
    with running(config, tmp_path / "service.log"):
        wait_until(lambda: is_answering(port, "/readyz", 200), 20, what="/readyz to say ready")
        drop_database(make_url(pg_url).database or "")
        status, body = get(port, "/readyz")
        metrics = samples(port)
        assert get(port, "/healthz") == (200, "ok\n")  # alive, only not ready
    assert status == 503
    assert "database unreachable:" in body and "does not exist" in body
    assert metrics[("mailbot_database_up", ())] == 0
    assert not any(name == "mailbot_outbox_messages" for name, _labels in metrics)


def test_health_disabled_serves_nothing(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer, mailbox_user: str,
                                        smtp_sink: SmtpSink) -> None:
    port = free_port()
    config = prepared(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, port=port, enabled=False)
    log = tmp_path / "service.log"
    with running(config, log):
        wait_until(lambda: b"service started" in log.read_bytes(), 20, what="the service to start")
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert "health endpoint" not in log.read_text()


def test_a_port_in_use_is_a_clear_start_up_error(tmp_path: Path, sqlite_url: str, dovecot: DovecotServer,
                                                 mailbox_user: str, smtp_sink: SmtpSink) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = prepared(tmp_path, sqlite_url, dovecot, mailbox_user, smtp_sink, port=port)
        result = run_cli(config, "run", check=False, timeout=30)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"health.listen: cannot listen on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "service started" not in result.stdout + result.stderr


def drop_database(name: str) -> None:
    admin = create_engine(pg_base_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
