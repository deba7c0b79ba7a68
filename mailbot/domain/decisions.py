"""What policy decides about one message: the outcome, the rule that decided, and the reply to send."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from mailbot.config import EngineerSettings, PlanSettings
from mailbot.domain.directory import SenderStanding, ThreadMatch
from mailbot.domain.messages import InboundMessage

if TYPE_CHECKING:
    from mailbot.policy.classify import Classification
    from mailbot.policy.commands import EngineerMessage
    from mailbot.policy.conversation import SurveyAnswer
    from mailbot.policy.prepaid_hours import CardBalance


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
    ENGINEER_COMMAND_ERRORS = "engineer_command_errors"
    SURVEY_THANKS = "survey_thanks"
    SURVEY_CORRECTION = "survey_correction"
    ESCALATION_RECEIVED = "escalation_received"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    MAINTENANCE_TOO_SOON = "maintenance_too_soon"
    NO_WARRANTY = "no_warranty"


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
    maintenances_this_year: int = 0  # maintenance cases the account opened this contract year, before this one
    engineer: EngineerSettings | None = None  # the sender is one of our engineers
    case_plan: PlanSettings | None = None  # the plan of the case the message threads into
    # The current prepaid-hours card of the account concerned (the case's for an engineer, else the sender's);
    # None: no prepaid hours.
    prepaid_hours: CardBalance | None = None


@dataclass(frozen=True, slots=True)
class PolicySettings:
    support_address: str
    own_message_id_domain: str
    trusted_authserv_ids: tuple[str, ...]
    auto_replies_per_sender_per_hour: int
    boundary_hosts: tuple[str, ...] = ()  # our receiving servers' names in Received lines (see policy.authentication)
    default_timezone: str = "UTC"
    support_aliases: tuple[str, ...] = ()  # other addresses that deliver into the support mailbox
    reopen_window_days: int = 10
    engineer_names: tuple[tuple[str, str], ...] = ()  # (name, first name or address in lower case -> address)
    survey_aspects: tuple[str, ...] = ("response_time", "solution_quality", "communication", "overall")  # keys, in order


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    rule: str  # the name of the rule that decided, as in policy.rules.RULES
    reason: str  # for the operator's log
    reply: ReplyKind | None = None
    reply_suppressed_by: str | None = None  # set when a reply was due but a safety rule withheld it
    engineer_message: EngineerMessage | None = None  # an engineer's reply: commands and the text to relay
    survey: SurveyAnswer | None = None  # a survey answer: ratings per aspect and comment
    reopen: bool = False
    escalation: bool = False  # the customer asks to escalate
    related_case_id: int | None = None  # a new case following up a case closed too long ago
    beyond_maintenance_allowance: bool = False  # a maintenance beyond the plan's included ones this contract year
    out_of_scope: tuple[str, ...] = ()  # phrases that make the request look out of scope (a hint, never a refusal)

    def without_reply(self, because: str) -> Decision:
        return replace(self, reply=None, reply_suppressed_by=because)
