"""Readiness of `mailbot run`: the mailbox read recently and not failing, the database reachable and current.

The mailbox rule does not flap during a quiet IDLE: between two rounds the loop may legitimately wait as long as
its longest wait (IDLE renewal or the catch-up sweep, whichever comes first; the poll interval when polling), so a
read is recent while it is younger than that wait plus the margin. A dead IDLE session is noticed within seconds
(EOF, BYE) and makes the round fail: a failure that lasts longer than the margin is reported at once, without
waiting for the whole quiet time to pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mailbot.config import ImapSource, MaildirSource


def longest_quiet_seconds(source: ImapSource | MaildirSource) -> float:
    """The longest the loop waits between two reads of the mailbox when nothing arrives."""
    wait = source.idle_renew_seconds if isinstance(source, ImapSource) and source.idle else source.poll_interval_seconds
    return min(wait, source.sweep_interval_seconds)


class MailboxWatch:
    """When the mailbox was last read and since when it fails; fed by the mail loop, read by /readyz."""

    def __init__(self, quiet_seconds: float, margin_seconds: float, started_at: float) -> None:
        self._quiet = quiet_seconds
        self._margin = margin_seconds
        self._started_at = started_at
        self._lock = threading.Lock()  # the loop writes, the HTTP threads read: keep the pair consistent
        self._last_read: float | None = None
        self._failing_since: float | None = None
        self._last_error = ""

    def read(self, at: float) -> None:
        with self._lock:
            self._last_read, self._failing_since, self._last_error = at, None, ""

    def failed(self, at: float, error: BaseException) -> None:
        with self._lock:
            self._failing_since = self._failing_since or at
            self._last_error = (str(error).strip().splitlines() or [type(error).__name__])[0]

    def problem(self, now: float) -> str | None:
        """Why the mailbox side is not ready, or None."""
        with self._lock:
            last_read, failing_since, error = self._last_read, self._failing_since, self._last_error
        allowed = self._quiet + self._margin
        if failing_since is not None and now - failing_since > self._margin:
            return f"mailbox rounds failing for {now - failing_since:.0f} s: {error}"
        if last_read is None:
            return f"mailbox not read yet ({now - self._started_at:.0f} s since start)"
        if now - last_read > allowed:
            return f"mailbox not read for {now - last_read:.0f} s (allowed {allowed:.0f} s: longest wait + margin)"
        return None


class Readiness:
    """Every reason the service is not ready, one per line of /readyz; none means ready."""

    def __init__(self, mailbox: MailboxWatch, database_problems: Callable[[], list[str]],
                 now: Callable[[], float]) -> None:
        self._mailbox = mailbox
        self._database_problems = database_problems
        self._now = now

    def problems(self) -> list[str]:
        mailbox = self._mailbox.problem(self._now())
        return ([mailbox] if mailbox else []) + self._database_problems()
