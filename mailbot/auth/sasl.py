"""SASL messages that carry an OAuth2 bearer token: XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal

Mechanism = Literal["OAUTHBEARER", "XOAUTH2"]
SEPARATOR = "\x01"  # RFC 7628 §3.1 kvsep; XOAUTH2 uses the same control-A between its fields


def xoauth2_initial_response(user: str, token: str) -> bytes:
    """`user=<user>^Aauth=Bearer <token>^A^A` (https://developers.google.com/gmail/imap/xoauth2-protocol)."""
    return f"user={user}{SEPARATOR}auth=Bearer {token}{SEPARATOR}{SEPARATOR}".encode()


def oauthbearer_initial_response(user: str, token: str, host: str, port: int) -> bytes:
    """RFC 7628 §3.1: a GS2 header naming the authorization identity, then host, port and the bearer token."""
    gs2_header = f"n,a={_saslname(user)},"
    pairs = [f"host={host}", f"port={port}", f"auth=Bearer {token}"]
    return (gs2_header + SEPARATOR + "".join(pair + SEPARATOR for pair in pairs) + SEPARATOR).encode()


def initial_response(mechanism: Mechanism, user: str, token: str, host: str, port: int) -> bytes:
    if mechanism == "OAUTHBEARER":
        return oauthbearer_initial_response(user, token, host, port)
    return xoauth2_initial_response(user, token)


def error_challenge_reply(mechanism: Mechanism) -> bytes:
    """What the client answers to the server's error challenge so the server can finish with a failure.

    RFC 7628 §3.2.3: OAUTHBEARER clients send a single %x01. Google's XOAUTH2 documentation: the client
    sends an empty response.
    """
    return SEPARATOR.encode() if mechanism == "OAUTHBEARER" else b""


def describe_error_challenge(challenge: bytes) -> str:
    """The server's JSON error (RFC 7628 §3.2.2: status, scope, openid-configuration) as one line of text."""
    text = challenge.decode("utf-8", "replace").strip()
    try:
        details = json.loads(text)
    except ValueError:
        return text
    if not isinstance(details, dict):
        return text
    return ", ".join(f"{key}={value}" for key, value in details.items())


def decode_challenge(line: str | bytes) -> bytes:
    """A base64 challenge as sent after `334 ` (SMTP) or `+ ` (IMAP); undecodable text is returned as is."""
    raw = line.encode() if isinstance(line, str) else line
    try:
        return base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        return raw


def _saslname(user: str) -> str:
    """RFC 5801 §4 saslname: ',' and '=' are escaped as =2C and =3D."""
    return user.replace("=", "=3D").replace(",", "=2C")
