"""TCP keepalive on long-lived connections, so a half-open one (the server vanished without FIN) is noticed."""

from __future__ import annotations

import socket

KEEPALIVE_IDLE_SECONDS = 20  # quiet time before the first probe
KEEPALIVE_INTERVAL_SECONDS = 5
KEEPALIVE_PROBES = 3  # unanswered probes before the kernel declares the connection dead (~35 s in all)
USER_TIMEOUT_MILLISECONDS = 30_000  # data we sent stays unacknowledged this long: the connection is dead


def enable_keepalive(sock: socket.socket) -> None:
    """Best effort: the options beyond SO_KEEPALIVE are Linux's (and most BSDs'); elsewhere the defaults apply."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE_SECONDS), ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_SECONDS),
                            ("TCP_KEEPCNT", KEEPALIVE_PROBES), ("TCP_USER_TIMEOUT", USER_TIMEOUT_MILLISECONDS)):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError:
        pass  # a socket that refuses options still works; only dead-peer detection is slower
