"""The support mailbox over IMAP: UID-based fetching, IDLE with a polling fallback, post-processing."""

from __future__ import annotations

import ast
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.config import ImapSource as ImapSettings
from mailbot.db.checkpoints import Position
from mailbot.errors import FolderMissing, LoginRefused, decoded
from mailbot.sources.base import FetchedMail, SourceUnavailable

log = logging.getLogger(__name__)
SEEN = b"\\Seen"
BATCH_BYTES = 20_000_000  # bound on memory held by one fetch
SIZE_QUERY_CHUNK = 1000
IDLE_CHECK_SECONDS = 1.0  # how often an IDLE wait looks at the stop/wake flag
NETWORK_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, EOFError)


class ImapMailSource:
    def __init__(self, settings: ImapSettings, password: str, max_message_bytes: int) -> None:
        self._settings = settings
        self._max_message_bytes = max_message_bytes
        self._password = password
        self._client: IMAPClient | None = None
        self._uidvalidity = 0
        self._highest_uid = 0  # highest UID a search has shown: mail above it is new

    @property
    def key(self) -> str:
        s = self._settings
        return f"imap://{s.user}@{s.host}:{s.effective_port}/{s.folder}"

    # -- connection ---------------------------------------------------------------------------------

    def refresh(self) -> int:
        try:
            client = self._client or self._connect()
            selected = client.select_folder(self._settings.folder)
        except NETWORK_ERRORS as error:
            self._drop_connection()
            raise SourceUnavailable(f"IMAP {self.key}: {error}") from error
        uidvalidity = int(selected[b"UIDVALIDITY"])
        if uidvalidity != self._uidvalidity:
            self._uidvalidity, self._highest_uid = uidvalidity, 0
        return uidvalidity

    def _connect(self) -> IMAPClient:
        s = self._settings
        context = s.ssl_context()
        client = IMAPClient(
            s.host, port=s.effective_port, ssl=s.tls == "implicit", ssl_context=context, timeout=s.timeout_seconds
        )
        try:
            if s.tls == "starttls":
                client.starttls(context)
            client.login(s.user, self._password)
        except Exception:
            _quietly_logout(client)
            raise
        self._client = client
        log.info("imap connected", extra={"fields": {"source": self.key, "idle": self._supports_idle()}})
        return client

    def _drop_connection(self) -> None:
        if self._client is not None:
            _quietly_logout(self._client)
        self._client = None

    def _connected(self) -> IMAPClient:
        if self._client is None:
            raise SourceUnavailable(f"IMAP {self.key}: not connected")
        return self._client

    def close(self) -> None:
        self._drop_connection()

    def probe(self) -> "MailboxProbe":
        """Log in as the service does, EXAMINE the folder (read-only: no flag changes) and log out.

        Raises LoginRefused or FolderMissing; network and TLS errors come through as they are.
        """
        try:
            client = self._client or self._connect()
        except LoginError as error:
            raise LoginRefused(f"IMAP {self._settings.host}:{self._settings.effective_port}", _server_words(error)) from error
        try:
            return self._examine(client)
        finally:
            self.close()

    def _examine(self, client: IMAPClient) -> "MailboxProbe":
        folder = self._settings.folder
        try:
            selected = client.select_folder(folder, readonly=True)
        except IMAPClientError as error:
            existing = tuple(sorted(str(name) for _flags, _separator, name in client.list_folders()))
            raise FolderMissing(f"IMAP {self._settings.host}", folder, existing, _server_words(error)) from error
        return MailboxProbe(
            folder=folder,
            uidvalidity=int(selected[b"UIDVALIDITY"]),
            messages=int(selected[b"EXISTS"]),
            idle_offered=client.has_capability("IDLE"),
        )

    # -- reading ------------------------------------------------------------------------------------

    def new_mail(self, position: Position) -> Iterator[FetchedMail]:
        last_uid = position.last_uid if position.uidvalidity == self._uidvalidity else 0
        found = self._call(lambda c: c.search(["UID", f"{last_uid + 1}:*"]))
        self._highest_uid = max([self._highest_uid, *found])
        uids = [uid for uid in found if uid > last_uid]
        for batch in self._batches(uids):
            if isinstance(batch, Oversize):
                yield self._headers_only(batch)
                continue
            fetched = self._call(lambda c: c.fetch(batch, ["BODY.PEEK[]"]))
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    continue  # expunged between SEARCH and FETCH
                yield FetchedMail(f"{self._uidvalidity}:{uid}", self._uidvalidity, uid, bytes(raw))

    def _headers_only(self, oversize: "Oversize") -> FetchedMail:
        fetched = self._call(lambda c: c.fetch([oversize.uid], ["BODY.PEEK[HEADER]"]))
        headers = bytes(fetched.get(oversize.uid, {}).get(b"BODY[HEADER]", b""))
        return FetchedMail(f"{self._uidvalidity}:{oversize.uid}", self._uidvalidity, oversize.uid, headers, oversize.size)

    def _batches(self, uids: list[int]) -> Iterator["list[int] | Oversize"]:
        """Batches of at most fetch_batch_size messages and about BATCH_BYTES: a few huge mails stay alone."""
        ordered = sorted(uids)
        for start in range(0, len(ordered), SIZE_QUERY_CHUNK):
            chunk = ordered[start:start + SIZE_QUERY_CHUNK]
            sizes = self._call(lambda c: c.fetch(chunk, ["RFC822.SIZE"]))
            batch: list[int] = []
            batch_bytes = 0
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if size > self._max_message_bytes:
                    if batch:
                        yield batch
                        batch, batch_bytes = [], 0
                    yield Oversize(uid, size)
                    continue
                if batch and (len(batch) >= self._settings.fetch_batch_size or batch_bytes + size > BATCH_BYTES):
                    yield batch
                    batch, batch_bytes = [], 0
                batch.append(uid)
                batch_bytes += size
            if batch:
                yield batch

    def sweep(self, position: Position) -> Iterator[FetchedMail]:
        """Redo the post-processing a crash may have skipped (commit done, flag/move not yet)."""
        if position.uidvalidity != self._uidvalidity or position.last_uid == 0:
            return iter(())
        mode = self._settings.after_processing
        if mode == "leave":
            return iter(())
        criteria: list[Any] = ["UID", f"1:{position.last_uid}"]
        if mode == "seen":
            criteria.append("UNSEEN")
        leftovers = [uid for uid in self._call(lambda c: c.search(criteria)) if uid <= position.last_uid]
        if leftovers:
            log.info("imap sweep", extra={"fields": {"source": self.key, "post_processed": len(leftovers)}})
            self._post_process(leftovers)
        return iter(())

    def mark_handled(self, mails: Sequence[FetchedMail]) -> None:
        uids = [mail.uid for mail in mails if mail.uidvalidity == self._uidvalidity and mail.uid > 0]
        if uids and self._settings.after_processing != "leave":
            self._post_process(uids)

    def _post_process(self, uids: list[int]) -> None:
        if self._settings.after_processing == "seen":
            self._call(lambda c: c.add_flags(uids, [SEEN], silent=True))
        elif self._settings.after_processing == "move":
            self._call(lambda c: self._move(c, uids))

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        target = self._settings.move_to
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        client.copy(uids, target)
        client.delete_messages(uids, silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        # Without UIDPLUS an EXPUNGE would also remove what people flagged \\Deleted: leave ours flagged.

    # -- waiting ------------------------------------------------------------------------------------

    def wait_for_mail(self, timeout: float, wake: threading.Event) -> None:
        if not (self._settings.idle and self._client is not None and self._supports_idle()):
            wake.wait(min(timeout, self._settings.poll_interval_seconds))
            return
        self._idle(min(timeout, self._settings.idle_renew_seconds), wake)

    def _idle(self, timeout: float, wake: threading.Event) -> None:
        client = self._connected()
        deadline = time.monotonic() + timeout
        try:
            # Untagged EXISTS sent during earlier commands is swallowed by the client library,
            # so look explicitly for mail above what we have seen before going idle.
            if self._mail_above_highest_uid(client):
                return
            client.idle()
            try:
                while not wake.is_set() and time.monotonic() < deadline:
                    if _announces_new_mail(client.idle_check(timeout=IDLE_CHECK_SECONDS)):
                        return
            finally:
                client.idle_done()
        except NETWORK_ERRORS as error:
            self._drop_connection()
            raise SourceUnavailable(f"IMAP {self.key}: IDLE failed: {error}") from error

    def _mail_above_highest_uid(self, client: IMAPClient) -> bool:
        return any(uid > self._highest_uid for uid in client.search(["UID", f"{self._highest_uid + 1}:*"]))

    def _supports_idle(self) -> bool:
        return self._client is not None and self._client.has_capability("IDLE")

    def _call(self, operation: Any) -> Any:
        client = self._connected()
        try:
            return operation(client)
        except NETWORK_ERRORS as error:
            self._drop_connection()
            raise SourceUnavailable(f"IMAP {self.key}: {error}") from error


@dataclass(frozen=True, slots=True)
class MailboxProbe:
    """What a read-only look at the mailbox found (`check-config --connect`)."""

    folder: str
    uidvalidity: int
    messages: int
    idle_offered: bool


def _server_words(error: Exception) -> str:
    """imapclient hands the server's reply over as the repr of bytes ("b'[AUTHENTICATIONFAILED] ...'"): unwrap it."""
    text = decoded(error)
    if len(text) >= 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        try:
            return decoded(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            return text
    return text


@dataclass(frozen=True, slots=True)
class Oversize:
    uid: int
    size: int


def _announces_new_mail(responses: Any) -> bool:
    for response in responses or ():
        if isinstance(response, tuple) and len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT"):
            return True
    return False


def _quietly_logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection is being thrown away anyway
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
