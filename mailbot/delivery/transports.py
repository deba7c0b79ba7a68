"""Ways to hand a finished message on: SMTP (aiosmtplib) or files in a local Maildir (dry runs, trying out)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from mailbot.auth.credentials import Credentials
from mailbot.config import MaildirDelivery, SmtpDelivery
from mailbot.errors import LoginRefused, ServerRefused, causes, decoded
from mailbot.keepalive import enable_keepalive

TEMPORARY_AUTH_CODES = (432, 454)  # RFC 4954: a transition is needed / temporary authentication failure


class DeliveryError(Exception):
    """Sending failed. `permanent` (5xx) means retrying cannot help; `connection` means the server is unreachable.

    `during_data`: the connection ended after the server had accepted MAIL and RCPT, while it took this message's
    content. The server was there a moment ago, so this message may be what kills it: its attempts count.
    """

    def __init__(self, message: str, *, permanent: bool, connection: bool = False, during_data: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.connection = connection
        self.during_data = during_data


class PartialDelivery(Exception):
    """Some recipients were accepted, some refused: the message counts as sent."""


@dataclass(frozen=True, slots=True)
class Parcel:
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes


class Transport(Protocol):
    async def __aenter__(self) -> "Transport": ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def send(self, parcel: Parcel) -> None: ...

    async def reconnect(self) -> None: ...


class _PhaseTrackingSMTP(aiosmtplib.SMTP):
    """aiosmtplib's client, noting when a transaction reached DATA (RFC 5321 §3.3: MAIL and RCPT were accepted)."""

    reached_data = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.reached_data = True
        return await super().data(message, **kwargs)


class SmtpTransport:
    """One SMTP session per delivery round; messages go through it one by one."""

    def __init__(self, settings: SmtpDelivery, credentials: Credentials) -> None:
        self._settings = settings
        self._credentials = credentials
        self._client: _PhaseTrackingSMTP | None = None

    async def __aenter__(self) -> "SmtpTransport":
        self._client = await self._logged_in_client()
        return self

    async def reconnect(self) -> None:
        """A fresh session after one was lost; raises as entering does when the server is down or refuses us."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self._client = await self._logged_in_client()

    async def _logged_in_client(self) -> "_PhaseTrackingSMTP":
        s = self._settings
        context = s.ssl_context()
        client = _PhaseTrackingSMTP(
            hostname=s.host,
            port=s.effective_port,
            use_tls=s.tls == "implicit",
            start_tls=True if s.tls == "starttls" else False,
            tls_context=context,
            timeout=s.timeout_seconds,
        )
        try:
            await client.connect()
            _keep_alive(client)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
            client.close()
            raise self._connect_problem(error) from error
        try:
            await self._credentials.login_smtp(client)  # a password, or an OAuth2 token over SASL
        except ServerRefused:
            client.close()  # an OAuth2 refusal already names the server (or the token endpoint) and the fix
            raise
        except aiosmtplib.SMTPAuthenticationError as error:
            client.close()
            if error.code in TEMPORARY_AUTH_CODES:
                raise DeliveryError(f"{self.server}: login failed for now: {error.code} {error.message}",
                                    permanent=False, connection=True) from error
            raise LoginRefused(self.server, f"login as {s.user} refused: {error.code} {error.message}",
                               "check delivery.user and the password (delivery.password_env or delivery.password_file)") from error
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, asyncio.TimeoutError) as error:
            client.close()
            raise self._connect_problem(error) from error
        except aiosmtplib.SMTPException as error:
            client.close()
            raise ServerRefused(self.server, f"cannot log in: {decoded(error)}",
                                "use delivery.tls = \"starttls\" or \"implicit\", or remove delivery.user") from error
        return client

    @property
    def server(self) -> str:
        return f"SMTP {self._settings.host}:{self._settings.effective_port}"

    def _connect_problem(self, error: BaseException) -> Exception:
        untrusted = _certificate_error(error)
        if untrusted is not None:
            return ServerRefused(self.server, f"certificate not trusted: {untrusted.verify_message}",
                                 "set delivery.tls_ca_file to the server's CA (or fix delivery.host)")
        return DeliveryError(f"{self.server} unreachable: {decoded(error) or type(error).__name__}",
                             permanent=False, connection=True)

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
                self._client.close()
            self._client = None

    async def probe(self) -> "SubmissionProbe":
        """Connect, (START)TLS and log in as a delivery round does, then QUIT: nothing is sent.

        Raises ServerRefused (LoginRefused for a refused AUTH) or DeliveryError caused by the network error.
        """
        async with self:
            assert self._client is not None
            return await _submission_probe(self._client, self._settings)

    async def send(self, parcel: Parcel) -> None:
        client = self._client
        assert client is not None, "use the transport as an async context manager"
        client.reached_data = False
        try:
            errors, _response = await client.sendmail(parcel.envelope_from, list(parcel.recipients), parcel.raw)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [item.code for item in error.recipients]
            raise DeliveryError(f"recipients refused: {error}", permanent=all(code >= 500 for code in codes)) from error
        except aiosmtplib.SMTPResponseException as error:
            # 421: the server is shutting the channel (RFC 5321 §3.8), not refusing this message.
            raise DeliveryError(
                f"SMTP {error.code} {error.message}", permanent=error.code >= 500, connection=error.code == 421
            ) from error
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError, asyncio.TimeoutError) as error:
            raise _lost_connection(error, client.reached_data) from error
        if errors and len(errors) >= len(parcel.recipients):
            raise DeliveryError(f"recipients refused: {errors}", permanent=all(code >= 500 for code, _ in errors.values()))
        if errors:
            # Delivered to the others: resending would duplicate their copy, so record the refusal instead.
            raise PartialDelivery(f"refused by the server for: {', '.join(f'{address} ({code})' for address, (code, _) in errors.items())}")


def _lost_connection(error: BaseException, reached_data: bool) -> DeliveryError:
    if reached_data:
        return DeliveryError(f"SMTP connection lost while the server took this message (after MAIL and RCPT were "
                             f"accepted): {str(error) or type(error).__name__}", permanent=False, connection=True, during_data=True)
    return DeliveryError(f"SMTP connection lost: {error}", permanent=False, connection=True)


def _keep_alive(client: aiosmtplib.SMTP) -> None:
    transport = client.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        enable_keepalive(sock)


def _certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """aiosmtplib wraps the TLS handshake's failure; find the certificate verdict in the chain of causes."""
    return next((cause for cause in causes(error) if isinstance(cause, ssl.SSLCertVerificationError)), None)


