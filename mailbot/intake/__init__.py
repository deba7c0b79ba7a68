"""Intake: each message from the mailbox to its recorded outcome, case change and replies, in one transaction."""
