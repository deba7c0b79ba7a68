"""Who wrote it: one author per message (RFC 5322 §3.6.2) and our boundary's verdict on it (RFC 8601, RFC 8617)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mailbot.app import sender_verification_ids
from mailbot.config import load_settings
from mailbot.domain.decisions import Outcome, PolicySettings, Situation
from mailbot.entrypoints.commands.check_config import run_check_config
from mailbot.parsing import parse_message
from mailbot.policy.authentication import Boundary, Verdict, authentication_verdict, received_hosts
from mailbot.policy.decide import decide
from mailbot.policy.providers import PROVIDER_AUTHSERV_IDS, boundary_hosts, effective_provider
from tests.support.mailgen import customer_mail
from tests.unit.test_policy import NOW, standing

MICROSOFT = PROVIDER_AUTHSERV_IDS["microsoft365"]
GOOGLE = PROVIDER_AUTHSERV_IDS["google"]

# Microsoft 365 as delivered to a tenant: its A-R has no authserv-id and ends with compauth; the older copy
# below the hop from the internet came with the message (another tenant's boundary, or a forger).
M365_PASS = """\
Received: from AM9PR04MB1234.eurprd04.prod.outlook.com (2603:10a6:20b::12) by
 DB9PR04MB5678.eurprd04.prod.outlook.com with HTTPS; Mon, 23 Nov 2026 09:00:05 +0000
Authentication-Results: spf=pass (sender IP is 192.0.2.25)
 smtp.mailfrom=acme.example.com; dkim=pass (signature was verified)
 header.d=acme.example.com;dmarc=pass action=none
 header.from=acme.example.com;compauth=pass reason=100
Received-SPF: Pass (protection.outlook.com: domain of acme.example.com designates
 192.0.2.25 as permitted sender) receiver=protection.outlook.com; client-ip=192.0.2.25; helo=mail.acme.example.com;
Received: from mail.acme.example.com (192.0.2.25) by
 AM4PEPF00012345.mail.protection.outlook.com (10.167.16.1) with Microsoft SMTP Server; Mon, 23 Nov 2026 09:00:04 +0000
Authentication-Results: spf=fail (sender IP is 198.51.100.7)
 smtp.mailfrom=acme.example.com; dkim=none (message not signed)
 header.d=none;dmarc=fail action=quarantine header.from=acme.example.com;compauth=fail reason=000
"""
M365_SPOOF = """\
Authentication-Results: spf=none (sender IP is 198.51.100.7)
 smtp.mailfrom=elsewhere.example.net; dkim=none (message not signed)
 header.d=none;dmarc=none action=none header.from=acme.example.com;compauth=fail reason=001
Received: from relay.example.net (198.51.100.7) by
 AM4PEPF00012345.mail.protection.outlook.com (10.167.16.1) with Microsoft SMTP Server; Mon, 23 Nov 2026 09:00:04 +0000
"""
# Gmail: ARC set of its own on top, its A-R just below its own Received (Google places it there).
GMAIL_PASS = """\
Received: by 2002:a05:7300:1234:b0:12a:abcd with SMTP id x1csp123456dyb; Mon, 23 Nov 2026 01:00:05 -0800 (PST)
ARC-Seal: i=1; a=rsa-sha256; t=1795424405; cv=none; d=google.com; s=arc-20240605; b=AbCd
ARC-Authentication-Results: i=1; mx.google.com;
       dkim=pass header.i=@acme.example.com header.s=s1 header.b=Xy12;
       spf=pass (google.com: domain of ana@acme.example.com designates 192.0.2.25 as permitted sender) smtp.mailfrom=ana@acme.example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=acme.example.com
Return-Path: <ana@acme.example.com>
Received: from mail.acme.example.com (mail.acme.example.com. [192.0.2.25])
        by mx.google.com with ESMTPS id a1si123456wrx.1; Mon, 23 Nov 2026 01:00:04 -0800 (PST)
Received-SPF: pass (google.com: domain of ana@acme.example.com designates 192.0.2.25 as permitted sender) client-ip=192.0.2.25;
Authentication-Results: mx.google.com;
       dkim=pass header.i=@acme.example.com header.s=s1 header.b=Xy12;
       spf=pass (google.com: domain of ana@acme.example.com designates 192.0.2.25 as permitted sender) smtp.mailfrom=ana@acme.example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=acme.example.com
"""
# Forwarded: the forwarder broke SPF on an earlier Gmail hop; our Gmail boundary now passes it (DKIM survived).
FORWARDED = """\
Received: from fwd.example.org (fwd.example.org. [203.0.113.9])
        by mx.google.com with ESMTPS id b2si99wrx.2; Mon, 23 Nov 2026 01:10:04 -0800 (PST)
