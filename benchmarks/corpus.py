"""A realistic support-mailbox corpus for the throughput benchmarks (fictional people, example.test addresses).

Each round mixes what a support@ mailbox really receives: new requests in Spanish and English (a quarter with an
attachment, some with #type/#priority), customers answering in every threading style (In-Reply-To, References
only, the subject's case tag only, a reply to the bot's acknowledgment), engineers answering the bot's notices
with commands, out-of-office auto-replies, bounces, strangers, a lapsed contract and Standard-plan customers past
their three requests a month. A round after the first answers the mail the bot sent in the rounds before.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from tests.support.mailgen import customer_mail

ENGINEER = {"email": "maria@vendor.test", "name": "María Ruiz", "team": "support", "level": "N1", "language": "es"}
PRESETS = ("calltech", "lastcall")
ACCOUNTS = 60
PLANS = ("gold", "platinum", "standard", "advanced")
CONTACTS = ("ana", "luis")
SUBJECTS_ES = ("El sistema no arranca tras la actualización", "Error al generar facturas", "Consulta sobre licencias",
               "El backup nocturno falla", "Lentitud en la aplicación", "No podemos acceder al portal")
SUBJECTS_EN = ("The server does not start after the update", "Invoices fail to generate", "Question about licences",
               "Nightly backup fails", "The application is slow", "We cannot log in to the portal")
BODY_ES = "Buenos días:\n\nDesde esta mañana el sistema muestra un error al arrancar. Adjunto el registro.\n\nSaludos.\n"
BODY_EN = "Hello,\n\nSince this morning the system shows an error at start-up. The log is attached.\n\nRegards.\n"
REPLY_ES = "Gracias, lo hemos probado y sigue fallando.\n"
REPLY_EN = "Thanks, we tried it and it still fails.\n"
LOG = b"2026-12-01 08:00:01 ERROR service failed to bind port 8443\n" * 400
TAG = re.compile(r"\[([A-Z]+-\d{4}-\d+)\]")


def directory_toml() -> str:
    """Accounts on four plans (two per contact language), two contacts each; plus a lapsed contract."""
    blocks = []
    for number in range(ACCOUNTS):
        language = "es" if number % 2 == 0 else "en"
        blocks.append(
            f'[[accounts]]\nkey = "acct{number}"\nname = "Cliente {number} S.L."\nplan = "{PLANS[number % len(PLANS)]}"\n'
            f'language = "{language}"\ntimezone = "{"Europe/Madrid" if language == "es" else "America/New_York"}"\n'
            f'contracts = [{{ reference = "C-{number}", starts_on = 2020-01-01, ends_on = 2099-12-31 }}]\n'
            f'contacts = [{_contacts(number)}]\n')
    blocks.append('[[accounts]]\nkey = "lapsed"\nname = "Lapsed Ltd"\nplan = "gold"\n'
                  'contracts = [{ reference = "L-1", starts_on = 2020-01-01, ends_on = 2021-12-31 }]\n'
                  'contacts = [{ email = "old@lapsed.test", name = "Old Customer" }]\n')
    return "\n".join(blocks)


def _contacts(number: int) -> str:
    """Two designated contacts, one on the Standard plan (it allows one)."""
    names = CONTACTS[:1] if PLANS[number % len(PLANS)] == "standard" else CONTACTS
    return ", ".join(f'{{ email = "{name}{number}@cust{number}.test", name = "{name.title()} Cliente {number}" }}' for name in names)


@dataclass
class Sent:
    """The bot's mail a later round can answer: acknowledgments to customers, notices to the engineer."""

    acknowledgments: list[tuple[str, str, str]] = field(default_factory=list)  # (customer, Message-ID, subject)
    notices: list[tuple[str, str]] = field(default_factory=list)  # (Message-ID, subject)

    @classmethod
    def read(cls, raws: Sequence[bytes]) -> "Sent":
        sent = cls()
        for raw in raws:
            message = message_from_bytes(raw, policy=policy.default)
            subject, message_id, to = str(message["Subject"] or ""), str(message["Message-ID"] or ""), str(message["To"] or "")
            if not TAG.search(subject) or not message_id:
                continue
            if ENGINEER["email"] in to:
                sent.notices.append((message_id.strip("<>"), subject))
            elif "@cust" in to:
                sent.acknowledgments.append((_address(to), message_id.strip("<>"), subject))
        return sent


def _address(header: str) -> str:
    found = re.search(r"[\w.+-]+@[\w.-]+", header)
    return found.group(0) if found else header


