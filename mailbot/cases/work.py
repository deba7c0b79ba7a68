"""Working a case: notifying engineers, relaying their answers, obeying their commands, closing and reopening.

Everything here runs inside the ingest transaction of the message that caused it, so a case change and the
mail it sends commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.config import ALWAYS_OPEN, EngineerSettings
from mailbot.config_base import in_language
from mailbot.db.models import Account, Case, CaseEvent, CaseMessage, Contact, SurveyRating
from mailbot.db.outgoing import CaseCopy, queue_outgoing
from mailbot.db.write_behind import add_row
from mailbot.domain.messages import Attachment
from mailbot.db.queries import is_among
from mailbot.outbound.labels import case_labels, closed_because, long_local_time
from mailbot.outbound.filenames import safe_attachment_name
from mailbot.outbound.notices import Addressee, Notices, ThreadHeaders
from mailbot.outbound.replies import OutgoingMail
from mailbot.outbound.survey import survey_context
from mailbot.policy.calendar import BusinessCalendar, deadline, elapsed
from mailbot.policy.commands import Command
from mailbot.policy.conversation import SurveyAnswer, own_words
from mailbot.policy.decide import is_replyable
from mailbot.app import App
from mailbot.cases.hours_statements import debit_prepaid_hours

SURVEYED = ("solved", "inactive")
ENGINEER_THREAD_REFERENCES = 10  # newest notices named in References beside the first
ATTACHMENT_BUDGET = 15_000_000  # bytes of files one notice carries; common relays refuse mail over 25 MB
MAX_NAMED_LEFT_OUT = 50  # a notice names this many of the files it leaves out and counts the others


def attachable(attachments: Sequence[Attachment], max_files: int) -> tuple[tuple[tuple[str, str, bytes], ...], list[str]]:
    """The stored files that fit in one message (at most max_files), and the names of those left out.

    Names are made safe here, so the notice's text names each file as its attachment is called.
    """
    files: list[tuple[str, str, bytes]] = []
    left_out: list[str] = []
    budget = ATTACHMENT_BUDGET
    for item in attachments:
        name = safe_attachment_name(item.filename)
        if item.content is not None and len(item.content) <= budget and len(files) < max_files:
            files.append((name, item.content_type, item.content))
            budget -= len(item.content)
        else:
            left_out.append(name)
    return tuple(files), left_out


def left_out_context(left_out: list[str]) -> dict[str, Any]:
    """What a notice says about files it does not carry: the first names, then how many more."""
    return {"attachments_left_out": left_out[:MAX_NAMED_LEFT_OUT],
            "attachments_left_out_more": max(len(left_out) - MAX_NAMED_LEFT_OUT, 0)}
CLOSED, OPEN, WAITING = "closed", "open", "waiting"
_NOTICES_SENT = (select(CaseMessage.message_id, CaseMessage.recipients)
                 .where(CaseMessage.case_id == bindparam("case"), CaseMessage.direction == "out",
                        CaseMessage.internal.is_(True))
                 .order_by(CaseMessage.id))  # built once: compiled once


def describe_survey(answer: SurveyAnswer) -> str:
    """'overall=4 muy bien' or 'response_time=5 overall=4; missing solution_quality; out of range 6' for the events."""
    parts = [" ".join([*(f"{aspect}={rating}" for aspect, rating in answer.ratings), answer.comment]).strip()]
    if answer.missing:
        parts.append(f"missing {', '.join(answer.missing)}")
    if answer.out_of_range or answer.surplus:
        parts.append(f"not read {' '.join(str(number) for number in (*answer.out_of_range, *answer.surplus))}")
    return "; ".join(part for part in parts if part)


def managers_in_roles(roles: tuple[str, ...], addresses: dict[str, str | None]) -> list[str]:
    """The addresses of the roles named, in the plan's order, each once; a role the account has not filled is skipped."""
    return list(dict.fromkeys(address for role in roles if (address := addresses.get(role))))


