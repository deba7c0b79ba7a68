"""Build the configured mailbox source."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from mailbot.auth.credentials import Credentials, build_credentials
from mailbot.config import ImapSource, MaildirSource as MaildirSettings, Settings
from mailbot.db.queries import is_known_source_ref
from mailbot.sources.base import MailSource
from mailbot.sources.imap import ImapMailSource
from mailbot.sources.maildir import MaildirSource


def build_source(
    settings: Settings, sessions: sessionmaker[Session], credentials: Credentials | None = None
) -> MailSource:
    """`credentials` (kept by the app, so OAuth2 tokens are cached across reconnects) or new ones from settings."""
    source = settings.source
    if isinstance(source, ImapSource):
        return ImapMailSource(source, credentials or build_credentials(source), settings.limits.max_message_bytes)
    assert isinstance(source, MaildirSettings)

    def is_recorded(key: str, source_ref: str) -> bool:
        with sessions() as session:
            return is_known_source_ref(session, key, source_ref)

    return MaildirSource(source.path, source.poll_interval_seconds, is_recorded, settings.limits.max_message_bytes)
