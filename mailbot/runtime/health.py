"""The HTTP endpoint of `mailbot run`: /healthz (alive), /readyz (ready, or 503 with the reasons) and /metrics.

A stdlib ThreadingHTTPServer in a daemon thread: a slow scrape never holds up the mail loop, and the loop never
holds up a scrape. The port is bound before the service says it started, so a port in use is a start-up error.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import ProcessCollector

from mailbot.app import App
from mailbot.config import ConfigError
from mailbot.db.probe import DatabaseProbe
from mailbot.logs import fields
from mailbot.runtime.metrics import DatabaseGauges
from mailbot.runtime.readiness import MailboxWatch, Readiness

log = logging.getLogger(__name__)
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


def text(status: int, body: str) -> Response:
    return Response(status, TEXT, body.encode("utf-8"))


class Endpoints:
    """What each path answers; no HTTP in here, so it is tested without a socket."""

    def __init__(self, problems: Callable[[], list[str]], exposition: Callable[[], tuple[bytes, str]]) -> None:
        self._problems = problems
        self._exposition = exposition

    def respond(self, path: str) -> Response:
        route = path.split("?", 1)[0].rstrip("/") or "/"
        if route == "/healthz":
            return text(200, "ok\n")
        if route == "/readyz":
            problems = self._problems()
            return text(503, "".join(f"{problem}\n" for problem in problems)) if problems else text(200, "ready\n")
        if route == "/metrics":
            body, content_type = self._exposition()
            return Response(200, content_type, body)
        return text(404, "not found; try /healthz, /readyz or /metrics\n")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        try:
            response = self.server.endpoints.respond(self.path)
        except Exception as error:  # noqa: BLE001 - one bad request must not end the server thread
            log.exception("health endpoint failed", extra=fields(path=self.path))
            response = text(500, f"internal error: {type(error).__name__}\n")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("health request", extra=fields(client=self.client_address[0], request=format % args))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoints: Endpoints) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.endpoints = endpoints
        super().__init__(address, _Handler)


class HealthServer:
    def __init__(self, listen: str, address: tuple[str, int], endpoints: Endpoints) -> None:
        try:
            self._server = _Server(address, endpoints)
        except OSError as error:
            raise ConfigError([f"health.listen: cannot listen on {listen}: {bind_problem(error)}"]) from error
        self._listen = listen
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("health endpoint listening", extra=fields(
            url=f"http://{self._listen}/", endpoints="/healthz /readyz /metrics"))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def bind_problem(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is already in use (another mailbot?); choose another port or set health.enabled = false"
    if error.errno == errno.EADDRNOTAVAIL:
        return "no such address on this machine"
    if isinstance(error, socket.gaierror):
        return f"host name does not resolve ({error.strerror})"
    return error.strerror or str(error)


@dataclass
class HealthService:
    """The running endpoint and what it owns; `stop()` releases both."""

    server: HealthServer
    probe: DatabaseProbe

    def stop(self) -> None:
        self.server.stop()
        self.probe.dispose()


def start_health(app: App, mailbox: MailboxWatch) -> HealthService | None:
    """Bind health.listen and serve it, or None when health.enabled is false; ConfigError when it cannot bind."""
    settings = app.settings.health
    if not settings.enabled:
        return None
    probe = DatabaseProbe(app.settings.database.url, app.clock)
    readiness = Readiness(mailbox, probe.problems, time.time)
    try:
        server = HealthServer(settings.listen, settings.address, Endpoints(readiness.problems, app.metrics.exposition))
    except ConfigError:
        probe.dispose()
        raise
    app.metrics.add_collector(DatabaseGauges(probe.facts))
    app.metrics.add_collector(ProcessCollector(registry=None))  # process_cpu_seconds_total, memory, open fds
    server.start()
    return HealthService(server, probe)
