"""Refusals in a row per connection ("mailbox", "delivery"): spaced retries, then the service gives up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mailbot.errors import ServerRefused


class Refusals:
    """Thread-safe: delivery runs in the scheduler's thread as well as in the mail loop."""

    def __init__(self, tries: int, retry_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._tries = tries
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._next_try: dict[str, float] = {}
        self.fatal: ServerRefused | None = None

    def record(self, connection: str, error: ServerRefused) -> int:
        """Count one refusal; returns how many in a row. At `tries`, the refusal becomes fatal."""
        with self._lock:
            count = self._counts.get(connection, 0) + 1
            self._counts[connection] = count
            self._next_try[connection] = self._monotonic() + self._retry_seconds
            if count >= self._tries and self.fatal is None:
                self.fatal = error
            return count

    def clear(self, connection: str) -> None:
        with self._lock:
            self._counts.pop(connection, None)
            self._next_try.pop(connection, None)

    def may_try(self, connection: str) -> bool:
        """False while a refused connection waits for its next spaced try."""
        with self._lock:
            return self._monotonic() >= self._next_try.get(connection, 0.0)

    @property
    def tries(self) -> int:
        return self._tries
