"""mailbot: an email-first support desk bot that runs a vendor's support policy from its support@ mailbox."""

__version__ = "0.1.0"
