"""A local Maildir as the mailbox: for trying the bot and for dry runs, no server needed."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from mailbot.db.checkpoints import Position
from mailbot.sources.base import FetchedMail, SourceUnavailable

HANDLED_INFO = ":2,S"
# In the Maildir's root, beside dovecot-uidlist and the like (not a dot-name: Maildir++ reads those as folders).
# Its mtime is the start of the last complete sweep of cur/, in the file system's own clock.
SWEPT_MARKER = "mailbot-swept"
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
        # cur/ names known handled: moved there by us, or seen by a complete sweep. Skipped without a stat.
        self._settled: set[str] = set()

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
        yield from self._read_folder("new")

    def sweep(self, position: Position) -> Iterator[FetchedMail]:
        """Mail a mail client moved to cur/ before we saw it; what a complete sweep already saw is not looked at again.

        A rename sets the file's ctime, so whatever entered cur/ since the last complete sweep began has a ctime at
        or after the marker's mtime (one clock: the file system's). Only those files are checked against the
        database; older ones cost a stat after a restart, and nothing but the listing within one process.
        """
        directory = self._path / "cur"
        started = self._start_marker()
        try:
            since = self._swept_since()
            names, changed = self._changed_since(directory, since)
            yield from self._read_entries(sorted(changed, key=_arrival_order), skip_recorded=True)
            self._settled = names
            os.replace(started, self._path / SWEPT_MARKER)  # keeps the mtime: the start of this sweep
        finally:
            started.unlink(missing_ok=True)  # a sweep cut short leaves the last complete one's marker

    def _start_marker(self) -> Path:
        marker = self._path / "tmp" / f"{SWEPT_MARKER}.{os.getpid()}.{uuid.uuid4().hex}"
        try:
            marker.touch()
        except OSError as error:
            raise SourceUnavailable(f"Maildir {marker.parent}: {error}") from error
        return marker

    def _swept_since(self) -> int | None:
        try:
            return (self._path / SWEPT_MARKER).stat().st_mtime_ns
        except FileNotFoundError:
            return None  # never swept completely: every file in cur/ is checked once
        except OSError as error:
            raise SourceUnavailable(f"Maildir {self._path}: {error}") from error

    def _changed_since(self, directory: Path, since: int | None) -> tuple[set[str], list[Path]]:
        """Every name in cur/, and the files that entered it since `since` and are not settled."""
        names: set[str] = set()
        changed: list[Path] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    names.add(entry.name)
                    if entry.name in self._settled or entry.name.startswith(".") or not self._is_newer(entry, since):
                        continue
                    changed.append(directory / entry.name)
        except OSError as error:
            raise SourceUnavailable(f"Maildir {directory}: {error}") from error
        return names, changed

    @staticmethod
    def _is_newer(entry: os.DirEntry[str], since: int | None) -> bool:
        """Renamed or written into cur/ at or after `since`: the last complete sweep began before it arrived."""
        if since is None:
            return True
        try:
            return entry.stat(follow_symlinks=False).st_ctime_ns >= since
        except FileNotFoundError:
            return False  # another worker or the client took it meanwhile

    @staticmethod
    def _listing(directory: Path) -> list[str]:
        try:
            return os.listdir(directory)
        except OSError as error:
            raise SourceUnavailable(f"Maildir {directory}: {error}") from error

    def _read_folder(self, folder: str) -> Iterator[FetchedMail]:
        directory = self._path / folder
        names = self._listing(directory)
        yield from self._read_entries(sorted((directory / name for name in names if not name.startswith(".")),
                                             key=_arrival_order), skip_recorded=False)

    def _read_entries(self, entries: list[Path], *, skip_recorded: bool) -> Iterator[FetchedMail]:
        for entry in entries:
            source_ref = unique_name(entry.name)
            if skip_recorded and self._is_recorded(self.key, source_ref):
                continue  # checked before reading, as late as possible: another worker may have handled it
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
            handled_name = mail.source_ref + HANDLED_INFO
            try:
                os.replace(source, self._path / "cur" / handled_name)
                self._settled.add(handled_name)
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