@dataclass(frozen=True, slots=True)
class SubmissionProbe:
    """What a session with the submission server showed (`check-config --connect`)."""

    server_name: str  # the first word of the EHLO reply
    tls: bool
    authenticated_as: str | None
    auth_offered: tuple[str, ...]


async def _submission_probe(client: aiosmtplib.SMTP, settings: SmtpDelivery) -> SubmissionProbe:
    if client.is_ehlo_or_helo_needed:  # without TLS or AUTH the session has not greeted yet
        await client.ehlo()
    ehlo = client.last_ehlo_response
    greeting = ehlo.message.split()[0] if ehlo is not None and ehlo.message.split() else "?"
    return SubmissionProbe(
        server_name=greeting,
        tls=client.get_transport_info("sslcontext") is not None,
        authenticated_as=settings.user,
        auth_offered=tuple(sorted(client.supported_auth_methods)),
    )


class MaildirTransport:
    """Writes each message as a file into <path>/new (tmp/ first, then renamed: readers never see half a file)."""

    def __init__(self, settings: MaildirDelivery) -> None:
        self._path = settings.path

    async def __aenter__(self) -> "MaildirTransport":
        for folder in ("tmp", "new", "cur"):
            (self._path / folder).mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def reconnect(self) -> None:
        return None  # a folder has no session to lose

    async def send(self, parcel: Parcel) -> None:
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.{socket.gethostname()}"
        temporary = self._path / "tmp" / name
        header = f"Return-Path: <{parcel.envelope_from}>\r\nDelivered-To: {', '.join(parcel.recipients)}\r\n"
        try:
            temporary.write_bytes(header.encode("ascii", "replace") + parcel.raw)
            os.replace(temporary, self._path / "new" / name)
        except OSError as error:
            raise DeliveryError(f"cannot write to {self._path}: {error}", permanent=False, connection=True) from error


def outgoing_folder(settings: MaildirDelivery) -> Path:
    return settings.path / "new"