class CaseWork:
    def __init__(self, app: App, session: Session, case: Case, now: datetime, *, opened_now: bool = False) -> None:
        self._app = app
        self._opened_now = opened_now  # the case was opened in this transaction: it has sent nothing yet
        self._session = session
        self.case = case
        self._now = now
        self._notices = Notices(app.settings.support, app.replies.renderer)
        self._written_at = now  # when the engineer wrote the commands being applied (their ledger date)
        self.escalation_requested = False  # an #escalate command was applied: the SLA stage sends it

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def notices(self) -> Notices:
        return self._notices

    # -- who ------------------------------------------------------------------------------------------

    def engineers_to_notify(self) -> list[EngineerSettings]:
        settings = self._app.settings
        if self.case.assigned_to and self.case.assigned_to in self._app.engineers:
            return [self._app.engineers[self.case.assigned_to]]
        plan_name = self.case.account.plan_name
        for rule in settings.routing:
            if (not rule.plans or plan_name in rule.plans) and (not rule.ticket_types or self.case.ticket_type in rule.ticket_types):
                return [engineer for engineer in settings.engineers if engineer.team == rule.team]
        return list(settings.engineers)

    def queue_priority(self) -> int:
        plan = self._app.catalog.plan(self.case.account.plan_name)
        return plan.queue_priority if plan else 0

    def account_managers(self) -> list[str]:
        """The account's managers in the roles its plan keeps informed (Xpears Advanced: the CAM only)."""
        plan = self._app.catalog.plan(self.case.account.plan_name)
        account = self.case.account
        return managers_in_roles(plan.account_managers if plan else (), {"tam": account.tam_email, "cam": account.cam_email})

    def customer(self) -> Addressee:
        """The case's contact, with the account's other designated contacts who wrote in the thread in Cc."""
        contacts = set(self._session.scalars(select(Contact.email).where(Contact.account_id == self.case.account_id)))
        inbound = self._session.execute(
            select(CaseMessage.sender, CaseMessage.recipients).where(
                CaseMessage.case_id == self.case.id, CaseMessage.direction == "in", CaseMessage.author == "customer"
            ).order_by(CaseMessage.id)
        ).all()
        # Colleagues who wrote in the thread, or whom the customer put in To/Cc, stay in it (contacts only).
        people = [address for sender, recipients in inbound
                  for address in (sender, *(item.strip() for item in recipients.split(",")))]
        writers = [address for address in dict.fromkeys(people) if address in contacts]
        main = self.case.contact.email if self.case.contact else (writers[0] if writers else "")
        others = tuple(dict.fromkeys(address for address in writers if address != main and is_replyable(address)))
        return Addressee(main, self.case.contact.name if self.case.contact else "", others)

    # -- mail -----------------------------------------------------------------------------------------

    def customer_thread(self) -> ThreadHeaders:
        ids = self._session.scalars(
            select(CaseMessage.message_id).where(CaseMessage.case_id == self.case.id, CaseMessage.internal.is_(False))
            .order_by(CaseMessage.id)
        ).all()
        return ThreadHeaders(ids[-1] if ids else None, tuple(ids))

    def case_context(self, language: str) -> dict[str, Any]:
        case = self.case
        zone = self._app.replies.zone_for(None)
        plan = self._app.catalog.plan(case.account.plan_name)
        return {
            "subject": case.subject, "account_name": case.account.name,
            "plan_name": (in_language(plan.display_name, language) if plan else None) or case.account.plan_name,
            "contact": case.contact.email if case.contact else "", "status": case.status,
            # Seed 001's contact data: name, job title, phone and extension, so an engineer can call back.
            "contact_name": case.contact.name if case.contact else "",
            "contact_title": case.contact.title if case.contact else None,
            "contact_phone": case.contact.phone if case.contact else None,
            "priority": case.priority,
            **case_labels(language, case.status, case.close_reason, case.priority, case.ticket_type),
            "first_response_due": long_local_time(case.first_response_due, zone, language) if case.first_response_due else None,
            "resolution_due": long_local_time(case.resolution_due, zone, language) if case.resolution_due else None,
            "replacement_due": long_local_time(case.replacement_due, zone, language) if case.replacement_due else None,
            "assigned_to": case.assigned_to, "close_reason": case.close_reason,
        }

    def send(self, mail: OutgoingMail, *, internal: bool, author: str = "bot", inbound_id: int | None = None,
             body_text: str | None = None) -> None:
        settings = self._app.settings
        queue_outgoing(
            self._session, message_id=mail.message_id, kind=mail.kind, recipient=mail.recipient,
            envelope_from=settings.outbox.envelope_from or settings.support.address, subject=mail.subject, raw=mail.raw,
            is_auto_reply=False, priority=self.queue_priority(), now=self._now, inbound_id=inbound_id, case_id=self.case.id,
            copy=CaseCopy(settings.support.address, body_text if body_text is not None else mail.body_text, author, internal),
        )

    def event(self, actor: str, kind: str, detail: str = "") -> None:
        add_row(self._session, CaseEvent, {"case_id": self.case.id, "at": self._now, "actor": actor, "kind": kind, "detail": detail})

    def notify_engineers(self, kind: str, extra: dict[str, Any], attachments: tuple[tuple[str, str, bytes], ...] = (),
                         inbound_id: int | None = None) -> None:
        recipients = [(engineer.email, engineer.name, engineer.language, False) for engineer in self.engineers_to_notify()]
        if kind == "engineer_new_case":
            recipients += [(address, "", None, True) for address in self.account_managers()]
        for address, name, language, for_manager in recipients:
            language = language or self._app.settings.support.default_language
            context = {**self.case_context(language), **extra, "for_manager": for_manager}
            mail = self._notices.build(
                kind, language, context, Addressee(address, name), self._now,
                case_number=self.case.number, attachments=attachments, thread=self.engineer_thread(address),
            )
            self.send(mail, internal=True, inbound_id=inbound_id)

    def engineer_thread(self, address: str) -> ThreadHeaders:
        """The notices this case already sent to `address`: each new one answers the first, so they form one thread."""
        if self._opened_now:
            return ThreadHeaders()
        sent = self._session.execute(_NOTICES_SENT, {"case": self.case.id}).all()
        ids = [message_id for message_id, recipients in sent if is_among(address, recipients)]
        if not ids:
            return ThreadHeaders()
        return ThreadHeaders(ids[0], tuple(dict.fromkeys([ids[0], *ids[-ENGINEER_THREAD_REFERENCES:]])))

    def attachable(self, attachments: Sequence[Attachment]) -> tuple[tuple[tuple[str, str, bytes], ...], list[str]]:
        return attachable(attachments, self._app.settings.limits.max_attachments_per_notice)

    def notify_new_case(self, text: str, sender: str, inbound_id: int, attachments: Sequence[Attachment],
                        flags: dict[str, Any] | None = None) -> None:
        """`flags`: what policy noticed for the engineer (beyond_maintenance_allowance, out_of_scope phrases)."""
        files, left_out = self.attachable(attachments)
        self.notify_engineers("engineer_new_case", {"customer_text": text, "customer": sender, **left_out_context(left_out),
                                                    **(flags or {})},
                              files, inbound_id)

    def forward_customer_message(self, text: str, sender: str, what: str, inbound_id: int | None,
                                 attachments: Sequence[Attachment] | None = None) -> None:
        files, left_out = self.attachable(attachments or [])
        self.notify_engineers("engineer_customer_message", {"customer_text": own_words(text) or text, "customer": sender,
                                                             "what": what, **left_out_context(left_out)},
                              files, inbound_id=inbound_id)

    def relay_to_customer(self, engineer: EngineerSettings, body: str, attachments: Sequence[Attachment] | None = None) -> None:
        language = self.case.language
        display = f"{engineer.name} ({self._app.settings.support.display_name})"
        files, left_out = self.attachable(attachments or [])
        mail = self._notices.build(
            "customer_relay", language, {**self.case_context(language), "body": body, "engineer_name": engineer.name},
            self.customer(), self._now, case_number=self.case.number, thread=self.customer_thread(),
            from_name=display, auto_submitted=None, attachments=files,
        )
        if left_out:
            self.event("mailbot", "attachments_not_relayed", ", ".join(left_out))
        self.send(mail, internal=False, author="engineer", body_text=body)
        if self.case.first_response_at is None:
            self.case.first_response_at = self._now
            self.event(engineer.email, "first_response")

    def tell_customer(self, kind: str, extra: dict[str, Any] | None = None) -> None:
        language = self.case.language
        mail = self._notices.build(
            kind, language, {**self.case_context(language), **(extra or {})}, self.customer(), self._now,
            case_number=self.case.number, thread=self.customer_thread(),
        )
        self.send(mail, internal=False)

    # -- state ----------------------------------------------------------------------------------------

    def apply_commands(self, commands: tuple[Command, ...], actor: str, written_at: datetime | None = None) -> None:
        self._written_at = written_at or self._now
        for command in commands:
            self.event(actor, f"#{command.name}", " ".join(filter(None, (command.argument, command.detail))))
            handler = getattr(self, f"_command_{command.name}")
            handler(command, actor)

    def _command_priority(self, command: Command, actor: str) -> None:
        self.case.priority = command.argument
        self.recompute_deadlines()

    def calendar(self) -> BusinessCalendar:
        plan = self._app.catalog.plan(self.case.account.plan_name)
        if plan is None or not self.case.priority:
            return self._app.catalog.calendar(ALWAYS_OPEN)
        return self._app.catalog.calendar_for(plan, self.case.priority)

    def recompute_deadlines(self) -> None:
        """Deadlines from the case's start for its current priority, pushed out by the time it waited on the customer."""
        plan = self._app.catalog.plan(self.case.account.plan_name)
        target = plan.targets.get(self.case.priority or "") if plan else None
        calendar, paused = self.calendar(), timedelta(seconds=self.case.paused_seconds)
        start = self.case.opened_at
        self.case.first_response_due = deadline(start, target.first_response + paused, calendar) if target and target.first_response else None
        self.case.resolution_due = deadline(start, target.resolution + paused, calendar) if target and target.resolution else None

    def _command_type(self, command: Command, actor: str) -> None:
        self.case.ticket_type = command.argument
        if command.argument == "rma" and self.case.rma_started_at is None:
            self.start_rma()

    def start_rma(self) -> None:
        """Seed 001: the warranty process starts when the support case results in an RMA; the replacement counts from now."""
        account, case = self.case.account, self.case
        if account.warranty_option is None:
            return  # no warranty on file: the engineer sees no replacement target, the customer was not promised one
        case.warranty_option, case.warranty_ends_on, case.rma_started_at = account.warranty_option, account.warranty_ends_on, self.now
        case.replacement_due = self._app.catalog.replacement_due(self._app.catalog.plan(account.plan_name),
                                                                 account.warranty_option, self.now)

    def _command_assign(self, command: Command, actor: str) -> None:
        self.case.assigned_to = command.argument
        if command.argument != actor:  # tell the new assignee, in a thread they can answer
            latest = self._session.scalars(
                select(CaseMessage).where(CaseMessage.case_id == self.case.id, CaseMessage.author == "customer")
                .order_by(CaseMessage.id.desc()).limit(1)
            ).first()
            self.forward_customer_message(latest.body_text if latest else "", latest.sender if latest else "", "assigned", None)

    def _command_internal(self, command: Command, actor: str) -> None:
        return None  # the message is recorded as a note and not relayed

    def _command_waiting(self, command: Command, actor: str) -> None:
        if self.case.status == OPEN:
            self.case.status, self.case.waiting_since, self.case.reminded_at = WAITING, self._now, None
            self.event(actor, "clock_paused", "waiting on the customer")

    def _command_close(self, command: Command, actor: str) -> None:
        self.close(command.argument, actor, command.detail)

    def _command_reopen(self, command: Command, actor: str) -> None:
        self.reopen(actor)

    def _command_time(self, command: Command, actor: str) -> None:
        self.case.remote_hours += command.hours
        account = self._session.get(Account, self.case.account_id)
        if account is not None:
            account.remote_hours_used += command.hours
        debit_prepaid_hours(self._app, self._session, self, command, actor, self._written_at)

    def _command_escalate(self, command: Command, actor: str) -> None:
        # The escalation itself is the SLA capability's (which builds on this module): the caller runs it.
        self.case.escalation_requested_at = self._now
        self.escalation_requested = True

    def resume_if_waiting(self, actor: str) -> None:
        if self.case.status == WAITING:
            paused = elapsed(self.case.waiting_since or self._now, self._now, self.calendar())
            self.case.paused_seconds += paused.total_seconds()
            self.case.status, self.case.waiting_since, self.case.reminded_at = OPEN, None, None
            self.recompute_deadlines()
            self.event(actor, "clock_resumed", f"the customer replied; paused {paused}")

    def close(self, reason: str, actor: str, detail: str = "") -> None:
        if self.case.status == CLOSED:
            return
        if self.case.status == WAITING and self.case.waiting_since is not None:
            self.case.paused_seconds += elapsed(self.case.waiting_since, self._now, self.calendar()).total_seconds()
        self.case.status, self.case.closed_at, self.case.close_reason = CLOSED, self._now, reason
        self.case.waiting_since = None
        self.event(actor, "closed", f"{reason} {detail}".strip())
        survey = self._app.settings.cases.survey and reason in SURVEYED
        facts = {"close_reason": reason, "duplicate_of": detail or None,
                 "closed_because": closed_because(reason, detail or None, self.case.language)}
        aspects = survey_context(self._app.settings.cases.survey_aspects, self.case.language)
        self.tell_customer("closure_notice", {**facts, **aspects, "survey": survey})
        for address in self.account_managers():  # kept informed, without the customer's survey
            language = self.case.language
            mail = self._notices.build("closure_notice", language, {**self.case_context(language), **facts, "survey": False},
                                       Addressee(address), self._now, case_number=self.case.number)
            self.send(mail, internal=True)

    def reopen(self, actor: str) -> None:
        if self.case.status != CLOSED:
            return
        self.case.status, self.case.closed_at, self.case.close_reason = OPEN, None, None
        # A new closing asks for a new rating; the earlier one stays in the events.
        self.case.survey_rating, self.case.survey_comment, self.case.survey_at = None, None, None
        self.case.survey_corrected_at = None
        self.case.survey_ratings.clear()
        self.event(actor, "reopened")

    def record_survey(self, answer: SurveyAnswer, actor: str) -> None:
        """The answer as far as it is valid; survey_rating keeps the overall one for older reports and views."""
        self.case.survey_rating, self.case.survey_comment, self.case.survey_at = answer.overall, answer.comment or None, self._now
        self.case.survey_ratings = [SurveyRating(aspect=aspect, rating=rating) for aspect, rating in answer.ratings]
        self.event(actor, "survey", describe_survey(answer))
