"""Sharing one mailbox between workers: who owns a UID, where a share's checkpoint starts, the set's exit code."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from mailbot.auth.credentials import PasswordCredentials
from mailbot.config import ImapSource as ImapSettings
from mailbot.db.checkpoints import Position
from mailbot.runtime.exit_codes import EXIT_FAILURE, EXIT_MAILBOX_UNREADABLE, EXIT_OK, EXIT_REFUSED, EXIT_UNDELIVERED
from mailbot.runtime.workers import Workers, most_urgent, stop_when_parent_ends
from mailbot.sources.imap import ImapMailSource
from mailbot.sources.partition import WHOLE, Partition, handled_up_to, parse_partition, share_of

KEY = "imap://support%40example.test@127.0.0.1:143/INBOX"


def test_every_uid_has_exactly_one_owner_among_the_shares() -> None:
    for count in (1, 2, 3):
        shares = [Partition(index, count) for index in range(count)]
        assert all(sum(share.owns(uid) for share in shares) == 1 for uid in range(1, 100))


def test_the_whole_mailbox_keeps_its_own_key_and_a_share_adds_its_number() -> None:
    assert WHOLE.checkpoint_key(KEY) == KEY
    assert Partition(1, 2).checkpoint_key(KEY) == KEY + "#1/2"
    assert share_of(KEY, KEY + "#1/2") == Partition(1, 2)
    assert share_of(KEY, KEY) == WHOLE
    assert share_of(KEY, KEY + "x#0/2") is None and share_of(KEY, "imap://other@h:143/INBOX#0/2") is None
    assert share_of(KEY, KEY + "#2/2") is None  # not a share: index out of range


@pytest.mark.parametrize("text", ["2/2", "1", "a/2", "0/0", "-1/2"])
def test_a_malformed_partition_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_partition(text)


def test_a_new_share_starts_at_the_lowest_checkpoint_of_the_complete_earlier_set() -> None:
    known = {KEY: Position(7, 40), KEY + "#0/2": Position(7, 100), KEY + "#1/2": Position(7, 91)}
    assert handled_up_to(KEY, known, 7) == 91  # 2 workers proved everything up to 91; one worker only up to 40


def test_an_incomplete_set_or_another_uidvalidity_proves_nothing() -> None:
    assert handled_up_to(KEY, {KEY + "#0/3": Position(7, 50), KEY + "#1/3": Position(7, 50)}, 7) == 0
    assert handled_up_to(KEY, {KEY: Position(6, 500)}, 7) == 0
    assert handled_up_to(KEY, {KEY + "#0/2": Position(7, 9), KEY + "#1/2": Position(6, 90)}, 7) == 0
    assert handled_up_to(KEY, {"imap://other@h:143/INBOX": Position(7, 90)}, 7) == 0


class ShareServer:
    """The IMAP connection at the SEARCH/FETCH level, with UIDs 1..10 and flags added recorded."""

    def __init__(self) -> None:
        self.flagged: list[int] = []

    def search(self, criteria: list[Any]) -> list[int]:
        first, _, last = criteria[1].partition(":")
        return [uid for uid in range(1, 11) if uid >= int(first) and (last == "*" or uid <= int(last))]

    def fetch(self, uids: list[int], items: list[str]) -> dict[int, dict[bytes, Any]]:
        if items == ["RFC822.SIZE"]:
            return {uid: {b"RFC822.SIZE": 100} for uid in uids}
        return {uid: {b"BODY[]": f"Subject: {uid}\r\n\r\n".encode()} for uid in uids}

    def add_flags(self, uids: list[int], flags: list[bytes], silent: bool = False) -> None:
        self.flagged.extend(uids)


def share_source(server: ShareServer, partition: Partition) -> ImapMailSource:
    settings = ImapSettings(host="127.0.0.1", tls="none", user="support@example.test", password_env="UNUSED")
    source = ImapMailSource(settings, PasswordCredentials("support@example.test", "x"), 10_000_000, partition=partition)
    source._client = server  # type: ignore[assignment] # noqa: SLF001 - the connection, at the level under test
    source._uidvalidity = 7  # noqa: SLF001
    return source


def test_a_share_reads_only_its_uids_and_sweeps_only_its_own() -> None:
    server = ShareServer()
    odd = share_source(server, Partition(1, 2))
    assert [mail.uid for mail in odd.new_mail(Position(7, 3))] == [5, 7, 9]
    list(odd.sweep(Position(7, 7)))  # after_processing = "seen": flag what a crash left unflagged
    assert server.flagged == [1, 3, 5, 7]  # never 2, 4, 6: the other share may not have handled them yet
    assert odd.key.endswith("/INBOX#1/2")


def test_the_set_exits_with_its_most_urgent_code() -> None:
    assert most_urgent([EXIT_OK, EXIT_OK]) == EXIT_OK
    assert most_urgent([EXIT_UNDELIVERED, EXIT_MAILBOX_UNREADABLE, EXIT_OK]) == EXIT_MAILBOX_UNREADABLE
    assert most_urgent([EXIT_REFUSED, EXIT_MAILBOX_UNREADABLE]) == EXIT_REFUSED
    assert most_urgent([EXIT_REFUSED, -9]) == EXIT_FAILURE  # a worker killed by a signal
    assert most_urgent([]) == EXIT_OK


def sleep_then(code: int, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    """What a worker runs here: wait (as a service does), then end with `code`."""
    def run_share(_share: Partition) -> int:
        time.sleep(seconds)
        return code

    return run_share


def test_a_service_worker_that_ends_stops_the_others_and_its_code_is_the_sets() -> None:
    def second_is_refused(share: Partition) -> int:
        return sleep_then(EXIT_REFUSED, 0)(share) if share.index else sleep_then(EXIT_OK)(share)

    started = time.monotonic()
    workers = Workers([Partition(0, 2), Partition(1, 2)], second_is_refused, threading.Event(), once=False)
    assert workers.run() == EXIT_REFUSED
    assert time.monotonic() - started < 20  # the sleeping worker was stopped, not waited for


def test_run_once_workers_each_finish_and_a_stop_request_reaches_them() -> None:
    assert Workers([Partition(0, 2), Partition(1, 2)], sleep_then(EXIT_OK, 0.5), threading.Event(), once=True).run() == EXIT_OK
    assert Workers([Partition(0, 2), Partition(1, 2)], lambda share: share.index * EXIT_UNDELIVERED, threading.Event(),
                   once=True).run() == EXIT_UNDELIVERED
    stop = threading.Event()
    stop.set()  # as SIGTERM to the parent does: the workers get SIGTERM, and stopping as asked is no failure
    started = time.monotonic()
    assert Workers([Partition(0, 1)], sleep_then(EXIT_OK), stop, once=True).run() == EXIT_OK
    assert time.monotonic() - started < 20


def test_a_crashing_worker_fails_the_set() -> None:
    def crash(_share: Partition) -> int:
        raise RuntimeError("a bug")

    assert Workers([Partition(0, 1)], crash, threading.Event(), once=True).run() == EXIT_FAILURE


def test_a_worker_stops_once_its_parent_is_gone() -> None:
    stopped = threading.Event()
    watcher = stop_when_parent_ends(stopped.set, os.getppid() + 100_000, interval=0.01)  # not our parent: as if it ended
    assert watcher is not None and stopped.wait(5)
    assert stop_when_parent_ends(stopped.set, None) is None  # a `--partition` unit started on its own watches nothing
