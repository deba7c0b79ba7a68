"""The pure parts of health and metrics: listen addresses, the readiness rules, the endpoints, the registry."""

from __future__ import annotations

from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailbot.config import ConfigError, ImapSource, MaildirSource, load_settings, split_listen_address
from mailbot.db.probe import DatabaseFacts
from mailbot.runtime.health import Endpoints
from mailbot.runtime.metrics import DatabaseGauges, Metrics
from mailbot.runtime.readiness import MailboxWatch, Readiness, longest_quiet_seconds
from tests.unit.test_config import MINIMAL

CONFIG = MINIMAL + '[health]\nlisten = "{listen}"\n'


@pytest.mark.parametrize(("value", "address"), [
    ("127.0.0.1:9464", ("127.0.0.1", 9464)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:9464", ("::1", 9464)),
    (" localhost:65535 ", ("localhost", 65535)),
])
def test_listen_addresses(value: str, address: tuple[str, int]) -> None:
    assert split_listen_address(value) == address


@pytest.mark.parametrize(("value", "problem"), [
    ("9464", "must be HOST:PORT such as 127.0.0.1:9464"), (":9464", "must be HOST:PORT"),
    ("::1:9464", "IPv6 in brackets"), ("[::1]", "must be HOST:PORT"), ("host:0", "port must be a number from 1 to 65535"),
    ("host:http", "not 'http'"), ("host:70000", "port must be a number"),
])
def test_bad_listen_addresses_name_the_key_and_the_problem(tmp_path: Path, value: str, problem: str) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG.format(listen=value))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    [reported] = caught.value.problems
    assert reported.startswith(f"{path}: health.listen: ") and problem in reported


def test_health_is_on_by_default_on_the_loopback(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_text(MINIMAL)
    health = load_settings(path).health
    assert (health.enabled, health.address, health.ready_margin_seconds) == (True, ("127.0.0.1", 9464), 60)


def test_the_longest_quiet_time_is_the_idle_renewal_or_the_poll_interval_capped_by_the_sweep() -> None:
    imap = {"host": "mail.test", "user": "u"}
    assert longest_quiet_seconds(ImapSource(**imap, idle_renew_seconds=1500, sweep_interval_seconds=600)) == 600
    assert longest_quiet_seconds(ImapSource(**imap, idle_renew_seconds=300)) == 300
    assert longest_quiet_seconds(ImapSource(**imap, idle=False, poll_interval_seconds=60)) == 60
    assert longest_quiet_seconds(MaildirSource(path=Path("in"), poll_interval_seconds=5)) == 5


def test_not_ready_until_the_mailbox_was_read() -> None:
    watch = MailboxWatch(quiet_seconds=600, margin_seconds=60, started_at=1000)
    assert watch.problem(1003) == "mailbox not read yet (3 s since start)"
    watch.read(1004)
    assert watch.problem(1005) is None


def test_a_quiet_idle_does_not_flap_but_a_silent_loop_is_reported() -> None:
    watch = MailboxWatch(quiet_seconds=600, margin_seconds=60, started_at=0)
    watch.read(100)
    assert watch.problem(100 + 600 + 60) is None  # a whole IDLE renewal without mail is normal
    assert watch.problem(100 + 661) == "mailbox not read for 661 s (allowed 660 s: longest wait + margin)"


def test_a_failure_is_reported_once_it_outlasts_the_margin_and_cleared_by_a_read() -> None:
    watch = MailboxWatch(quiet_seconds=600, margin_seconds=60, started_at=0)
    watch.read(100)
    watch.failed(110, ConnectionError("IMAP mail.test:993: connection refused\nmore"))
    watch.failed(115, ConnectionError("IMAP mail.test:993: connection refused"))  # the outage began at 110
    assert watch.problem(150) is None  # a server restart of a few seconds is not worth a page
    assert watch.problem(200) == "mailbox rounds failing for 90 s: IMAP mail.test:993: connection refused"
    watch.read(201)
    assert watch.problem(202) is None


def test_readiness_lists_every_reason() -> None:
    watch = MailboxWatch(quiet_seconds=5, margin_seconds=1, started_at=0)
    readiness = Readiness(watch, lambda: ["database unreachable: connection refused"], now=lambda: 2.0)
    assert readiness.problems() == ["mailbox not read yet (2 s since start)", "database unreachable: connection refused"]


def test_endpoints_answer_alive_ready_metrics_and_not_found() -> None:
    problems: list[str] = []
    endpoints = Endpoints(lambda: problems, lambda: (b"mailbot_x 1\n", "text/plain; version=0.0.4"))
    assert (endpoints.respond("/healthz").status, endpoints.respond("/healthz").body) == (200, b"ok\n")
    assert (endpoints.respond("/readyz/").status, endpoints.respond("/readyz?verbose").body) == (200, b"ready\n")
    problems += ["mailbox not read for 700 s", "database unreachable: gone"]
    not_ready = endpoints.respond("/readyz")
    assert (not_ready.status, not_ready.body) == (503, b"mailbox not read for 700 s\ndatabase unreachable: gone\n")
    metrics = endpoints.respond("/metrics")
    assert (metrics.status, metrics.content_type, metrics.body) == (200, "text/plain; version=0.0.4", b"mailbot_x 1\n")
    assert endpoints.respond("/").status == 404


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = metrics.exposition()[0].decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def test_each_metrics_has_its_own_registry_never_the_global_one() -> None:
    first, second = Metrics(), Metrics()
    first.message_handled("case_opened", "open_case", 2.5)
    first.message_handled("ignored", "auto_reply", -3)  # a server clock ahead of ours
    assert samples(first)[("mailbot_messages_handled_total", (("outcome", "case_opened"), ("rule", "open_case")))] == 1
    assert samples(first)[("mailbot_handling_latency_seconds_sum", ())] == 2.5
    assert ("mailbot_messages_handled_total", (("outcome", "case_opened"), ("rule", "open_case"))) not in samples(second)
    assert prometheus_client.REGISTRY.get_sample_value("mailbot_messages_handled_total",
                                                      {"outcome": "case_opened", "rule": "open_case"}) is None


def test_a_database_that_does_not_answer_gives_database_up_0_and_no_other_gauge() -> None:
    def unreachable() -> DatabaseFacts:
        raise ConnectionRefusedError("connection refused")

    metrics = Metrics()
    metrics.add_collector(DatabaseGauges(unreachable))
    found = samples(metrics)
    assert found[("mailbot_database_up", ())] == 0
    assert not [name for name, _labels in found if name.startswith(("mailbot_outbox", "mailbot_open_cases"))]


def test_database_facts_become_gauges() -> None:
    facts = DatabaseFacts(outbox={"pending": 2, "sending": 1, "failed": 3}, oldest_pending_age_seconds=42.0,
                          quarantined=4, open_cases={("gold", "P1"): 5, ("basic", "none"): 6})
    metrics = Metrics()
    metrics.add_collector(DatabaseGauges(lambda: facts))
    found = samples(metrics)
    assert found[("mailbot_database_up", ())] == 1
    assert found[("mailbot_outbox_messages", (("status", "failed"),))] == 3
    assert found[("mailbot_outbox_oldest_pending_age_seconds", ())] == 42
    assert found[("mailbot_quarantine_messages", ())] == 4
    assert found[("mailbot_open_cases", (("plan", "basic"), ("priority", "none")))] == 6
