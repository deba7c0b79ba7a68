"""Drive closure surveys through the real pipeline: open a case, close it from the engineer, answer the survey."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from mailbot.app import App
from mailbot.runtime.runner import run_once
from tests.support.mailgen import customer_mail

ENGINEER = {"email": "maria@vendor.test", "name": "María Ruiz", "team": "support", "level": "N1", "language": "es"}


@dataclass(frozen=True)
class Mailboxes:
    """The servers a survey runs through: Dovecot holds the support mailbox, the sink receives what the bot sends."""

    app: App
    dovecot: Any
    user: str
    sink: Any

    def deliver(self, raw: bytes, expect: int) -> list[EmailMessage]:
        self.sink.clear()
        self.dovecot.append(self.user, raw)
        run_once(self.app)
        return [mail.message for mail in self.sink.wait_for(expect)] if expect else []


def closed_case(boxes: Mailboxes, customer: str, subject: str) -> EmailMessage:
    """A new case from `customer`, closed `#close solved` by the engineer: returns the customer's closure notice."""
    opened = boxes.deliver(customer_mail(sender=customer, subject=subject, body="El servicio no responde."), 2)
    [notice] = [mail for mail in opened if ENGINEER["email"] in mail["To"]]
    [closure] = boxes.deliver(customer_mail(sender=ENGINEER["email"], sender_name=ENGINEER["name"], subject=f"Re: {notice['Subject']}",
                                            in_reply_to=notice["Message-ID"].strip("<>"), body="#close solved\n"), 1)
    return closure


def answer_survey(boxes: Mailboxes, customer: str, closure: EmailMessage, body: str) -> EmailMessage:
    """The customer replies to the closure notice; returns the bot's one reply (thanks or correction)."""
    [reply] = boxes.deliver(customer_mail(sender=customer, subject=f"Re: {closure['Subject']}",
                                          in_reply_to=closure["Message-ID"].strip("<>"), body=body), 1)
    return reply


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
