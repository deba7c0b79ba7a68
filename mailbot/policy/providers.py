"""Known mailbox providers: which authserv-ids their receiving boundary stamps, so sender verification is on by default."""

from __future__ import annotations

from mailbot.policy.authentication import MISSING_AUTHSERV_ID

# Microsoft 365 writes Authentication-Results with no authserv-id ("spf=pass (sender IP is …) …; compauth=pass
# reason=100") and seals ARC as "i=1; mx.microsoft.com 1; …". Google Workspace and Gmail stamp mx.google.com on
# both. Each tenant's mail passes the same boundary, so these ids are only trusted as the topmost block.
PROVIDER_AUTHSERV_IDS: dict[str, tuple[str, ...]] = {
    "microsoft365": (MISSING_AUTHSERV_ID, "mx.microsoft.com"),
    "google": ("mx.google.com",),
    "none": (),
}
# Their hosts as Received lines name them ("by AM4PEPF00012345.mail.protection.outlook.com", "by mx.google.com"):
# results count only from above the hop on which these took the message from outside.
PROVIDER_BOUNDARY_HOSTS: dict[str, tuple[str, ...]] = {
    "microsoft365": ("*.outlook.com",),
    "google": ("mx.google.com",),
    "none": (),
}
# The IMAP hosts that tell whose mailbox it is when security.provider is "auto".
PROVIDER_IMAP_HOSTS: dict[str, str] = {
    "outlook.office365.com": "microsoft365",
    "imap.gmail.com": "google",
}


def effective_provider(setting: str, imap_host: str | None) -> str:
    """The configured provider, or the one the IMAP host names when the setting is "auto"."""
    if setting != "auto":
        return setting
    return PROVIDER_IMAP_HOSTS.get((imap_host or "").strip().lower().rstrip("."), "none")


def trusted_authserv_ids(provider: str, configured: tuple[str, ...]) -> tuple[str, ...]:
    """The provider's ids followed by the operator's own (a gateway in front of the provider, a self-hosted MX)."""
    return tuple(dict.fromkeys((*PROVIDER_AUTHSERV_IDS.get(provider, ()), *(value.lower() for value in configured))))


def boundary_hosts(provider: str, configured: tuple[str, ...], authserv_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The provider's hosts and the operator's; with none configured, the operator's authserv-ids, which RFC 8601
    §2.5 recommends be the host names of the servers that write them."""
    own = configured or tuple(value for value in authserv_ids if value != MISSING_AUTHSERV_ID)
    return tuple(dict.fromkeys((*PROVIDER_BOUNDARY_HOSTS.get(provider, ()), *(value.lower() for value in own))))
