"""Connections that heal: `mailbot run` notices a dead IMAP session within seconds and reconnects, without spinning."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import skip_or_fail
from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import migrate_and_import, start_service, stop_service, wait_until
from tests.support.dovecot import DovecotServer, dovecot_available
from tests.support.mailgen import customer_mail
from tests.support.proxy import FreezingProxy
from tests.support.smtp_sink import SmtpSink

# A bound that only catches a bot that does not heal: the latency itself is measured by benchmarks/reconnect.py
# (median about 2 s), and tests run beside each other on two workers.
ACK_AFTER_RETURN_SECONDS = 30.0


@pytest.fixture
def own_dovecot() -> Iterator[DovecotServer]:
    """A Dovecot of this test's own: restarting the session's server would disturb other tests."""
    if not dovecot_available():
        skip_or_fail("dovecot not installed: apt-get install dovecot-imapd dovecot-lmtpd")
    with DovecotServer() as server:
        yield server


def started_service(tmp_path: Path, server: DovecotServer, user: str, sink: SmtpSink,
                    **source_overrides: object) -> tuple[object, Path]:
    config = write_config(tmp_path, db_url=f"sqlite:///{tmp_path}/bot.db", delivery=smtp_delivery(sink),
                          source=imap_source(server, user, tmp_path, poll_interval_seconds=60, **source_overrides))
    migrate_and_import(config)
    log = tmp_path / "service.log"
    service = start_service(config, log)
    wait_until(lambda: b"imap connected" in log.read_bytes(), 20, what="the service to connect")
    time.sleep(1.0)  # settled into IDLE
    return service, log


def connections(log: Path) -> int:
    return log.read_bytes().count(b"imap connected")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_restart_of_the_imap_server_is_survived(tmp_path: Path, own_dovecot: DovecotServer, smtp_sink: SmtpSink) -> None:
    user = own_dovecot.add_user("support-heal@example.test")
    service, log = started_service(tmp_path, own_dovecot, user, smtp_sink)
    reconnect_times: list[float] = []
    try:
        for round_number in range(1, 4):
            before = connections(log)
            own_dovecot.stop_process()
            cpu_before, down_at = cpu_seconds(service.pid), time.monotonic()  # type: ignore[attr-defined]
            time.sleep(3.0)
            cpu_while_down = cpu_seconds(service.pid) - cpu_before  # type: ignore[attr-defined]
            assert cpu_while_down < 0.3, f"{cpu_while_down:.2f} s of CPU in {time.monotonic() - down_at:.1f} s down"
            own_dovecot.start_process()
            back_at = time.monotonic()
            own_dovecot.append(user, customer_mail(message_id=f"heal-{round_number}@acme.test",
                                                   subject=f"Caído {round_number}"))
            smtp_sink.wait_for(round_number, timeout=ACK_AFTER_RETURN_SECONDS)
            reconnect_times.append(time.monotonic() - back_at)
            assert connections(log) == before + 1  # one new session, no reconnect storm
    finally:
        assert stop_service(service) == 0, log.read_text()
    text = log.read_text()
    assert "connection lost while idle" in text
    assert "reachable again" in text
    assert max(reconnect_times) < ACK_AFTER_RETURN_SECONDS, reconnect_times
    print(f"acknowledged after the server's return: median {statistics.median(reconnect_times):.2f} s, {reconnect_times}")


def test_a_kicked_session_is_replaced_at_once(tmp_path: Path, own_dovecot: DovecotServer, smtp_sink: SmtpSink) -> None:
    user = own_dovecot.add_user("support-kick@example.test")
    service, log = started_service(tmp_path, own_dovecot, user, smtp_sink)
    try:
        before = connections(log)
        own_dovecot.doveadm("kick", user)
        kicked_at = time.monotonic()
        wait_until(lambda: connections(log) == before + 1, ACK_AFTER_RETURN_SECONDS, what="a new IMAP session")
        own_dovecot.append(user, customer_mail(message_id="kicked@acme.test"))
        smtp_sink.wait_for(1, timeout=ACK_AFTER_RETURN_SECONDS)
        elapsed = time.monotonic() - kicked_at
    finally:
        assert stop_service(service) == 0, log.read_text()
    assert elapsed < ACK_AFTER_RETURN_SECONDS
    assert "connection lost while idle" in log.read_text()


def test_a_hung_connection_is_replaced_at_the_next_idle_renewal(tmp_path: Path, own_dovecot: DovecotServer,
                                                                smtp_sink: SmtpSink) -> None:
    """The server stops answering but the TCP connection stays open: re-issuing IDLE finds it dead."""
    user = own_dovecot.add_user("support-hung@example.test")
    with FreezingProxy(own_dovecot.host, own_dovecot.imap_port) as proxy:
        service, log = started_service(tmp_path, own_dovecot, user, smtp_sink, port=proxy.port,
                                       idle_renew_seconds=3, timeout_seconds=2)
        try:
            proxy.freeze()
            frozen_at = time.monotonic()
            own_dovecot.append(user, customer_mail(message_id="while-hung@acme.test"))
            smtp_sink.wait_for(1, timeout=15)
            noticed_after = time.monotonic() - frozen_at
        finally:
            assert stop_service(service) == 0, log.read_text()
    assert "connection lost while idle" in log.read_text()
    assert noticed_after < 3 + 2 + 5, f"{noticed_after:.1f} s"  # renewal + timeout + a reconnect


def test_mail_waits_out_an_smtp_restart_and_goes_soon_after(tmp_path: Path, dovecot: DovecotServer, mailbox_user: str,
                                                            smtp_sink: SmtpSink) -> None:
    service, log = started_service(tmp_path, dovecot, mailbox_user, smtp_sink)
    try:
        smtp_sink.restart_later(4.0)
        back_at = time.monotonic() + 4.0
        dovecot.append(mailbox_user, customer_mail(message_id="smtp-down@acme.test"))
        smtp_sink.wait_for(1, timeout=4.0 + ACK_AFTER_RETURN_SECONDS)
        late = time.monotonic() - back_at
    finally:
        assert stop_service(service) == 0, log.read_text()
    assert "delivery postponed: server unreachable" in log.read_text()
    assert late < ACK_AFTER_RETURN_SECONDS, f"delivered {late:.1f} s after the SMTP server came back"
