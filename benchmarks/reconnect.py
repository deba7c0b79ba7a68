"""Healing after an IMAP server restart under `mailbot run`: time to acknowledge, and CPU while the server is down.

    .venv/bin/python -m benchmarks.reconnect              # 5 restarts, 5 s down each
    .venv/bin/python -m benchmarks.reconnect --rounds 10 --down 20

For each round: stop Dovecot (clients get BYE/EOF), stay down, start it again on the same port, deliver a
message at once, and measure the time from the server's return to the acknowledgment arriving at the SMTP
server; the CPU the bot used while the server was down is read from /proc. Target: median < 10 s, CPU near 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.bot import imap_source, smtp_delivery, write_config
from tests.support.cli import cli_env, command, migrate_and_import, wait_until
from tests.support.dovecot import DovecotServer
from tests.support.mailgen import customer_mail
from tests.support.smtp_sink import SmtpSink


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(rounds: int, down_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder, DovecotServer() as dovecot, SmtpSink() as sink:
        root = Path(folder)
        user = dovecot.add_user("support-bench@example.test")
        config = write_config(root, db_url=f"sqlite:///{root}/bot.db", delivery=smtp_delivery(sink),
                              source=imap_source(dovecot, user, root, poll_interval_seconds=60))
        migrate_and_import(config)
        log = root / "service.log"
        with log.open("wb") as output:
            service = subprocess.Popen(command(config, "run"), stdout=output, stderr=subprocess.STDOUT, env=cli_env())
        try:
            wait_until(lambda: b"imap connected" in log.read_bytes(), 20, what="the service")
            time.sleep(1.0)
            acknowledged: list[float] = []
            cpu_down: list[float] = []
            for n in range(1, rounds + 1):
                dovecot.stop_process()
                before = cpu_seconds(service.pid)
                time.sleep(down_seconds)
                cpu_down.append(cpu_seconds(service.pid) - before)
                dovecot.start_process()
                back = time.monotonic()
                dovecot.append(user, customer_mail(message_id=f"bench-{n}@acme.test", subject=f"Caída {n}"))
                sink.wait_for(n, timeout=60)
                acknowledged.append(time.monotonic() - back)
                print(f"round {n}: acknowledged {acknowledged[-1]:.2f} s after the server's return; "
                      f"CPU while down {cpu_down[-1]:.2f} s in {down_seconds:.0f} s", flush=True)
        finally:
            service.terminate()
            service.wait(15)
    print(f"acknowledged after the server's return: median {statistics.median(acknowledged):.2f} s, "
          f"max {max(acknowledged):.2f} s over {rounds} restarts")
    print(f"CPU while the server was down: {sum(cpu_down) / (rounds * down_seconds) * 100:.2f} % of one core "
          f"(total {sum(cpu_down):.2f} s in {rounds * down_seconds:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down", type=float, default=5.0, help="seconds the server stays down each round")
    arguments = parser.parse_args()
    measure(arguments.rounds, arguments.down)
    return 0


if __name__ == "__main__":
    sys.exit(main())
