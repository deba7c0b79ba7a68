"""TCP forwarders between the bot and a server: one freezes its connections to play a hung or half-open peer,
one rewrites the server's IMAP answers to play a server that answers FETCH without the body."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import BinaryIO, Self

from tests.support.dovecot import LOOPBACK

CHUNK = 65536
LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}\r\n\Z")  # a line announcing a literal of n raw bytes (RFC 3501 / 3516)
FETCH_RESPONSE = re.compile(rb"\* \d+ FETCH \(")
UID_ITEM = re.compile(rb"[ (]UID (\d+)[ )]")
BODY_ITEM = re.compile(rb" ?BODY\[\] \{(\d+)\}\r\n\Z")
ALWAYS = 1_000_000  # BodyDroppingProxy.drop_body(uid, times=ALWAYS): every answer


class _Forwarder:
    """Forwards 127.0.0.1:<port> to a target, one relay thread each way per connection, until the test ends."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
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

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, server]
            self._serve(client, server)

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        """Start the relays of one connection: the client's bytes go to the server untouched, the answers come back."""
        halted = self._halted()
        threading.Thread(target=self._relay, args=(client, server, halted), daemon=True).start()
        threading.Thread(target=self._relay_answers, args=(server, client, halted), daemon=True).start()

    def _halted(self) -> Callable[[], bool]:
        """For a new connection: whether its relays must stop now (never, unless a subclass says otherwise)."""
        return lambda: False

    def _relay_answers(self, server: socket.socket, client: socket.socket, halted: Callable[[], bool]) -> None:
        self._relay(server, client, halted)

    def _relay(self, source: socket.socket, sink: socket.socket, halted: Callable[[], bool]) -> None:
        while not self._closed.is_set():
            try:
                data = source.recv(CHUNK)
            except OSError:
                return
            if halted():
                self._closed.wait()  # hold both sockets open, relay nothing, until the test ends
                return
            if not data:
                with contextlib.suppress(OSError):  # the other side may be closed already
                    sink.shutdown(socket.SHUT_WR)
                return
            try:
                sink.sendall(data)
            except OSError:
                return


class FreezingProxy(_Forwarder):
    """Forwards 127.0.0.1:<port> to a target; `freeze()` stops relaying on the open connections without closing them.

    A frozen connection is what a client sees of a server that hung, or of a peer that vanished behind a NAT or
    firewall: the TCP connection looks open, nothing comes back. Connections made after the freeze work normally.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self._frozen: set[int] = set()  # generations whose relays stopped
        self._generation = 0

    def freeze(self) -> None:
        with self._lock:
            self._frozen.add(self._generation)
            self._generation += 1

    def _halted(self) -> Callable[[], bool]:
        with self._lock:
            generation = self._generation

        def frozen() -> bool:
            with self._lock:
                return generation in self._frozen

        return frozen


class BodyDroppingProxy(_Forwarder):
    """An IMAP proxy that takes `BODY[] {n}` and its literal out of the FETCH answers for chosen UIDs.

    What the client sees is a server that answers `UID FETCH ... (BODY.PEEK[] ...)` without the body, keeping
    the other items (UID, INTERNALDATE, ...). `drop_body(uid, times)` says for how many answers; every other
    byte, both ways, passes through as the server sent it. `dropped[uid]` counts the answers rewritten.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self._drops: dict[int, int] = {}  # uid -> answers still to rewrite
        self.dropped: dict[int, int] = {}

    def drop_body(self, uid: int, times: int = 1) -> None:
        """Drop the body of `uid` from its next `times` FETCH answers (ALWAYS, or any large number: every one)."""
        with self._lock:
            self._drops[uid] = times

    def _relay_answers(self, server: socket.socket, client: socket.socket, halted: Callable[[], bool]) -> None:
        """Response by response, so that a FETCH answer is rewritten whole; everything else as it came."""
        try:
            with server.makefile("rb") as answers:
                for response in imap_responses(answers):
                    client.sendall(b"".join(self._rewritten(response)))
            client.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):  # a socket closed under us (the test ended, or a peer went away)
            return

    def _rewritten(self, response: list[bytes]) -> list[bytes]:
        """`response` alternates lines and literals (line, literal, line, ..., line); returns it with the body taken out."""
        if not FETCH_RESPONSE.match(response[0]):
            return response
        found = UID_ITEM.search(b" ".join(response[0::2]))  # in the lines only: a literal's text is the mail's
        if found is None:
            return response
        uid = int(found[1])
        for index in range(0, len(response) - 1, 2):
            body = BODY_ITEM.search(response[index])
            if body is None:
                continue
            with self._lock:
                if self._drops.get(uid, 0) <= 0:
                    return response
                self._drops[uid] -= 1
                self.dropped[uid] = self.dropped.get(uid, 0) + 1
            before, after = response[index][:body.start()], response[index + 2]
            if before.endswith(b"("):
                after = after.lstrip(b" ")
            joined = before + after if before.endswith(b"(") or after.startswith((b" ", b")")) else before + b" " + after
            return [*response[:index], joined, *response[index + 3:]]
        return response


def imap_responses(stream: BinaryIO) -> Iterator[list[bytes]]:
    """The server's responses as they come: each a list alternating CRLF lines and the raw literals they announce."""
    while True:
        response: list[bytes] = []
        while True:
            line = stream.readline()
            if not line:
                if response:
                    yield response  # a cut-off response: pass on what came
                return
            response.append(line)
            literal = LITERAL_AT_END.search(line)
            if literal is None:
                break
            content = stream.read(int(literal[1]))
            response.append(content)
            if len(content) < int(literal[1]):
                yield response
                return
        yield response
