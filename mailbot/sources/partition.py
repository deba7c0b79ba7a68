"""One worker's share of a mailbox: the UIDs with uid % count == index, and where its checkpoint starts.

`mailbot run --workers N` runs N processes on one mailbox; each reads, handles and checkpoints only its own
UIDs, so their transactions never wait on one checkpoint row. Each share has its own checkpoint, named after
the mailbox's key plus "#index/count"; a single worker (the default) keeps the mailbox's own key, as before.

A checkpoint only says "every UID of my share up to last_uid is handled". When the number of workers changes,
a share's checkpoint starts where every UID of the mailbox is known to be handled: the lowest checkpoint of a
complete earlier set of shares (all `count` of them, under the current UIDVALIDITY). That repeats a little
work (the repeats are skipped by the Message-ID in the inbound log) and never skips a message.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from mailbot.db.checkpoints import Position

_SHARE_SUFFIX = re.compile(r"#(\d+)/(\d+)$")


@dataclass(frozen=True, slots=True)
class Partition:
    """Worker `index` of `count`; Partition(0, 1) is the whole mailbox."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index}/{self.count}: expected 0 <= index < count")

    @property
    def is_whole(self) -> bool:
        return self.count == 1

    @property
    def is_first(self) -> bool:
        """The worker that also serves the health endpoint and runs the database-only scheduled jobs."""
        return self.index == 0

    def owns(self, uid: int) -> bool:
        return uid % self.count == self.index

    def checkpoint_key(self, mailbox_key: str) -> str:
        return mailbox_key if self.is_whole else f"{mailbox_key}#{self.index}/{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


WHOLE = Partition()


def parse_partition(text: str) -> Partition:
    """"I/N" as given on the command line (`--partition 1/2`)."""
    index, separator, count = text.partition("/")
    if not separator or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"{text!r}: expected INDEX/COUNT, e.g. 0/2")
    return Partition(int(index), int(count))


def share_of(mailbox_key: str, checkpoint_key: str) -> Partition | None:
    """Which share of `mailbox_key` a checkpoint belongs to; None for another mailbox's checkpoint."""
    if checkpoint_key == mailbox_key:
        return WHOLE
    if not checkpoint_key.startswith(mailbox_key + "#"):
        return None
    found = _SHARE_SUFFIX.fullmatch(checkpoint_key[len(mailbox_key):])
    if found is None:
        return None
    try:
        return Partition(int(found.group(1)), int(found.group(2)))
    except ValueError:
        return None


def handled_up_to(mailbox_key: str, checkpoints: dict[str, Position], uidvalidity: int) -> int:
    """The highest UID under `uidvalidity` up to which every message of the mailbox is known to be handled.

    Each complete set of shares (every index of one count) proves its lowest checkpoint; the best proof wins.
    A set with a share missing proves nothing: that share may never have started.
    """
    by_count: dict[int, dict[int, int]] = defaultdict(dict)
    for key, position in checkpoints.items():
        share = share_of(mailbox_key, key)
        if share is not None and position.uidvalidity == uidvalidity:
            by_count[share.count][share.index] = position.last_uid
    proofs = [min(shares.values()) for count, shares in by_count.items() if len(shares) == count]
    return max(proofs, default=0)
