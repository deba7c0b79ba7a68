"""Prometheus metrics of one mailbot process, in a registry of its own (never prometheus_client's global one).

Counters and the latency histogram are updated where things happen (intake, delivery, SLA escalation); facts that
live in the database (outbox, quarantine, open cases) are read at scrape time by `DatabaseGauges`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mailbot.db.probe import DatabaseFacts

log = logging.getLogger(__name__)
# Arrival -> reply queued: a second in IDLE, a poll interval when polling, hours after an outage.
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
DELIVERY_RESULTS = ("sent", "retry", "failed", "postponed", "unreachable", "refused")
SLA_CLOCKS = ("response", "resolution", "replacement")
SLA_KINDS = ("warning", "breach")


class Metrics:
    """What `mailbot run` counts; a fresh instance per App, so tests and `run --once` never share state."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._handled = Counter("mailbot_messages_handled", "Messages handled, by outcome and the rule that decided",
                                ["outcome", "rule"], registry=self.registry)
        self._latency = Histogram("mailbot_handling_latency_seconds",
                                  "From a message's arrival in the mailbox to the commit that queues its reply",
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self._attempts = Counter("mailbot_delivery_attempts", "Outbox delivery attempts, by result",
                                 ["result"], registry=self.registry)
        self._escalations = Counter("mailbot_sla_escalations_sent",
                                    "SLA escalation notices sent: warnings before the target, breaches after it",
                                    ["clock", "kind"], registry=self.registry)
        self._last_read = Gauge("mailbot_mailbox_last_read_timestamp_seconds",
                                "Unix time of the last round that read the mailbox successfully", registry=self.registry)
        # Series that exist from the start, at 0: `increase()` and alerts then see the first event too.
        for result in DELIVERY_RESULTS:
            self._attempts.labels(result)
        for clock in SLA_CLOCKS:
            for kind in SLA_KINDS:
                self._escalations.labels(clock, kind)

    def message_handled(self, outcome: str, rule: str, latency_seconds: float | None) -> None:
        self._handled.labels(outcome, rule).inc()
        if latency_seconds is not None:
            self._latency.observe(max(latency_seconds, 0.0))  # a server clock ahead of ours is not negative time

    def delivery_attempt(self, result: str) -> None:
        self._attempts.labels(result).inc()

    def escalation_sent(self, clock: str, breached: bool) -> None:
        self._escalations.labels(clock, "breach" if breached else "warning").inc()

    def mailbox_read(self, at: float) -> None:
        self._last_read.set(at)

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format of everything registered, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class DatabaseGauges(Collector):
    """Gauges read from the database at scrape time; a database that does not answer gives mailbot_database_up 0."""

    def __init__(self, read_facts: Callable[[], DatabaseFacts]) -> None:
        self._read_facts = read_facts

    def describe(self) -> Iterable[Metric]:
        return ()  # nothing at registration: collect() reaches the database, which must not happen then

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mailbot_database_up", "1 when the database answered this scrape, else 0")
        try:
            facts = self._read_facts()
        except Exception as error:  # noqa: BLE001 - a scrape must still answer when the database is down
            log.debug("database gauges unavailable", extra={"fields": {"error": str(error).splitlines()[0]}})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from facts_as_metrics(facts)


def facts_as_metrics(facts: DatabaseFacts) -> Iterator[Metric]:
    outbox = GaugeMetricFamily("mailbot_outbox_messages", "Outbox messages not yet sent, by status "
                               "(pending: waiting for an attempt; sending: being sent; failed: given up)",
                               labels=["status"])
    for status, count in sorted(facts.outbox.items()):
        outbox.add_metric([status], count)
    yield outbox
    yield GaugeMetricFamily("mailbot_outbox_oldest_pending_age_seconds",
                            "How long the oldest pending or sending outbox message has waited (0 when none)",
                            value=facts.oldest_pending_age_seconds)
    yield GaugeMetricFamily("mailbot_quarantine_messages", "Quarantined messages not released",
                            value=facts.quarantined)
    cases = GaugeMetricFamily("mailbot_open_cases", "Cases not closed (open or waiting on the customer), "
                              "by plan and priority", labels=["plan", "priority"])
    for (plan, priority), count in sorted(facts.open_cases.items()):
        cases.add_metric([plan, priority], count)
    yield cases
