"""Ways to hand a finished message on: SMTP (aiosmtplib) or files in a local Maildir (dry runs, trying out)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from mailbot.auth.credentials import Credentials
from mailbot.config import MaildirDelivery, SmtpDelivery


class DeliveryError(Exception):
    """Sending failed. `permanent` (5xx) means retrying cannot help; `connection` means the server is unreachable."""

    def __init__(self, message: str, *, permanent: bool, connection: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.connection = connection


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


class SmtpTransport:
    """One SMTP session per delivery round; messages go through it one by one."""

    def __init__(self, settings: SmtpDelivery, credentials: Credentials) -> None:
        self._settings = settings
        self._credentials = credentials
        self._client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> "SmtpTransport":
        s = self._settings
        context = s.ssl_context()
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.effective_port,
            use_tls=s.tls == "implicit",
            start_tls=True if s.tls == "starttls" else False,
            tls_context=context,
            timeout=s.timeout_seconds,
        )
        try:
            await client.connect()
            await self._credentials.login_smtp(client)
        except aiosmtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"SMTP login as {s.user} refused: {error}", permanent=False, connection=True) from error
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
            raise DeliveryError(f"SMTP {s.host}:{s.effective_port} unreachable: {error}", permanent=False, connection=True) from error
        self._client = client
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
                self._client.close()
            self._client = None

    async def send(self, parcel: Parcel) -> None:
        assert self._client is not None, "use the transport as an async context manager"
        try:
            errors, _response = await self._client.sendmail(parcel.envelope_from, list(parcel.recipients), parcel.raw)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [item.code for item in error.recipients]
            raise DeliveryError(f"recipients refused: {error}", permanent=all(code >= 500 for code in codes)) from error
        except aiosmtplib.SMTPResponseException as error:
            # 421: the server is shutting the channel (RFC 5321 §3.8), not refusing this message.
            raise DeliveryError(
                f"SMTP {error.code} {error.message}", permanent=error.code >= 500, connection=error.code == 421
            ) from error
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError, asyncio.TimeoutError) as error:
            raise DeliveryError(f"SMTP connection lost: {error}", permanent=False, connection=True) from error
        if errors and len(errors) >= len(parcel.recipients):
            raise DeliveryError(f"recipients refused: {errors}", permanent=all(code >= 500 for code, _ in errors.values()))
        if errors:
            # Delivered to the others: resending would duplicate their copy, so record the refusal instead.
            raise PartialDelivery(f"refused by the server for: {', '.join(f'{address} ({code})' for address, (code, _) in errors.items())}")


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