Authentication-Results: mx.google.com;
       dkim=pass header.i=@acme.example.com header.s=s1;
       spf=softfail (google.com: domain of transitioning ana@acme.example.com does not designate 203.0.113.9) smtp.mailfrom=ana@acme.example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=acme.example.com
Received: by fwd.example.org (Postfix) with ESMTP id 4AbC; Mon, 23 Nov 2026 09:10:03 +0000
Received: from mail.acme.example.com by mx.google.com with ESMTPS id c3si1wrx.3; Mon, 23 Nov 2026 01:00:04 -0800 (PST)
Authentication-Results: mx.google.com; spf=fail smtp.mailfrom=ana@acme.example.com;
       dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=acme.example.com
"""

# A self-hosted boundary: an internal filter's own id on top (ignored), then one header per milter, all ours.
POSTFIX_MILTERS = """\
Authentication-Results: filter.example.com; spf=fail smtp.mailfrom=acme.example.com
Authentication-Results: mx.example.com; dmarc=pass (p=reject dis=none) header.from=acme.example.com
Authentication-Results: mx.example.com 1; dkim=pass (2048-bit key) header.d=acme.example.com header.i=@acme.example.com
Received: from mail.acme.example.com (mail.acme.example.com [192.0.2.25]) by mx.example.com (Postfix) with ESMTPS id 4Q;
 Mon, 23 Nov 2026 09:00:04 +0000 (UTC)
Authentication-Results: mx.example.com; dmarc=fail header.from=acme.example.com
"""


def message(trace: str = "", **mail: object):  # type: ignore[no-untyped-def]
    raw = customer_mail(sender="ana@acme.example.com", to="support@example.com", **mail)  # type: ignore[arg-type]
    return parse_message(trace.replace("\n", "\r\n").encode() + raw, max_stored_attachment_bytes=0)


def boundary(trusted: tuple[str, ...]) -> Boundary:
    """As the app builds it: a provider's ids bring its hosts; the operator's ids stand for their hosts."""
    provider = next((name for name, ids in PROVIDER_AUTHSERV_IDS.items() if ids and ids == trusted), "none")
    return Boundary(trusted, boundary_hosts(provider, (), () if provider != "none" else trusted))


def verdict_on(trace: str, trusted: tuple[str, ...]) -> Verdict:
    return authentication_verdict(message(trace), boundary(trusted))


def settings(trusted: tuple[str, ...]) -> PolicySettings:
    return PolicySettings(support_address="support@example.com", own_message_id_domain="example.com",
                          trusted_authserv_ids=trusted, auto_replies_per_sender_per_hour=5,
                          boundary_hosts=boundary(trusted).hosts)


def decided(trace: str, trusted: tuple[str, ...], **mail: object):  # type: ignore[no-untyped-def]
    return decide(Situation(message(trace, **mail), standing(), None, 0, NOW), settings(trusted))


@pytest.mark.parametrize(
    ("trace", "trusted", "verdict"),
    [
        (M365_PASS, MICROSOFT, Verdict.PASS),  # the older failing copy below the hop from the internet is ignored
        (M365_SPOOF, MICROSOFT, Verdict.FAIL),  # compauth=fail with no DMARC verdict
        (GMAIL_PASS, GOOGLE, Verdict.PASS),
        (FORWARDED, GOOGLE, Verdict.PASS),  # topmost trusted block wins over an older dmarc=fail of the same id
        (GMAIL_PASS, MICROSOFT, Verdict.NONE),  # Google's headers mean nothing to a Microsoft mailbox
        (M365_PASS, (), Verdict.NONE),
        ("Authentication-Results: mx1.mail.example.com; dmarc=fail header.from=acme.example.com\n", ("*.mail.example.com",),
         Verdict.FAIL),  # wildcard ids for a boundary of many hosts
        (POSTFIX_MILTERS, ("mx.example.com",), Verdict.PASS),
    ],
)
def test_verdict_comes_from_the_topmost_trusted_block(trace: str, trusted: tuple[str, ...], verdict: Verdict) -> None:
    assert verdict_on(trace, trusted) is verdict


def test_a_forgers_passing_copy_below_a_failing_boundary_does_not_help() -> None:
    trace = ("Authentication-Results: mx.google.com; dmarc=fail (p=REJECT) header.from=acme.example.com\n"
             "Received: from evil.example.net by mx.google.com; Mon, 23 Nov 2026 01:00:04 -0800\n"
             "Authentication-Results: mx.google.com; dmarc=pass header.from=acme.example.com\n")
    assert decided(trace, GOOGLE).rule == "forged_sender"


def test_forwarded_genuine_mail_opens_a_case() -> None:
    assert decided(FORWARDED, GOOGLE).outcome is Outcome.CASE_OPENED


def test_dkim_pass_counts_only_when_aligned_with_the_author() -> None:
    unaligned = "Authentication-Results: mx.example.com; dkim=pass header.d=evil.example.net; spf=fail smtp.mailfrom=evil.example.net\n"
    aligned = "Authentication-Results: mx.example.com; dkim=pass header.d=example.com; spf=fail smtp.mailfrom=x.example.net\n"
    assert verdict_on(unaligned, ("mx.example.com",)) is Verdict.FAIL
    assert verdict_on(aligned, ("mx.example.com",)) is Verdict.PASS


ARC_M365 = """\
ARC-Seal: i=2; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=pass; b=QwEr
ARC-Authentication-Results: i=2; mx.microsoft.com 1; spf=pass smtp.mailfrom=acme.example.com;
 dmarc={dmarc} action=none header.from=acme.example.com; dkim=pass header.d=acme.example.com; arc=pass
