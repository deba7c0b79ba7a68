"""Exit codes of the `mailbot` command: documented in the README so cron and systemd can tell failures apart."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the command failed (database unavailable, bad argument value, ...)
EXIT_USAGE = 2  # wrong command line
EXIT_CONFIG = 3  # the configuration has problems (each one listed)
EXIT_SCHEMA = 4  # the database schema is not the code's: run `mailbot db upgrade`
EXIT_MAILBOX_UNREADABLE = 5  # run --once: the mailbox could not be read (server down or unreachable)
EXIT_UNDELIVERED = 6  # run --once: mail could not be delivered (server down, or a message failed for good)
EXIT_REFUSED = 7  # a server refused us (login, token, certificate, missing folder): the configuration must change
EXIT_SERVER_CHECK = 8  # check-config --connect: the configuration is fine, but a server cannot be reached or refused us
