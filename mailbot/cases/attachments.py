"""A case's stored attachments: the listing, and where each lands when saved to a folder (never outside it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.db.models import Case, CaseMessage, StoredAttachment
from mailbot.outbound.filenames import safe_attachment_name


@dataclass(frozen=True)
class SavedFile:
    attachment_id: int
    path: Path


class UnsafeTarget(Exception):
    """A name that would land outside the chosen folder (cannot happen with safe names; checked all the same)."""


def find_case(session: Session, number: str) -> Case | None:
    return session.scalars(select(Case).where(func.upper(Case.number) == number.strip().strip("[]").upper())).one_or_none()


def case_attachments(session: Session, case_id: int) -> list[tuple[StoredAttachment, CaseMessage]]:
    return list(session.execute(
        select(StoredAttachment, CaseMessage).join(CaseMessage, StoredAttachment.case_message_id == CaseMessage.id)
        .where(CaseMessage.case_id == case_id).order_by(StoredAttachment.id)
    ).tuples())


def attachment_row(attachment: StoredAttachment, message: CaseMessage) -> dict[str, Any]:
    return {
        "id": attachment.id, "filename": attachment.filename, "size": attachment.size,
        "content_type": attachment.content_type, "message": message.id, "author": message.author,
        "from": message.sender, "at": message.created_at.isoformat(), "stored": content_state(attachment),
    }


def content_state(attachment: StoredAttachment) -> str:
    if attachment.content is not None:
        return "yes"
    return "purged" if attachment.content_purged_at is not None else "too large"


def unique_name(name: str, is_taken: Callable[[str], bool]) -> str:
    """`report.pdf`, then `report (2).pdf`, `report (3).pdf`...: the type stays last so the file still opens."""
    if not is_taken(name):
        return name
    path = PurePath(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    number = 2
    while is_taken(f"{stem} ({number}){suffix}"):
        number += 1
    return f"{stem} ({number}){suffix}"


def target_path(folder: Path, filename: str, taken: set[str], overwrite: bool) -> Path:
    """The file's safe name inside `folder`, resolved and checked to be inside it."""
    root = folder.resolve()
    name = unique_name(safe_attachment_name(filename),
                       lambda candidate: candidate.lower() in taken or (not overwrite and (root / candidate).exists()))
    target = (root / name).resolve()
    if target.parent != root:
        raise UnsafeTarget(f"{filename!r} would be written outside {root}")
    taken.add(name.lower())  # lower case: two names differing in case are one file on macOS and Windows
    return target


def save_attachments(attachments: list[StoredAttachment], folder: Path, overwrite: bool) -> list[SavedFile]:
    """Write the stored contents; without `overwrite` an existing file is never replaced (exclusive create)."""
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    saved = []
    for attachment in attachments:
        if attachment.content is None:
            continue
        target = target_path(folder, attachment.filename, taken, overwrite)
        with target.open("wb" if overwrite else "xb") as file:
            file.write(attachment.content)
        saved.append(SavedFile(attachment.id, target))
    return saved
