"""Exit codes of the `mailbot` command, documented in the README so cron and systemd can tell them apart."""

EXIT_OK = 0
EXIT_FAILURE = 1  # a user-facing failure, printed without a traceback
EXIT_USAGE = 2  # wrong arguments
EXIT_CONFIG = 3  # the configuration has problems (every one is listed)
EXIT_SCHEMA = 4  # the database schema is not the one this mailbot needs: run `mailbot db upgrade`
EXIT_SERVER = 5  # `check-config --connect`: the configuration is fine but a server refused us or cannot be reached
