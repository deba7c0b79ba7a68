"""A throw-away, unprivileged Dovecot (IMAP + LMTP) for integration tests.

Follows the measured recipe in shared/notes/dovecot.md: a standalone config
that reads nothing from /etc/dovecot, a short root under /tmp with mode 755
(auth runs as user ``dovecot`` and needs +x on the path), mail owned by uid
65534 (Dovecot refuses uid 0), and the master started in the foreground in its
own process group so teardown can signal every child at once.

One server is meant to live for a whole pytest session; tests isolate
themselves by using a fresh user (an independent mailbox) each.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from imapclient import IMAPClient

from tests.support.tls import Certificate

MAIL_UID = 65534
LOOPBACK = "127.0.0.1"
DEFAULT_PASSWORD = "secret"
STOP_GRACE_SECONDS = 5.0
START_TIMEOUT_SECONDS = 10.0
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$")
_APPENDUID_RE = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")

_CONFIG_TEMPLATE = """\
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap lmtp
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login{extra_mechanisms}
mail_location = maildir:~/Maildir
mail_fsync = optimized
first_valid_uid = 1
mail_max_userip_connections = 50
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u{password_mechanisms}
}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid={uid} gid={uid} home={root}/mail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    port = {lmtp_port}
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Processed {{
    auto = subscribe
  }}
}}
"""


# Dovecot 2.3's oauth2 passdb (doc/wiki/PasswordDatabase.oauth2.txt): with introspection_mode = post it POSTs
# token=<token> to introspection_url (RFC 7662) and accepts the login when the JSON answer has
# active = true, a username equal to the SASL user and, when `scope` is set, that scope among its scopes.
_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""
_OAUTH2_CONF = """\
introspection_url = {url}
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
{scope}
"""


@dataclass(frozen=True)
class OAuth2Validation:
    """Where Dovecot checks OAuth2 bearer tokens, and the scope a token must carry (none: any)."""

    introspection_url: str
    scope: str | None = None


def find_binary(name: str) -> str | None:
    """Locate a Dovecot binary; /usr/sbin is often missing from a non-root PATH."""
    found = shutil.which(name)
    if found:
        return found
    for directory in _SBIN_DIRS:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def dovecot_available() -> bool:
    """True where the dovecot and doveadm binaries are installed (tests skip otherwise)."""
    return find_binary("dovecot") is not None and find_binary("doveadm") is not None


def free_port(host: str = LOOPBACK) -> int:
    """Ask the kernel for a currently free TCP port so instances never collide."""
    [port] = free_ports(1, host)
    return port


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct free ports: all bound at once, since a port asked for after another was let go can be the
    same one again (Dovecot then refused its configuration: "duplicate listener")."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(host: str, port: int) -> bool:
    """True once something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class DovecotServer:
    """Runs one private Dovecot instance and offers test-side mailbox helpers.

    The helpers open a fresh IMAP connection per call: slower than sharing one,
    but each call then sees the mailbox exactly as a new client would, which is
    what assertions about the bot's effects need.
    """

    host: str
    imap_port: int
    lmtp_port: int
    root: Path

    def __init__(
        self, host: str = LOOPBACK, tls: "Certificate | None" = None, oauth2: OAuth2Validation | None = None
    ) -> None:
        self.host = host
        self.tls = tls  # with a certificate: STARTTLS on imap_port and implicit TLS on imaps_port
        self.oauth2 = oauth2  # also XOAUTH2 / OAUTHBEARER, tokens checked by introspection; passwords still work
        self.imap_port = 0
        self.imaps_port = 0
        self.lmtp_port = 0
        self.root = Path()
        self._proc: subprocess.Popen[bytes] | None = None
        self._passwords: dict[str, str] = {}
        self._dovecot = find_binary("dovecot")
        self._doveadm = find_binary("doveadm")

    # ---- lifecycle -------------------------------------------------------

    @property
    def config_path(self) -> Path:
        """The standalone config; doveadm needs it to reach this instance."""
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        """Dovecot's own log: the first place to look when a login fails."""
        return self.root / "dovecot.log"

    def start(self) -> Self:
        """Create the root, write the config and wait until IMAP and LMTP accept connections."""
        if self._dovecot is None or self._doveadm is None:
            raise RuntimeError("dovecot not installed: apt-get install dovecot-imapd dovecot-lmtpd")
        self._prepare_root()
        self.imap_port, self.lmtp_port, self.imaps_port = free_ports(3, self.host)
        if not self.tls:
            self.imaps_port = 0
        self._write_config()
        try:
            self.start_process()
        except BaseException:
            self.stop()
            raise
        return self

    def start_process(self) -> None:
        """Start the master on the instance's root and ports (again, after stop_process)."""
        assert self._dovecot is not None
        self._proc = subprocess.Popen(
            [self._dovecot, "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_for_ports()

    def stop_process(self) -> None:
        """Stop the server as a restart or crash would, keeping its mail and configuration."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate_group(proc)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop every Dovecot process (clients get BYE, then EOF), stay down a while, start on the same ports."""
        self.stop_process()
        time.sleep(down_seconds)
        self.start_process()

    def _prepare_root(self) -> None:
        """Short root (unix socket paths are limited to ~107 chars), o+x for the auth user."""
        self.root = Path(tempfile.mkdtemp(prefix="dc-", dir="/tmp"))
        self.root.chmod(0o755)
        mail = self.root / "mail"
        mail.mkdir()
        os.chown(mail, MAIL_UID, MAIL_UID)
        users = self.root / "users"
        users.mkdir(mode=0o755)
        users.chmod(0o755)

    def _write_config(self) -> None:
        """Render the recipe's config with this instance's root and ports."""
        text = _CONFIG_TEMPLATE.format(
            instance=self.root.name,
            root=self.root,
            host=self.host,
            uid=MAIL_UID,
            imap_port=self.imap_port,
            imaps_port=self.imaps_port,
            lmtp_port=self.lmtp_port,
            ssl=f"ssl = yes\nssl_cert = <{self.tls.cert}\nssl_key = <{self.tls.key}" if self.tls else "ssl = no",
            extra_mechanisms=" oauthbearer xoauth2" if self.oauth2 else "",
            password_mechanisms="\n  mechanisms = plain login" if self.oauth2 else "",
            oauth2_passdb=_OAUTH2_PASSDB.format(root=self.root) if self.oauth2 else "",
        )
        self.config_path.write_text(text)
        if self.oauth2 is not None:
            scope = f"scope = {self.oauth2.scope}" if self.oauth2.scope else ""
            (self.root / "dovecot-oauth2.conf.ext").write_text(
                _OAUTH2_CONF.format(url=self.oauth2.introspection_url, scope=scope))

    def _wait_for_ports(self) -> None:
        """Poll both listeners; report Dovecot's log if the master dies or stalls."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._proc.returncode}:\n{self.log_text()}")
            if port_open(self.host, self.imap_port) and port_open(self.host, self.lmtp_port):
                return
            time.sleep(0.01)
        raise RuntimeError(f"dovecot did not open its ports in {START_TIMEOUT_SECONDS}s:\n{self.log_text()}")

    def stop(self) -> None:
        """Stop the whole process group and remove the root.

        SIGTERM is repeated because a master signalled during start-up may
        ignore the first one; children (log, stats) briefly outlive the master,
        so the group gets a final SIGKILL before the files are removed.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate_group(proc)
        if self.root != Path() and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        """Dovecot's log so far ('' if none yet), for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ---- users -----------------------------------------------------------

    def add_user(self, email: str, password: str = DEFAULT_PASSWORD) -> str:
        """Create a login (and so a mailbox) without restarting Dovecot.

        Each user gets its own passwd-file (the passdb path contains %u).
        Measured: with one shared passwd-file Dovecot re-reads it at most once
        per second, so a user appended right after another login was *not*
        found (and the failed login cost 2 s). A new per-user file is a new
        path that Dovecot has never cached, so it is seen at once (even right
        after a refused LMTP delivery to the same address). Calling it again
        for the same user replaces the password, but Dovecot may keep the old
        one for up to a second.
        """
        if not _EMAIL_RE.match(email):
            raise ValueError(f"unsupported test address {email!r}")
        path = self.root / "users" / email
        with path.open("w") as handle:
            handle.write(f"{email}:{{PLAIN}}{password}\n")
        path.chmod(0o644)
        self._passwords[email] = password
        return email

    def password_of(self, user: str) -> str:
        """The password add_user registered for user (helpers log in with it)."""
        return self._passwords.get(user, DEFAULT_PASSWORD)

    # ---- IMAP helpers ----------------------------------------------------

    def imap(self, user: str, password: str | None = None) -> IMAPClient:
        """A logged-in plain-text IMAPClient (ssl=False: the listener has no TLS).

        The caller owns the connection and should logout() it.
        """
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=30)
        try:
            client.login(user, password if password is not None else self.password_of(user))
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Iterable[str | bytes] = (),
    ) -> int:
        """APPEND raw to folder and return its UID (from the UIDPLUS APPENDUID code)."""
        client = self.imap(user)
        try:
            response = client.append(folder, raw, flags=tuple(flags))
            match = _APPENDUID_RE.search(response)
            if match is None:
                raise AssertionError(f"no APPENDUID in APPEND response {response!r}")
            return int(match.group(2))
        finally:
            client.logout()

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        """All UIDs in folder, ascending."""
        client = self.imap(user)
        try:
            client.select_folder(folder, readonly=True)
            return sorted(int(uid) for uid in client.search("ALL"))
        finally:
            client.logout()

    def flags(self, user: str, uid: int, folder: str = "INBOX") -> set[str]:
        """The flags of one message as str (e.g. {'\\\\Seen'}); KeyError if uid is absent.

        \\Recent is left out: it depends on which session saw the message
        first, so asserting on it would make tests order-dependent.
        """
        client = self.imap(user)
        try:
            client.select_folder(folder, readonly=True)
            found = client.get_flags([uid])
            if uid not in found:
                raise KeyError(f"UID {uid} not in {folder} of {user}")
            return {_text(flag) for flag in found[uid]} - {"\\Recent"}
        finally:
            client.logout()

    def create_folder(self, user: str, name: str) -> None:
        """CREATE a folder (with '/' as hierarchy separator)."""
        client = self.imap(user)
        try:
            client.create_folder(name)
        finally:
            client.logout()

    def folders(self, user: str) -> list[str]:
        """Names of all folders of user (INBOX and Processed always exist)."""
        client = self.imap(user)
        try:
            return [name for _flags, _sep, name in client.list_folders()]
        finally:
            client.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Raw messages in UID order, fetched with BODY.PEEK[] so \\Seen is left alone."""
        client = self.imap(user)
        try:
            client.select_folder(folder, readonly=True)
            uids = sorted(int(uid) for uid in client.search("ALL"))
            if not uids:
                return []
            fetched = client.fetch(uids, ["BODY.PEEK[]"])
            return [bytes(fetched[uid][b"BODY[]"]) for uid in uids]
        finally:
            client.logout()

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """UIDVALIDITY as a client sees it on SELECT."""
        client = self.imap(user)
        try:
            return int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])
        finally:
            client.logout()

    def reset_uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """Force a new UIDVALIDITY on folder while keeping its messages; return the new value.

        This is what a server restore or migration does to a client: every
        cached UID becomes meaningless. `doveadm mailbox update --uid-validity`
        rewrites the maildir uidlist; the result is checked via IMAP SELECT.
        Messages keep their UIDs. Measured: a client that has the folder
        selected (even in IDLE) gets no push; its next command after IDLE
        ends gets a disconnect ("IMAP session state is inconsistent, please
        relogin"), and a fresh SELECT then shows the new UIDVALIDITY.
        """
        old = self.uidvalidity(user, folder)
        new = max(old + 1, int(time.time()))
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(new), folder)
        seen = self.uidvalidity(user, folder)
        if seen == old:
            raise AssertionError(f"UIDVALIDITY of {user}/{folder} still {old} after doveadm update")
        return seen

    # ---- delivery and admin ----------------------------------------------

    def deliver_lmtp(
        self,
        rcpt: str | Iterable[str],
        raw: bytes,
        mail_from: str = "customer@example.test",
    ) -> None:
        """Deliver like an MTA would (adds Return-Path, Delivered-To, Received).

        Raises smtplib.SMTPRecipientsRefused if any recipient is refused,
        e.g. 550 5.1.1 for an unknown user.
        """
        recipients = [rcpt] if isinstance(rcpt, str) else list(rcpt)
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=30) as lmtp:
            refused = lmtp.sendmail(mail_from, recipients, raw)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def doveadm(self, *args: str) -> str:
        """Run doveadm against this instance; raise with its stderr on failure."""
        if self._doveadm is None:
            raise RuntimeError("doveadm not installed")
        result = subprocess.run(
            [self._doveadm, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout


def _text(value: str | bytes) -> str:
    """IMAPClient hands back flags as bytes; tests compare against str."""
    return value.decode() if isinstance(value, bytes) else value


def _terminate_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group every 50 ms until the master exits, SIGKILL after the grace period."""
    pgid = proc.pid
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while proc.poll() is None and time.monotonic() < deadline:
        _signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
    _reap_group(pgid)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


def _reap_group(pgid: int) -> None:
    """Give straggling children (log, stats) a moment, then SIGKILL whatever is left."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if not _signal_group(pgid, 0):
            return
        time.sleep(0.02)
    _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