class Corpus:
    """Generates rounds of mail; remembers the customers' own requests so later mail can answer them."""

    def __init__(self, seed: int = 12) -> None:
        self._random = random.Random(seed)
        self._requests: list[tuple[str, str, str]] = []  # (sender, Message-ID, subject) of new requests

    def round(self, count: int, sent: Sent | None = None) -> list[bytes]:
        return [self.message(n, sent) for n in range(count)]

    def message(self, n: int, sent: Sent | None) -> bytes:
        slot = n % 20
        if slot < 9:
            return self._new_request(self._contact(premium=True), n)
        if slot < 12:
            return self._customer_reply(n, sent)
        if slot == 12 and sent and sent.notices:
            return self._engineer_reply(sent)
        if slot in (12, 13):
            return self._auto_reply()
        if slot == 14:
            return self._bounce()
        if slot == 15:
            return customer_mail(sender=f"someone{n}@elsewhere.test", sender_name="Someone", subject="Oferta comercial",
                                 body="Hola, les escribo para ofrecerles nuestros servicios.\n")
        if slot == 16:
            return self._new_request("old@lapsed.test", n)
        return self._new_request(self._contact(premium=False), n)

    def _contact(self, *, premium: bool) -> str:
        """A contact on Calltech's plans (no monthly limit) or on the Standard/Advanced plans (three a month)."""
        choices = [number for number in range(ACCOUNTS) if (PLANS[number % len(PLANS)] in ("gold", "platinum")) == premium]
        number = self._random.choice(choices)
        name = CONTACTS[0] if PLANS[number % len(PLANS)] == "standard" else self._random.choice(CONTACTS)
        return f"{name}{number}@cust{number}.test"

    def _new_request(self, sender: str, n: int) -> bytes:
        spanish = _number_of(sender) % 2 == 0
        subject = self._random.choice(SUBJECTS_ES if spanish else SUBJECTS_EN) + f" ({n})"
        if n % 7 == 0:
            subject += " #priority P2"
        attachment = ("registro.log" if spanish else "service.log", "text/plain", LOG) if n % 4 == 0 else None
        message_id = f"{uuid.uuid4().hex}@{sender.split('@')[1]}"
        self._requests.append((sender, message_id, subject))
        return customer_mail(sender=sender, sender_name=sender.split("@")[0].title(), subject=subject,
                             body=BODY_ES if spanish else BODY_EN, message_id=message_id, attachment=attachment)

    def _customer_reply(self, n: int, sent: Sent | None) -> bytes:
        """Four threading styles in turn; the bot's own acknowledgments once a round has seen them."""
        style = n % 4
        if sent and sent.acknowledgments and style in (0, 1):
            sender, ack_id, subject = self._random.choice(sent.acknowledgments)
            if style == 0:  # a reply to the acknowledgment, as every mail client writes it
                return self._reply(sender, f"Re: {subject}", in_reply_to=ack_id, references=(ack_id,))
            tag = TAG.search(subject)
            return self._reply(sender, f"RE: [{tag.group(1) if tag else ''}] más datos")  # only the case tag
        if not self._requests:
            return self._new_request(self._contact(premium=True), n)
        sender, original, subject = self._random.choice(self._requests)
        if style in (0, 2):
            return self._reply(sender, f"Re: {subject}", in_reply_to=original)
        return self._reply(sender, f"RE: {subject}", references=(f"{uuid.uuid4().hex}@x.test", original))

    def _reply(self, sender: str, subject: str, *, in_reply_to: str | None = None, references: tuple[str, ...] = ()) -> bytes:
        spanish = _number_of(sender) % 2 == 0
        return customer_mail(sender=sender, sender_name=sender.split("@")[0].title(), subject=subject,
                             body=REPLY_ES if spanish else REPLY_EN, in_reply_to=in_reply_to, references=references)

    def _engineer_reply(self, sent: Sent) -> bytes:
        notice_id, subject = self._random.choice(sent.notices)
        command = self._random.choice(("#priority P3\n", "#type question\n", "", "#internal\n"))
        return customer_mail(sender=ENGINEER["email"], sender_name=ENGINEER["name"], subject=f"Re: {subject}",
                             body=f"{command}Hola, por favor reinicie el servicio y nos cuenta.\n",
                             in_reply_to=notice_id, references=(notice_id,))

    def _auto_reply(self) -> bytes:
        sender = self._contact(premium=True)
        return customer_mail(sender=sender, subject="Fuera de la oficina / Out of office",
                             headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
                             body="Estoy fuera hasta el lunes. / I am out of the office until Monday.\n")

    def _bounce(self) -> bytes:
        return customer_mail(sender="MAILER-DAEMON@mx.example.test", sender_name="Mail Delivery System",
                             subject="Undelivered Mail Returned to Sender",
                             headers={"Auto-Submitted": "auto-replied", "X-Failed-Recipients": "nobody@gone.test"},
                             body="This is the mail system.\n\nI'm sorry to have to inform you that your message could"
                                  " not be delivered to one or more recipients.\n")


def _number_of(sender: str) -> int:
    digits = re.search(r"\d+", sender)
    return int(digits.group(0)) if digits else 0
