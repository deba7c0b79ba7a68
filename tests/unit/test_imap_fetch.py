"""A FETCH answer without the body never loses a message: fetched again alone, quarantined if it stays empty."""

from __future__ import annotations

from typing import Any

from mailbot.auth.credentials import PasswordCredentials
from mailbot.config import ImapSource as ImapSettings
from mailbot.db.checkpoints import Position
from mailbot.sources.imap import ImapMailSource


class PartialServer:
    """Stands in for the IMAP connection at the FETCH/SEARCH level: answers as servers do when a body is missing."""

    def __init__(self, bodies: dict[int, bytes], body_less: dict[int, int], expunged_after_search: set[int]) -> None:
        self._bodies = bodies
        self._body_less = body_less  # uid -> how many FETCHes answer without BODY[]
        self._expunged = expunged_after_search

    def search(self, criteria: list[Any]) -> list[int]:
        if criteria[1].endswith(":*"):
            return sorted(self._bodies)
        uid = int(criteria[1])
        return [uid] if uid in self._bodies and uid not in self._expunged else []

    def fetch(self, uids: list[int], items: list[str]) -> dict[int, dict[bytes, Any]]:
        if items == ["RFC822.SIZE"]:
            return {uid: {b"RFC822.SIZE": len(self._bodies[uid])} for uid in uids}
        answers: dict[int, dict[bytes, Any]] = {}
        for uid in uids:
            if uid in self._expunged:
                continue
            if self._body_less.get(uid, 0) > 0:
                self._body_less[uid] -= 1
                answers[uid] = {b"SEQ": uid, b"FLAGS": ()}
            else:
                answers[uid] = {b"SEQ": uid, b"BODY[]": self._bodies[uid]}
        return answers


def source_over(server: PartialServer) -> ImapMailSource:
    settings = ImapSettings(host="127.0.0.1", tls="none", user="support@example.test", password_env="UNUSED")
    source = ImapMailSource(settings, PasswordCredentials("support@example.test", "x"), 10_000_000)
    source._client = server  # type: ignore[assignment] # noqa: SLF001 - the connection, at the level under test
    source._uidvalidity = 7  # noqa: SLF001
    return source


def test_a_body_missing_once_is_fetched_again_and_a_lasting_one_is_quarantined_not_skipped() -> None:
    bodies = {1: b"Subject: a\r\n\r\na", 2: b"Subject: b\r\n\r\nb", 3: b"Subject: c\r\n\r\nc", 4: b"Subject: d\r\n\r\nd"}
    server = PartialServer(bodies, body_less={2: 1, 3: 99}, expunged_after_search={4})
    mails = list(source_over(server).new_mail(Position(7, 0)))
    assert [(mail.uid, mail.unfetchable is None) for mail in mails] == [(1, True), (2, True), (3, False)]
    assert mails[1].raw == bodies[2]
    assert "UID 3 without a body" in (mails[2].unfetchable or "")  # quarantined with the server's answer
