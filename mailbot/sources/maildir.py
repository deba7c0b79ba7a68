"""A local Maildir as the mailbox: for trying the bot and for dry runs, no server needed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from mailbot.db.checkpoints import Position
from mailbot.sources.base import FetchedMail, SourceUnavailable

HANDLED_INFO = ":2,S"
RecordedCheck = Callable[[str, str], bool]  # (source key, source_ref) -> already recorded in the database?


def unique_name(filename: str) -> str:
    """The Maildir file's stable part: the name without its ":2,FLAGS" info suffix."""
    return filename.split(":", 1)[0]


class MaildirSource:
    """Reads new/ (and, on a sweep, cur/ for anything another client moved there); handled mail goes to cur/."""

    def __init__(self, path: Path, poll_interval: float, is_recorded: RecordedCheck, max_message_bytes: int) -> None:
        self._path = path
        self._max_message_bytes = max_message_bytes
        self._poll_interval = poll_interval
        self._is_recorded = is_recorded
        self._files: dict[str, Path] = {}  # source_ref -> the file it was read from

    @property
    def key(self) -> str:
        return f"maildir:{self._path.resolve()}"

    def refresh(self) -> int:
        try:
            for folder in ("tmp", "new", "cur"):
                (self._path / folder).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SourceUnavailable(f"Maildir {self._path}: {error}") from error
        return 0

    def new_mail(self, position: Position) -> Iterator[FetchedMail]:
        yield from self._read_folder("new", skip_recorded=False)

    def sweep(self, position: Position) -> Iterator[FetchedMail]:
        # Mail a mail client moved to cur/ before we saw it must still be handled; what we recorded is skipped.
        yield from self._read_folder("cur", skip_recorded=True)

    def _read_folder(self, folder: str, *, skip_recorded: bool) -> Iterator[FetchedMail]:
        directory = self._path / folder
        try:
            entries = sorted(directory.iterdir(), key=_arrival_order)
        except OSError as error:
            raise SourceUnavailable(f"Maildir {directory}: {error}") from error
        for entry in entries:
            if entry.name.startswith("."):
                continue
            source_ref = unique_name(entry.name)
            if skip_recorded and self._is_recorded(self.key, source_ref):
                continue  # checked before reading: cur/ holds the whole history
            try:
                status = entry.stat()
                size = status.st_size
                raw = entry.read_bytes() if size <= self._max_message_bytes else _headers_of(entry)
            except (FileNotFoundError, IsADirectoryError):
                continue  # another worker took it meanwhile
            except OSError as error:
                raise SourceUnavailable(f"Maildir {entry}: {error}") from error
            self._files[source_ref] = entry
            oversize = size if size > self._max_message_bytes else 0
            # The file was written when the mail was delivered: its time is the message's arrival.
            yield FetchedMail(source_ref=source_ref, uidvalidity=0, uid=0, raw=raw, oversize=oversize,
                              arrived_at=datetime.fromtimestamp(status.st_mtime, timezone.utc))

    def mark_handled(self, mails: Sequence[FetchedMail]) -> None:
        for mail in mails:
            source = self._files.pop(mail.source_ref, None)
            if source is None or source.parent.name != "new":
                continue  # found in cur/ by a sweep: leave the client's flags alone
            try:
                os.replace(source, self._path / "cur" / (mail.source_ref + HANDLED_INFO))
            except FileNotFoundError:
                continue  # moved by another worker
            except OSError as error:
                raise SourceUnavailable(f"Maildir {source}: cannot move to cur/: {error}") from error

    def fetch_again(self, source_ref: str) -> FetchedMail | None:
        """A Maildir file is always read whole, so no entry of ours needs its mail fetched again."""
        return None

    def wait_for_mail(self, timeout: float, wake: threading.Event) -> None:
        wake.wait(min(timeout, self._poll_interval))

    def close(self) -> None:
        return None


def _headers_of(entry: Path, limit: int = 256_000) -> bytes:
    with entry.open("rb") as handle:
        head = handle.read(limit)
    for separator in (b"\r\n\r\n", b"\n\n"):
        if separator in head:
            return head.split(separator, 1)[0] + separator
    return head


def _arrival_order(entry: Path) -> tuple[float, str]:
    try:
        return (entry.stat().st_mtime, entry.name)
    except FileNotFoundError:
        return (0.0, entry.name)
