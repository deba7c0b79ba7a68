"""Cost of the parse stage per message and of composing one reply (template, headers, MIME bytes).

    .venv/bin/python -m benchmarks.parse

Prints microseconds (best of several rounds: the machine is shared, so timings are noisy) and Python function
calls per item, counted with cProfile: the call count is deterministic and is the figure to compare.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TypeVar

from mailbot.config import SupportSettings
from mailbot.domain.decisions import ReplyKind, Situation
from mailbot.domain.directory import ContractTerm, SenderStanding
from mailbot.domain.messages import InboundMessage
from mailbot.outbound.replies import ReplyComposer
from mailbot.outbound.templates import TemplateRenderer
from mailbot.parsing import parse_message
from tests.support.mailgen import customer_mail

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "mail"
GENERATED_COUNT = 1000
REPLY_COUNT = 500
ROUNDS = 5
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
SUPPORT = SupportSettings(address="support@example.test", display_name="ACME Soporte", case_prefix="LC")
Item = TypeVar("Item")


class FakeCase:
    """What an acknowledgment says about its case."""

    def __init__(self, number: str) -> None:
        self.number = number
        self.priority, self.ticket_type = "high", "incident"
        self.first_response_due = self.resolution_due = self.replacement_due = None
        self.warranty_option, self.warranty_ends_on = None, None


def generated_mail(n: int) -> bytes:
    """The mix benchmarks/ingest.py feeds the bot (without importing its server fixtures)."""
    senders = ("ana@acme.test", "pedro@acme.test", "john@globex.test", "luis@oldco.test", "stranger@else.test")
    headers = {"Auto-Submitted": "auto-replied"} if n % 10 == 7 else {}
    attachment = ("log.txt", "text/plain", b"line of log\n" * 2000) if n % 4 == 0 else None
    return customer_mail(sender=senders[n % len(senders)], subject=f"Incidencia número {n}", headers=headers,
                         attachment=attachment, body="Buenos días:\n\nEl sistema no arranca tras la actualización.\n" * 5)


def corpus_mail() -> list[bytes]:
    return [path.read_bytes() for path in sorted(CORPUS.rglob("*.eml"))]


def parse(raw: bytes) -> InboundMessage:
    return parse_message(raw, max_stored_attachment_bytes=10 * 1024 * 1024)


def best_microseconds(work: Callable[[Item], object], items: Sequence[Item]) -> float:
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for item in items:
            work(item)
        timings.append(time.perf_counter() - started)
    return min(timings) / len(items) * 1e6


def calls_per_item(work: Callable[[Item], object], items: Sequence[Item]) -> float:
    profile = cProfile.Profile()
    profile.enable()
    for item in items:
        work(item)
    profile.disable()
    return pstats.Stats(profile).total_calls / len(items)  # type: ignore[attr-defined]


def report(label: str, work: Callable[[Item], object], items: Sequence[Item]) -> None:
    work(items[0])  # imports, template compilation and caches happen once, outside the figures
    print(f"{label:<34} {best_microseconds(work, items):8.0f} µs  {calls_per_item(work, items):8.0f} calls"
          f"  ({len(items)} items, best of {ROUNDS})")


def reply_situations() -> list[tuple[ReplyKind, Situation, FakeCase | None]]:
    standing = {language: SenderStanding(1, "ana@acme.test", "Ana García", 1, "acme", "ACME S.A.", "standard", language,
                                         "America/Bogota", (ContractTerm("C", date(2025, 1, 1), date(2026, 12, 31)),))
                for language in ("es", "en")}
    situations: list[tuple[ReplyKind, Situation, FakeCase | None]] = []
    for n in range(REPLY_COUNT):
        language = ("es", "en")[n % 2]
        raw = customer_mail(subject=f"Falla la instalación número {n}", references=(f"m{n}@acme.test",))
        situation = Situation(parse(raw), standing[language], None, 0, NOW)
        if n % 5 == 4:
            situations.append((ReplyKind.UNKNOWN_SENDER, situation, None))
        else:
            situations.append((ReplyKind.ACKNOWLEDGMENT, situation, FakeCase(f"LC-2026-{n:05d}")))
    return situations


def main() -> None:
    report("parse: tests/mail corpus", parse, corpus_mail())
    report("parse: generated (ingest mix)", parse, [generated_mail(n) for n in range(GENERATED_COUNT)])
    composer = ReplyComposer(SUPPORT, TemplateRenderer())
    report("compose: reply (render + MIME)", lambda item: composer.reply(*item), reply_situations())


if __name__ == "__main__":
    main()
