"""IMAP source keys write the user's "@" as "%40" (RFC 3986 userinfo): imap://support%40example.com@host:993/INBOX.

The key names the mailbox in the checkpoint, the inbound log and the quarantine; with the user's own "@" it
read as a URL with two "@" in every log line.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("mailbox_checkpoints", "inbound_messages", "quarantine")
PREFIX = "imap://"


def encoded(key: str) -> str:
    """imap://a@b.example@host:993/INBOX -> imap://a%40b.example@host:993/INBOX; other keys as they are."""
    if not key.startswith(PREFIX):
        return key
    authority, slash, folder = key[len(PREFIX):].partition("/")
    user, at, host = authority.rpartition("@")
    if not at or "@" not in user:
        return key
    return f"{PREFIX}{user.replace('@', '%40')}@{host}{slash}{folder}"


def decoded(key: str) -> str:
    if not key.startswith(PREFIX):
        return key
    authority, slash, folder = key[len(PREFIX):].partition("/")
    user, at, host = authority.rpartition("@")
    return f"{PREFIX}{user.replace('%40', '@')}{at}{host}{slash}{folder}" if at else key


def rewrite(convert) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    for table in TABLES:
        keys = connection.execute(sa.text(f"SELECT DISTINCT source FROM {table} WHERE source LIKE 'imap://%'")).scalars()
        for key in list(keys):
            if convert(key) != key:
                connection.execute(sa.text(f"UPDATE {table} SET source = :new WHERE source = :old"),
                                   {"new": convert(key), "old": key})


def upgrade() -> None:
    rewrite(encoded)


def downgrade() -> None:
    rewrite(decoded)
