"""The support mailbox over IMAP: UID-based fetching, IDLE with a polling fallback, post-processing."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.auth.credentials import Credentials
from mailbot.clock import Clock, SystemClock
from mailbot.config import ImapSource as ImapSettings
from mailbot.db.checkpoints import Position
from mailbot.errors import FolderMissing, LoginRefused, ServerRefused, decoded
from mailbot.sources.base import UNFETCHABLE, FetchedMail, SourceUnavailable
from mailbot.sources.partition import WHOLE, Partition
from mailbot.keepalive import enable_keepalive

log = logging.getLogger(__name__)
SEEN = b"\\Seen"
BATCH_BYTES = 20_000_000  # bound on memory held by one fetch
SIZE_QUERY_CHUNK = 1000
IDLE_CHECK_SECONDS = 1.0  # how often an IDLE wait looks at the stop/wake flag
EOF_CHECKS = 3  # idle checks in a row that return at once with nothing: the connection is closed
NETWORK_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, EOFError)
# RFC 5530 response codes that mean "not with these credentials / not this folder": waiting will not help.
REFUSAL_CODES = ("AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "PRIVACYREQUIRED", "CONTACTADMIN",
                 "NOPERM", "NONEXISTENT")
# ... and those that mean the server is having trouble: try again later.
TEMPORARY_CODES = ("UNAVAILABLE", "INUSE", "SERVERBUG", "LIMIT")


class ConnectionLost(Exception):
    """The server ended the session (BYE, EOF) while we were idle."""


# Called once per UIDVALIDITY, before the first read: (mailbox key, this worker's share, UIDVALIDITY).
PrepareCheckpoint = Callable[[str, Partition, int], None]


class ImapMailSource:
    def __init__(self, settings: ImapSettings, credentials: Credentials, max_message_bytes: int,
                 clock: Clock | None = None, *, partition: Partition = WHOLE,
                 prepare_checkpoint: PrepareCheckpoint | None = None) -> None:
        self._settings = settings
        self._partition = partition
        self._prepare_checkpoint = prepare_checkpoint
        self._checkpoint_ready_for = 0  # the UIDVALIDITY prepare_checkpoint last succeeded for
        self._clock = clock or SystemClock()  # the token cache's time: renewal is due on the wall clock
        self._max_message_bytes = max_message_bytes
        self._credentials = credentials
        self._client: IMAPClient | None = None
        self._uidvalidity = 0
        self._highest_uid = 0  # highest UID a search has shown: mail above it is new

    @property
    def mailbox_key(self) -> str:
        s = self._settings
        # The user's own "@" is percent-encoded (RFC 3986 userinfo), as migration 0008 did to stored keys.
        return f"imap://{s.user.replace('@', '%40')}@{s.host}:{s.effective_port}/{s.folder}"

    @property
    def key(self) -> str:
        """The checkpoint's name: the mailbox's key, plus "#index/count" for one worker's share."""
        return self._partition.checkpoint_key(self.mailbox_key)

    # -- connection ---------------------------------------------------------------------------------

    @property
    def server(self) -> str:
        """How the operator knows this mailbox in messages (the key is a checkpoint name, not for reading)."""
        s = self._settings
        return f"IMAP {s.host}:{s.effective_port} ({s.user}, folder {s.folder})"

    def refresh(self) -> int:
        if self._login_is_due():
            log.info("imap login renewed before its token expires", extra={"fields": {"source": self.key}})
            self._drop_connection()
        try:
            client = self._client or self._connect()
            selected = client.select_folder(self._settings.folder)
        except ssl.SSLCertVerificationError as error:
            self._drop_connection()
            raise ServerRefused(self.server, f"certificate not trusted: {error.verify_message}",
                                "set source.tls_ca_file to the server's CA (or fix source.host)") from error
        except LoginError as error:
            self._drop_connection()
            raise self._login_problem(error) from error
        except NETWORK_ERRORS as error:
            self._drop_connection()
            if _is_missing_folder(error):
                folder = self._settings.folder
                raise FolderMissing(self.server, folder, reason=f"folder {folder!r} does not exist: {decoded(error)}",
                                    hint="set source.folder to an existing folder") from error
            raise SourceUnavailable(f"{self.server}: {_describe(error)}") from error
        uidvalidity = int(selected[b"UIDVALIDITY"])
        if uidvalidity != self._uidvalidity:
            self._uidvalidity, self._highest_uid = uidvalidity, 0
        if self._prepare_checkpoint is not None and uidvalidity != self._checkpoint_ready_for:
            self._prepare_checkpoint(self.mailbox_key, self._partition, uidvalidity)  # a database outage raises
            self._checkpoint_ready_for = uidvalidity
        return uidvalidity

    def _login_problem(self, error: LoginError) -> Exception:
        reason = decoded(error)
        if any(f"[{code}]" in reason for code in TEMPORARY_CODES):
            return SourceUnavailable(f"{self.server}: login failed for now: {reason}")
        return LoginRefused(self.server, f"login refused: {reason}",
                            "check source.user and the password (source.password_env or source.password_file)")

    def _connect(self) -> IMAPClient:
        s = self._settings
        context = s.ssl_context()
        client = IMAPClient(
            s.host, port=s.effective_port, ssl=s.tls == "implicit", ssl_context=context, timeout=s.timeout_seconds
        )
        enable_keepalive(client.socket())
        try:
            if s.tls == "starttls":
                client.starttls(context)
            self._credentials.login_imap(client)
        except Exception:
            _quietly_logout(client)
            raise
        self._client = client
        log.info("imap connected", extra={"fields": {"source": self.key, "idle": self._supports_idle()}})
        return client

    def login_expires_at(self) -> datetime | None:
        """When this connection's OAuth2 token is due for renewal: end IDLE and reconnect by then (None: never)."""
        return self._credentials.renew_by() if self._client is not None else None

    def _seconds_until_login_renewal(self) -> float | None:
        expires = self.login_expires_at()
        return None if expires is None else max((expires - self._clock.now()).total_seconds(), 0.0)

    def _login_is_due(self) -> bool:
        remaining = self._seconds_until_login_renewal()
        return remaining is not None and remaining <= 0

    def _drop_connection(self) -> None:
        if self._client is not None:
            _quietly_logout(self._client)
        self._client = None

    def _connected(self) -> IMAPClient:
        if self._client is None:
            raise SourceUnavailable(f"{self.server}: not connected")
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
            raise self._login_problem(error) from error
        try:
            return self._examine(client)
        finally:
            self.close()

    def _examine(self, client: IMAPClient) -> "MailboxProbe":
        folder = self._settings.folder
        try:
            selected = client.select_folder(folder, readonly=True)
        except IMAPClientError as error:
            if not _is_missing_folder(error):
                raise
            existing = tuple(sorted(str(name) for _flags, _separator, name in client.list_folders()))
            raise FolderMissing(self.server, folder, existing, f"folder {folder!r} does not exist: {decoded(error)}") from error
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
        self._highest_uid = max([self._highest_uid, *found])  # all of them: another share's mail is not new to us
        uids = [uid for uid in found if uid > last_uid and self._partition.owns(uid)]
        for batch in self._batches(uids):
            if isinstance(batch, Oversize):
                yield self._headers_only(batch)
                continue
            fetched = self._call(lambda c: c.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"]))
            for uid in batch:
                mail = self._fetched_mail(uid, fetched.get(uid, {})) or self._fetched_again(uid)
                if mail is not None:
                    yield mail

    def _fetched_mail(self, uid: int, answer: dict[bytes, Any]) -> FetchedMail | None:
        raw = answer.get(b"BODY[]")
        if raw is None:
            return None
        return FetchedMail(f"{self._uidvalidity}:{uid}", self._uidvalidity, uid, bytes(raw),
                           arrived_at=_as_utc(answer.get(b"INTERNALDATE")))

    def _fetched_again(self, uid: int) -> FetchedMail | None:
        """A FETCH answer without the body: fetch that UID alone; never skip a message that still exists.

        None only when the UID is gone (expunged between SEARCH and FETCH). When the server keeps answering
        without a body, the message goes to the quarantine with the server's answer instead of being passed over.
        """
        answer = self._call(lambda c: c.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE"])).get(uid, {})
        mail = self._fetched_mail(uid, answer)
        if mail is not None:
            return mail
        if uid not in self._call(lambda c: c.search(["UID", str(uid)])):
            return None
        log.error("imap fetch returned no body", extra={"fields": {"source": self.key, "uid": uid, "answer": repr(answer)[:500]}})
        return FetchedMail(f"{self._uidvalidity}:{uid}", self._uidvalidity, uid, repr(answer).encode()[:100_000],
                           unfetchable=f"{UNFETCHABLE}the server answered FETCH BODY[] of UID {uid} without a body: "
                                       f"{repr(answer)[:500]}")

    def fetch_again(self, source_ref: str) -> FetchedMail | None:
        """The UID of `source_ref` ("uidvalidity:uid") from the folder, while the folder's UIDVALIDITY is the same."""
        uidvalidity, _, uid = source_ref.partition(":")
        if not uid.isdigit() or self.refresh() != int(uidvalidity or 0):
            return None
        answer = self._call(lambda c: c.fetch([int(uid)], ["BODY.PEEK[]", "INTERNALDATE"])).get(int(uid), {})
        return self._fetched_mail(int(uid), answer)

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
        # Only this share's: another share's UID below our checkpoint may not be handled yet (moving it would lose it).
        leftovers = [uid for uid in self._call(lambda c: c.search(criteria))
                     if uid <= position.last_uid and self._partition.owns(uid)]
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
        # An OAuth2 session may end when its token does: leave IDLE in time to log in again with a fresh one.
        renewal = self._seconds_until_login_renewal()
        self._idle(min(timeout, self._settings.idle_renew_seconds, renewal if renewal is not None else timeout), wake)

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
                self._idle_until(client, deadline, wake)
            finally:
                client.idle_done()  # on a dead connection this raises: the session is replaced below
        except (ConnectionLost, *NETWORK_ERRORS) as error:
            self._drop_connection()
            raise SourceUnavailable(f"{self.server}: connection lost while idle: {_describe(error)}") from error

    def _idle_until(self, client: IMAPClient, deadline: float, wake: threading.Event) -> None:
        """Wait in IDLE for new mail, `wake` or the deadline; a BYE or EOF from the server ends it at once.

        imapclient's idle_check returns an empty list both on a quiet interval and at EOF (it swallows the
        abort), so checks that keep coming back at once with nothing mean the socket is readable and closed.
        One such check alone can be a wake-up without a whole line (a TLS record carrying no data).
        """
        quick_and_empty = 0
        while not wake.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
            if _says_goodbye(responses):
                raise ConnectionLost(f"server said BYE: {_goodbye_text(responses)}")
            if _announces_new_mail(responses):
                return
            quick = not responses and time.monotonic() - started < IDLE_CHECK_SECONDS / 2
            quick_and_empty = quick_and_empty + 1 if quick else 0
            if quick_and_empty >= EOF_CHECKS:
                raise ConnectionLost("the server closed the connection")

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
            raise SourceUnavailable(f"{self.server}: {_describe(error)}") from error


@dataclass(frozen=True, slots=True)
class MailboxProbe:
    """What a read-only look at the mailbox found (`check-config --connect`)."""

    folder: str
    uidvalidity: int
    messages: int
    idle_offered: bool


@dataclass(frozen=True, slots=True)
class Oversize:
    uid: int
    size: int


def _as_utc(moment: Any) -> datetime | None:
    """INTERNALDATE (RFC 3501: when the server received the message); imapclient hands it over as naive local time."""
    if not isinstance(moment, datetime):
        return None
    return moment.astimezone(timezone.utc)


def _announces_new_mail(responses: Any) -> bool:
    for response in responses or ():
        if isinstance(response, tuple) and len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT"):
            return True
    return False


def _says_goodbye(responses: Any) -> bool:
    return any(isinstance(item, tuple) and item and item[0] == b"BYE" for item in responses or ())


def _goodbye_text(responses: Any) -> str:
    return "; ".join(decoded(item[1:]) for item in responses if isinstance(item, tuple) and item and item[0] == b"BYE")


def _is_missing_folder(error: BaseException) -> bool:
    text = decoded(error).lower()
    return "select failed" in text and ("[nonexistent]" in text or "doesn't exist" in text or "does not exist" in text)


def _describe(error: BaseException) -> str:
    """The error in words: a name that does not resolve, a refused connection, or the server's own reply."""
    if isinstance(error, socket.gaierror):
        return f"host name does not resolve ({error.strerror})"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = decoded(error)
    return text or type(error).__name__


def _quietly_logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection is being thrown away anyway
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
