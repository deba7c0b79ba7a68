"""Build the configured mailbox source."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from mailbot.auth.credentials import Credentials, build_credentials
from mailbot.clock import Clock, SystemClock
from mailbot.config import ImapSource, MaildirSource as MaildirSettings, Settings
from mailbot.db.checkpoints import Position, mailbox_checkpoints, raise_checkpoint
from mailbot.db.engine import transaction
from mailbot.db.queries import is_known_source_ref
from mailbot.logs import fields
from mailbot.sources.base import MailSource
from mailbot.sources.imap import ImapMailSource, PrepareCheckpoint
from mailbot.sources.maildir import MaildirSource
from mailbot.sources.partition import Partition, handled_up_to

log = logging.getLogger(__name__)


def build_source(
    settings: Settings, sessions: sessionmaker[Session], credentials: Credentials | None = None,
    partition: Partition | None = None, clock: Clock | None = None,
) -> MailSource:
    """`credentials` (kept by the app, so OAuth2 tokens are cached across reconnects) or new ones from settings.

    `partition` is given by the service (`mailbot run`, one worker's share of the mailbox): its checkpoint is then
    brought up to what earlier runs, with another number of workers, are known to have handled.
    """
    source = settings.source
    if isinstance(source, ImapSource):
        prepare = None if partition is None else checkpoint_preparer(sessions, clock or SystemClock())
        return ImapMailSource(source, credentials or build_credentials(source), settings.limits.max_message_bytes,
                              partition=partition or Partition(), prepare_checkpoint=prepare)
    assert isinstance(source, MaildirSettings)
    if partition is not None and not partition.is_whole:
        raise ValueError("a Maildir source has no UIDs to share between workers")

    def is_recorded(key: str, source_ref: str) -> bool:
        with sessions() as session:
            return is_known_source_ref(session, key, source_ref)

    return MaildirSource(source.path, source.poll_interval_seconds, is_recorded, settings.limits.max_message_bytes)


def checkpoint_preparer(sessions: sessionmaker[Session], clock: Clock) -> PrepareCheckpoint:
    """Start a share's checkpoint where every UID of the mailbox is known handled (see mailbot.sources.partition)."""

    def prepare(mailbox_key: str, partition: Partition, uidvalidity: int) -> None:
        key = partition.checkpoint_key(mailbox_key)
        with transaction(sessions) as session:
            known = mailbox_checkpoints(session, mailbox_key)
            start = handled_up_to(mailbox_key, known, uidvalidity)
            before = known.get(key)
            if before is not None and before.uidvalidity == uidvalidity and before.last_uid >= start:
                return  # the usual case: nothing changed since this share last ran
            if start and raise_checkpoint(session, key, Position(uidvalidity, start), clock.now()):
                log.info("checkpoint moved up to what earlier workers handled", extra=fields(
                    source=key, uidvalidity=uidvalidity, last_uid=start,
                    previous_last_uid=before.last_uid if before and before.uidvalidity == uidvalidity else None))

    return prepare
