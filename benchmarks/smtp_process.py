"""A real SMTP server (aiosmtpd) in a process of its own, as a provider's is: its CPU is not the bot's.

    python -m benchmarks.smtp_process PORT FOLDER     # what SmtpServerProcess starts: each mail into FOLDER

Run in the benchmark's own process, the server took a sixth of its CPU samples and competed with the bot for the
interpreter lock, so "CPU per message" and messages/s measured the server too.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.support.dovecot import LOOPBACK, free_port


class SmtpServerProcess:
    """Start the server; `received()` gives the raw mails it accepted, in arrival order."""

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self._folder = tempfile.TemporaryDirectory(prefix="bench-smtp-")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen([sys.executable, "-m", "benchmarks.smtp_process", str(self.port), self._folder.name])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the SMTP server process did not start")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
        self._folder.cleanup()

    def received(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(Path(self._folder.name).glob("*.eml"))]


class _Spool:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self._lock:
            self._count += 1
            number = self._count
        (self._folder / f"{number:08}.eml").write_bytes(envelope.original_content or b"")
        return "250 Message accepted for delivery"


def serve(port: int, folder: Path) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Spool(folder), hostname=LOOPBACK, port=port, server_hostname="smtp.example.test",
                            enable_SMTPUTF8=True)
    controller.start()
    threading.Event().wait()  # until terminated


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
