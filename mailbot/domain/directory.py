"""Plain values describing who a sender is and which case a message belongs to, loaded for policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.policy.warranty import WarrantyCover


@dataclass(frozen=True, slots=True)
class ContractTerm:
    reference: str
    starts_on: date
    ends_on: date | None  # None: no end date (e.g. free support while the customer holds products)
    prepaid_remote_hours: float | None = None  # None: the plan's prepaid hours

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True, slots=True)
class SenderStanding:
    """A designated contact and the account it speaks for."""

    contact_id: int
    contact_email: str
    contact_name: str
    account_id: int
    account_key: str
    account_name: str
    plan_name: str
    language: str | None  # contact's, else account's; None: use the configured default
    timezone: str | None  # contact's, else account's (for showing times to this person)
    contracts: tuple[ContractTerm, ...]
    account_timezone: str | None = None  # the account's own: its contract days and quota months
    warranty: WarrantyCover | None = None  # the account's hardware warranty (plan defaults filled in); None: none
    account_contacts: frozenset[str] = frozenset()  # every designated contact of the account, this one included

    def has_valid_contract(self, day: date) -> bool:
        return any(term.covers(day) for term in self.contracts)

    def contract_on(self, day: date) -> ContractTerm | None:
        """The contract covering `day`; of overlapping ones, the latest started (the renewal)."""
        covering = [term for term in self.contracts if term.covers(day)]
        return max(covering, key=lambda term: term.starts_on) if covering else None


class ThreadEvidence(StrEnum):
    REFERENCE = "reference"  # In-Reply-To/References names a message of the case
    SUBJECT_TAG = "subject_tag"  # only the [CASE-…] tag in the subject


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    """The existing case a message seems to belong to, and why we think so."""

    case_id: int
    case_number: str
    account_id: int
    status: str
    evidence: ThreadEvidence
    closed_at: datetime | None = None
    survey_pending: bool = False  # closed with a survey that has no answer yet
    survey_corrected: bool = False  # the customer was already asked once to fix an incomplete answer
    plan_name: str = ""  # the case's account's plan
    via_notice: bool = False  # the message answers a notice the bot sent to its sender (an engineer)

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"
