"""OAuth2 without servers: SASL messages byte for byte, token renewal on a moved clock, settings errors by key."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailbot.auth.sasl import (
    decode_challenge,
    describe_error_challenge,
    error_challenge_reply,
    oauthbearer_initial_response,
    xoauth2_initial_response,
)
from mailbot.auth.tokens import AccessToken, AuthUnavailable, CachedTokenProvider, refusal
from mailbot.clock import FixedClock
from mailbot.config import ConfigError, load_settings, runtime_problems
from mailbot.errors import ServerRefused

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

CONFIG = """
[support]
address = "support@example.com"
[source]
kind = "imap"
host = "outlook.office365.com"
user = "support@example.com"
auth = "oauth2"
[source.oauth2]
{oauth2}
[delivery]
kind = "maildir"
path = "out"
"""
MICROSOFT_APP = """provider = "microsoft"
flow = "client_credentials"
tenant_id = "00000000-0000-0000-0000-000000000001"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret_env = "MAILBOT_TEST_CLIENT_SECRET"
"""


def test_xoauth2_initial_response_is_googles_format() -> None:
    # https://developers.google.com/gmail/imap/xoauth2-protocol: user=...^Aauth=Bearer ...^A^A
    assert xoauth2_initial_response("ana@example.com", "ya29.token") == \
        b"user=ana@example.com\x01auth=Bearer ya29.token\x01\x01"
    assert base64.b64encode(xoauth2_initial_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")) == (
        b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )  # the example in Google's XOAUTH2 documentation


def test_oauthbearer_initial_response_follows_rfc_7628() -> None:
    # RFC 7628 §4.1: n,a=user@example.com,^Ahost=server.example.com^Aport=143^Aauth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==^A^A
    assert oauthbearer_initial_response("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                                        "server.example.com", 143) == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )


def test_oauthbearer_escapes_comma_and_equals_in_the_user() -> None:
    assert oauthbearer_initial_response("a,b=c@example.com", "t", "h", 1).startswith(b"n,a=a=2Cb=3Dc@example.com,\x01")


def test_error_challenge_is_answered_as_each_mechanism_requires() -> None:
    assert error_challenge_reply("OAUTHBEARER") == b"\x01"  # RFC 7628 §3.2.3
    assert error_challenge_reply("XOAUTH2") == b""  # Google: an empty response


def test_error_challenge_is_described_from_its_json() -> None:
    challenge = base64.b64encode(b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')
    assert describe_error_challenge(decode_challenge(challenge)) == \
        "status=401, schemes=bearer, scope=https://mail.google.com/"
    assert describe_error_challenge(b"not json") == "not json"


class CountingSource:
    """A token source that hands out token-1, token-2, ... each valid for `lifetime`."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self.fetches = 0

    def fetch(self, now: datetime) -> AccessToken:
        self.fetches += 1
        return AccessToken(f"token-{self.fetches}", now + self.lifetime)


def test_token_is_cached_until_renew_before_ahead_of_expiry() -> None:
    clock = FixedClock(START)
    source = CountingSource(timedelta(hours=1))
    tokens = CachedTokenProvider(source, clock, renew_before=timedelta(minutes=5))
    first = tokens.token()
    assert tokens.renew_at(first) == START + timedelta(minutes=55)
    clock.advance(timedelta(minutes=54, seconds=59))
    assert tokens.token() is first and source.fetches == 1
    clock.advance(timedelta(seconds=1))
    assert tokens.token().value == "token-2"
    assert tokens.renew_at(tokens.token()) == START + timedelta(minutes=110)


def test_a_short_lived_token_is_renewed_at_half_its_life() -> None:
    clock = FixedClock(START)
    tokens = CachedTokenProvider(CountingSource(timedelta(seconds=60)), clock, renew_before=timedelta(minutes=5))
    assert tokens.renew_at(tokens.token()) == START + timedelta(seconds=30)
    clock.advance(timedelta(seconds=29))
    assert tokens.token().value == "token-1"
    clock.advance(timedelta(seconds=1))
    assert tokens.token().value == "token-2"