ARC-Authentication-Results: i=1; fwd.example.org; dmarc=fail header.from=acme.example.com
"""


@pytest.mark.parametrize(("dmarc", "verdict"), [("pass", Verdict.PASS), ("fail", Verdict.FAIL)])
def test_arc_of_our_boundary_is_evidence_when_there_is_no_authentication_results(dmarc: str, verdict: Verdict) -> None:
    assert verdict_on(ARC_M365.replace("{dmarc}", dmarc), MICROSOFT) is verdict


def test_arc_counts_only_at_the_highest_instance() -> None:
    # A trusted id at i=1 under someone else's i=2 was written before our boundary sealed (RFC 8617 §4.2.1).
    trace = ("ARC-Authentication-Results: i=2; fwd.example.org; dmarc=pass header.from=acme.example.com\n"
             "ARC-Authentication-Results: i=1; mx.microsoft.com 1; dmarc=fail header.from=acme.example.com\n")
    assert verdict_on(trace, MICROSOFT) is Verdict.NONE


def test_authentication_results_beat_arc() -> None:
    trace = M365_SPOOF + ARC_M365.replace("{dmarc}", "pass")
    assert verdict_on(trace, MICROSOFT) is Verdict.FAIL


def test_several_from_addresses_without_sender_have_no_author_and_get_no_reply() -> None:
    parsed = two_from("mallory@elsewhere.example.net")
    assert [found.email for found in parsed.from_addresses] == ["mallory@elsewhere.example.net", "ana@acme.example.com"]
    assert parsed.sender is None and parsed.has_several_authors
    decision = decide(Situation(parsed, standing(), None, 0, NOW), settings(()))
    assert (decision.outcome, decision.rule, decision.reply) == (Outcome.IGNORED, "several_authors", None)


def two_from(first: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    raw = customer_mail(sender="ana@acme.example.com", sender_name="", to="support@example.com", headers=headers)
    return parse_message(raw.replace(b"From: ana@", f"From: {first}, ana@".encode()), max_stored_attachment_bytes=0)


@pytest.mark.parametrize(("sender", "author"), [("ana@acme.example.com", "ana@acme.example.com"), ("eve@example.net", None)])
def test_sender_names_the_author_only_when_it_is_one_of_the_from_addresses(sender: str, author: str | None) -> None:
    parsed = two_from("luis@acme.example.com", {"Sender": f"<{sender}>"})
    assert parsed.sender_header is not None and parsed.sender_header.email == sender
    assert (parsed.sender.email if parsed.sender else None) == author


@pytest.mark.parametrize(
    ("provider", "host", "expected"),
    [("auto", "outlook.office365.com", "microsoft365"), ("auto", "IMAP.GMAIL.COM", "google"),
     ("auto", "imap.example.com", "none"), ("none", "imap.gmail.com", "none"), ("google", None, "google")],
)
def test_provider_is_named_or_read_from_the_imap_host(provider: str, host: str | None, expected: str) -> None:
    assert effective_provider(provider, host) == expected


CONFIG = """
[support]
address = "support@example.com"
[source]
kind = "imap"
host = "{host}"
user = "support@example.com"
password_env = "MAILBOT_TEST_PASSWORD"
[delivery]
kind = "maildir"
path = "out"
"""


def test_a_gmail_mailbox_verifies_senders_by_default(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG.replace("{host}", "imap.gmail.com"))
    assert sender_verification_ids(load_settings(path)) == ("mx.google.com",)


@pytest.mark.parametrize(("host", "warned"), [("imap.example.com", True), ("outlook.office365.com", False)])
def test_check_config_warns_when_sender_verification_is_off(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch, host: str, warned: bool) -> None:
    monkeypatch.setenv("MAILBOT_TEST_PASSWORD", "secret")
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG.replace("{host}", host))
    code = run_check_config(argparse.Namespace(config=str(path), connect=False, directory=None))
    assert code == 0  # a warning never changes the exit code
    assert ("warning: sender verification is off" in capsys.readouterr().err) is warned


# Gmail writes one A-R just below its own Received; a forger's copy of the same id can sit right under it, with no
# Received between (a message sent straight to Gmail's MX carries no hop of its own).
GMAIL_FAIL_WITH_FORGED_PASS_BELOW = """\
Received: from mail.evil.example.net (mail.evil.example.net. [198.51.100.7])
        by mx.google.com with ESMTPS id a1si1wrx.1; Mon, 23 Nov 2026 01:00:04 -0800 (PST)
