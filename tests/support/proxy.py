"""A TCP forwarder between the bot and a server, which can freeze its connections to play a hung or half-open peer."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self

from tests.support.dovecot import LOOPBACK

CHUNK = 65536


class FreezingProxy:
    """Forwards 127.0.0.1:<port> to a target; `freeze()` stops relaying on the open connections without closing them.

    A frozen connection is what a client sees of a server that hung, or of a peer that vanished behind a NAT or
    firewall: the TCP connection looks open, nothing comes back. Connections made after the freeze work normally.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._frozen: set[int] = set()  # generations whose relays stopped
        self._generation = 0
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def freeze(self) -> None:
        with self._lock:
            self._frozen.add(self._generation)
            self._generation += 1

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            with self._lock:
                generation = self._generation
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._relay, args=(source, sink, generation), daemon=True).start()

    def _relay(self, source: socket.socket, sink: socket.socket, generation: int) -> None:
        while not self._closed.is_set():
            try:
                data = source.recv(CHUNK)
            except OSError:
                return
            with self._lock:
                frozen = generation in self._frozen
            if frozen:
                self._closed.wait()  # hold both sockets open, relay nothing, until the test ends
                return
            if not data:
                sink.shutdown(socket.SHUT_WR)
                return
            try:
                sink.sendall(data)
            except OSError:
                return
