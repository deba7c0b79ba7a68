"""What policy decides about one message: the outcome, the rule that decided, and the reply to send."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from mailbot.config import PlanSettings
from mailbot.domain.directory import SenderStanding, ThreadMatch
from mailbot.domain.messages import InboundMessage

if TYPE_CHECKING:
    from mailbot.policy.classify import Classification


class Outcome(StrEnum):
    CASE_OPENED = "case_opened"
    APPENDED = "appended"  # added to an existing case's thread
    REFUSED = "refused"  # not entitled: a polite reply, no case
    IGNORED = "ignored"  # loops, bounces, lists, not for us: no reply at all
    QUARANTINED = "quarantined"  # we could not handle it; kept whole for an operator


class ReplyKind(StrEnum):
    """Each value names a template set under templates/<language>/."""

    ACKNOWLEDGMENT = "acknowledgment"
    UNKNOWN_SENDER = "unknown_sender"
    NO_CONTRACT = "no_contract"
    QUOTA_EXCEEDED = "quota_exceeded"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    MAINTENANCE_TOO_SOON = "maintenance_too_soon"


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything policy may look at for one message, loaded by the service layer."""

    message: InboundMessage
    sender: SenderStanding | None  # None: the From address is no designated contact
    thread: ThreadMatch | None
    auto_replies_to_sender_last_hour: int
    now: datetime
    plan: PlanSettings | None = None  # the sender's account's plan, from the configuration
    classification: Classification | None = None  # type, priority and requested date read from the message
    requests_this_month: int = 0  # cases the account opened this calendar month (its time zone)


@dataclass(frozen=True, slots=True)
class PolicySettings:
    support_address: str
    own_message_id_domain: str
    trusted_authserv_ids: tuple[str, ...]
    auto_replies_per_sender_per_hour: int
    default_timezone: str = "UTC"
    support_aliases: tuple[str, ...] = ()  # other addresses that deliver into the support mailbox


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    rule: str  # the name of the rule that decided, as in policy.rules.RULES
    reason: str  # for the operator's log
    reply: ReplyKind | None = None
    reply_suppressed_by: str | None = None  # set when a reply was due but a safety rule withheld it

    def without_reply(self, because: str) -> Decision:
        return replace(self, reply=None, reply_suppressed_by=because)
