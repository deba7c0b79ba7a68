"""What every mailbox source offers the ingest stage: new raw mail in order, and what to do once handled."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailbot.db.checkpoints import Position


class SourceUnavailable(Exception):
    """The mailbox cannot be reached right now (network, login, server); the runner retries with backoff."""


@dataclass(frozen=True, slots=True)
class FetchedMail:
    """One raw message as the source holds it. `uid` is 0 for sources without UIDs (Maildir)."""

    source_ref: str  # "uidvalidity:uid" for IMAP, the unique file name for Maildir
    uidvalidity: int
    uid: int
    raw: bytes  # the whole message, or only its headers when it is oversize
    oversize: int = 0  # the real size when the message was over the limit and not downloaded
    arrived_at: datetime | None = None  # when the mailbox got it (IMAP INTERNALDATE, the Maildir file's time)
    released_from: int | None = None  # a quarantine entry being handled again (`mailbot quarantine release`)
    unfetchable: str | None = None  # why the body could not be fetched; `raw` is then the server's answer


# Starts the quarantine error of a message whose body the server never sent: its entry holds the server's
# answer, not the mail, so releasing it fetches the mail again (MailSource.fetch_again).
UNFETCHABLE = "unfetchable: "


def is_unfetchable_entry(error: str) -> bool:
    return error.startswith(UNFETCHABLE)


class MailSource(Protocol):
    @property
    def key(self) -> str:
        """Stable name of the mailbox, e.g. "imap://support%40example.com@mail.example.com:993/INBOX"; the checkpoint's key."""
        ...

    def refresh(self) -> int:
        """Reconnect if needed, reselect the folder; returns the current UIDVALIDITY (0 without UIDs)."""
        ...

    def new_mail(self, position: Position) -> Iterator[FetchedMail]:
        """Mail after `position`, oldest first, fetched in batches."""
        ...

    def sweep(self, position: Position) -> Iterator[FetchedMail]:
        """Catch-up: redo post-processing of handled mail and yield mail a fast path could have missed."""
        ...

    def mark_handled(self, mails: Sequence[FetchedMail]) -> None:
        """After the commit: flag, move or leave the mail as configured. Idempotent."""
        ...

    def fetch_again(self, source_ref: str) -> FetchedMail | None:
        """The message `source_ref` names, fetched whole once more; None when it is no longer there."""
        ...

    def wait_for_mail(self, timeout: float, wake: threading.Event) -> None:
        """Block until new mail may be there, `wake` is set, or `timeout` seconds pass."""
        ...

    def close(self) -> None: ...