Received-SPF: fail (google.com: domain of ana@acme.example.com does not designate 198.51.100.7) client-ip=198.51.100.7;
Authentication-Results: mx.google.com; spf=fail smtp.mailfrom=ana@acme.example.com;
       dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=acme.example.com
Authentication-Results: mx.google.com; dkim=pass header.i=@acme.example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=acme.example.com
"""
# A self-hosted boundary whose backup MX stamped no A-R, only its ARC set; the message brought a passing A-R of ours.
BACKUP_MX_ARC_ONLY = """\
Received: from mx.example.com by store.example.com (Dovecot) with LMTP id 9x; Mon, 23 Nov 2026 09:00:06 +0000
ARC-Authentication-Results: i=1; mx.example.com; dmarc=fail header.from=acme.example.com
Received: from mail.evil.example.net (mail.evil.example.net [198.51.100.7]) by mx.example.com (Postfix) with ESMTP;
 Mon, 23 Nov 2026 09:00:04 +0000
Authentication-Results: mx.example.com; dmarc=pass header.from=acme.example.com
"""
LMTP_ON_TOP = "Received: from mx.example.com by store.example.com (Dovecot) with LMTP id 9x; Mon, 23 Nov 2026 09:00:06 +0000\n"


@pytest.mark.parametrize(
    ("trace", "trusted", "verdict"),
    [
        (GMAIL_FAIL_WITH_FORGED_PASS_BELOW, GOOGLE, Verdict.FAIL),  # only Gmail's first header below its hop counts
        (BACKUP_MX_ARC_ONLY, ("mx.example.com",), Verdict.FAIL),  # the brought A-R is below our entry hop
        (LMTP_ON_TOP + POSTFIX_MILTERS, ("mx.example.com",), Verdict.PASS),  # internal hops above the results are fine
        (LMTP_ON_TOP + "Received: from mail.evil.example.net by mx.example.com (Postfix);\n Mon, 23 Nov 2026\n"
         "Authentication-Results: mx.example.com; dmarc=fail header.from=acme.example.com\n",
         ("mx.example.com",), Verdict.NONE),  # a non-Gmail boundary writes above its hop: what is below came along
    ],
)
def test_only_results_our_boundary_added_after_the_entry_hop_count(trace: str, trusted: tuple[str, ...],
                                                                   verdict: Verdict) -> None:
    assert verdict_on(trace, trusted) is verdict


def test_results_that_disagree_in_one_block_fail() -> None:
    # Without known boundary hosts every trusted block counts; a pass beside a fail of one id is a forger's.
    trace = ("Authentication-Results: mx.example.com; dmarc=fail header.from=acme.example.com\n"
             "Authentication-Results: mx.example.com; dmarc=pass header.from=acme.example.com\n")
    assert authentication_verdict(message(trace), Boundary(("mx.example.com",))) is Verdict.FAIL


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("from mail.acme.example.com (mail.acme.example.com. [192.0.2.25] (may be forged))\n by mx.google.com with ESMTPS",
         ("mail.acme.example.com", "mx.google.com")),
        ("by 2002:a05:7300:1234:b0:12a:abcd with SMTP id x1csp123456dyb; Mon, 23 Nov 2026", ("", "2002:a05:7300:1234:b0:12a:abcd")),
        ("FROM Relay.Example.NET. BY MX.Example.com; Mon, 23 Nov 2026", ("relay.example.net", "mx.example.com")),
    ],
)
def test_received_hosts_are_read_past_comments(value: str, hosts: tuple[str, str]) -> None:
    assert received_hosts(value) == hosts


def test_a_configured_boundary_host_list_replaces_the_ids_as_host_names() -> None:
    assert boundary_hosts("none", ("mx?.example.com",), ("auth.example.com",)) == ("mx?.example.com",)
    assert boundary_hosts("none", (), ("mx.example.com",)) == ("mx.example.com",)
    assert boundary_hosts("microsoft365", (), ()) == ("*.outlook.com",)
