"""A local Maildir as the mailbox: for trying the bot and for dry runs, no server needed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
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

    def __init__(self, path: Path, poll_interval: float, is_recorded: RecordedCheck) -> None:
        self._path = path
        self._poll_interval = poll_interval
        self._is_recorded = is_recorded

    @property
    def key(self) -> str:
        return f"maildir:{self._path.resolve()}"

    def refresh(self) -> int:
        if not (self._path / "new").is_dir():
            raise SourceUnavailable(f"{self._path} is not a Maildir (no new/ folder)")
        return 0

    def new_mail(self, position: Position) -> Iterator[FetchedMail]:
        yield from self._read_folder("new")

    def sweep(self, position: Position) -> Iterator[FetchedMail]:
        # Mail a mail client moved to cur/ before we saw it must still be handled; what we recorded is skipped.
        for mail in self._read_folder("cur"):
            if not self._is_recorded(self.key, mail.source_ref):
                yield mail

    def _read_folder(self, folder: str) -> Iterator[FetchedMail]:
        directory = self._path / folder
        try:
            entries = sorted(directory.iterdir(), key=_arrival_order)
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                raw = entry.read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                continue  # another worker took it meanwhile
            yield FetchedMail(source_ref=unique_name(entry.name), uidvalidity=0, uid=0, raw=raw)

    def mark_handled(self, mails: Sequence[FetchedMail]) -> None:
        for mail in mails:
            source = self._path / "new" / mail.source_ref
            target = self._path / "cur" / (mail.source_ref + HANDLED_INFO)
            try:
                os.replace(source, target)
            except FileNotFoundError:
                continue  # already in cur/ (sweep) or moved by another worker

    def wait_for_mail(self, timeout: float, wake: threading.Event) -> None:
        wake.wait(min(timeout, self._poll_interval))

    def close(self) -> None:
        return None


def _arrival_order(entry: Path) -> tuple[float, str]:
    try:
        return (entry.stat().st_mtime, entry.name)
    except FileNotFoundError:
        return (0.0, entry.name)

