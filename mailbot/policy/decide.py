"""Run the policy table over one situation; safety caps apply after the deciding rule."""

from __future__ import annotations

from mailbot.domain.decisions import Decision, PolicySettings, Situation
from mailbot.policy.rules import RULES


def decide(situation: Situation, settings: PolicySettings) -> Decision:
    decision = first_matching_rule(situation, settings)
    if decision.reply is None:
        return decision
    if not is_replyable(situation.message.sender.email if situation.message.sender else ""):
        return decision.without_reply("unusable_address")
    if reply_cap_reached(situation, settings):
        # Two robots answering each other would otherwise loop forever; the cause is still recorded.
        return decision.without_reply("auto_reply_cap")
    return decision


def first_matching_rule(situation: Situation, settings: PolicySettings) -> Decision:
    for _name, rule in RULES:
        decision = rule(situation, settings)
        if decision is not None:
            return decision
    raise AssertionError("the last rule of RULES always decides")


def is_replyable(address: str) -> bool:
    """A plain ASCII addr-spec an SMTP server will take in RCPT TO (no SMTPUTF8 assumed)."""
    local, _, domain = address.rpartition("@")
    return (
        bool(local and domain)
        and address.isascii()
        and not any(character.isspace() or character in "<>()[],;:\\\"" for character in address)
        and "." in domain
    )


def reply_cap_reached(situation: Situation, settings: PolicySettings) -> bool:
    return situation.auto_replies_to_sender_last_hour >= settings.auto_replies_per_sender_per_hour