def test_a_forgotten_token_is_fetched_again() -> None:
    tokens = CachedTokenProvider(CountingSource(timedelta(hours=1)), FixedClock(START), timedelta(minutes=5))
    tokens.token()
    tokens.forget()
    assert tokens.token().value == "token-2"


def test_provider_errors_become_refusals_or_outages() -> None:
    revoked = refusal("OAuth2 google", {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    assert isinstance(revoked, ServerRefused)
    assert revoked.reason == "invalid_grant: Token has been expired or revoked." and "refresh token" in revoked.hint
    assert isinstance(refusal("OAuth2 microsoft", {"error": "temporarily_unavailable"}), AuthUnavailable)


def load(tmp_path: Path, oauth2: str) -> object:
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG.format(oauth2=oauth2))
    return load_settings(path)


def problems(tmp_path: Path, oauth2: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, oauth2)
    return caught.value.problems


def test_microsoft_app_only_config_loads_with_its_default_scope(tmp_path: Path) -> None:
    settings = load(tmp_path, MICROSOFT_APP)
    oauth2 = settings.source.oauth2  # type: ignore[attr-defined]
    assert oauth2.effective_scopes == ("https://outlook.office365.com/.default",)
    assert oauth2.effective_authority == "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001"


def test_missing_keys_are_named(tmp_path: Path) -> None:
    found = problems(tmp_path, 'provider = "microsoft"\nflow = "client_credentials"')
    assert any("source.oauth2" in p and "client_id: required" in p for p in found)
    assert any("tenant_id: required" in p and "client_secret_env or client_secret_file" in p for p in found)


def test_flow_the_provider_does_not_offer_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, 'provider = "generic"\nflow = "service_account"')
    assert any('flow: generic supports "refresh_token", not "service_account"' in p for p in found)


def test_plain_http_token_endpoint_only_on_loopback(tmp_path: Path) -> None:
    found = problems(tmp_path, 'provider = "generic"\nflow = "refresh_token"\nclient_id = "c"\n'
                               'refresh_token_env = "RT"\ntoken_endpoint = "http://idp.example.com/token"')
    assert any("token_endpoint: must be an https:// URL" in p for p in found)


def test_oauth2_needs_its_section_and_password_needs_none(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG.format(oauth2="").replace("[source.oauth2]\n", ""))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert any('auth = "oauth2" needs an [oauth2] section' in p for p in caught.value.problems)


def test_missing_and_empty_secrets_are_named_with_their_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "refresh-token").write_text("\n")
    settings = load(tmp_path, 'provider = "google"\nflow = "refresh_token"\nclient_id = "c"\n'
                              'client_secret_env = "MAILBOT_TEST_CLIENT_SECRET"\nrefresh_token_file = "refresh-token"')
    monkeypatch.delenv("MAILBOT_TEST_CLIENT_SECRET", raising=False)
    found = runtime_problems(settings, tmp_path / "mailbot.toml")  # type: ignore[arg-type]
    assert any("source.oauth2.client_secret_env: environment variable MAILBOT_TEST_CLIENT_SECRET is not set" in p
               for p in found)
    assert any(f"source.oauth2.refresh_token_file: {tmp_path / 'refresh-token'} is empty" in p for p in found)
    monkeypatch.setenv("MAILBOT_TEST_CLIENT_SECRET", " ")
    found = runtime_problems(settings, tmp_path / "mailbot.toml")  # type: ignore[arg-type]
    assert any("MAILBOT_TEST_CLIENT_SECRET is empty" in p for p in found)


def test_missing_service_account_key_is_named(tmp_path: Path) -> None:
    settings = load(tmp_path, 'provider = "google"\nflow = "service_account"\nkey_file = "sa.json"')
    found = runtime_problems(settings, tmp_path / "mailbot.toml")  # type: ignore[arg-type]
    assert any(f"source.oauth2.key_file: {tmp_path / 'sa.json'} does not exist" in p for p in found)
