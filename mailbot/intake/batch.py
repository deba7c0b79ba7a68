"""A batch of fetched mail, made ready outside the transaction that handles it.

The batch is complete, and each of its messages parsed (or given the reason it goes to quarantine), before the
transaction opens: no transaction waits on the mail server or on the parser.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice

from mailbot.clock import Clock
from mailbot.config import LimitSettings
from mailbot.domain.messages import InboundMessage
from mailbot.parsing import UnparseableMessage, parse_message
from mailbot.sources.base import FetchedMail


@dataclass(frozen=True, slots=True)
class Prepared:
    """A fetched message made ready outside the transaction: parsed, or with the reason it goes to quarantine."""

    mail: FetchedMail
    message: InboundMessage | None
    problem: str | None = None


class BatchFailed(Exception):
    """A message of a batch tried without savepoints failed: the batch rolls back and is tried with them."""


def prepare(mail: FetchedMail, limits: LimitSettings, clock: Clock) -> Prepared:
    if mail.arrived_at is None:
        mail = replace(mail, arrived_at=clock.now())  # the source cannot tell: when it was fetched
    if mail.unfetchable:
        return Prepared(mail, None, mail.unfetchable)
    if mail.oversize:
        return Prepared(mail, None, f"message of {mail.oversize} bytes exceeds limits.max_message_bytes"
                                    f" ({limits.max_message_bytes}); only its headers were fetched")
    try:
        return Prepared(mail, parse_message(mail.raw, max_stored_attachment_bytes=limits.max_stored_attachment_bytes))
    except UnparseableMessage as error:
        return Prepared(mail, None, f"unparseable: {error}")


def batches(mails: Iterable[FetchedMail], size: int, stop: threading.Event) -> Iterator[list[FetchedMail]]:
    """Up to `size` messages at a time, as the source has them; none taken once `stop` is set."""
    mails = iter(mails)
    while not stop.is_set():
        batch = list(islice(mails, size))
        if not batch:
            return
        yield batch
