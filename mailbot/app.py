"""The wired application: settings, database, clock and the policy's view of the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock, SystemClock
from mailbot.config import ALWAYS_OPEN, EngineerSettings, ImapSource, MaildirDelivery, MaildirSource, Settings, SmtpDelivery
from mailbot.db.engine import build_engine, build_session_factory
from mailbot.domain.decisions import PolicySettings
from mailbot.outbound.replies import ReplyComposer
from mailbot.outbound.templates import TemplateRenderer
from mailbot.policy.case_numbers import CaseNumbering
from mailbot.policy.catalog import Catalog
from mailbot.policy.providers import boundary_hosts, effective_provider, trusted_authserv_ids
from mailbot.runtime.metrics import Metrics

if TYPE_CHECKING:
    from mailbot.auth.credentials import Credentials


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    numbering: CaseNumbering
    policy: PolicySettings
    replies: ReplyComposer
    catalog: Catalog
    engineers: dict[str, EngineerSettings]  # by address
    # OAuth2 logins keep their token cache for the app's life (None: a password, read at each connection).
    source_credentials: Credentials | None = None
    delivery_credentials: Credentials | None = None
    metrics: Metrics = field(default_factory=Metrics)  # this process's counters, served by `mailbot run`

    def dispose(self) -> None:
        self.engine.dispose()


def round_the_clock_calendars(settings: Settings) -> frozenset[str]:
    return frozenset({ALWAYS_OPEN, *(name for name, calendar in settings.calendars.items() if calendar.always_open)})


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    engine = build_engine(settings.database.url)
    support = settings.support
    clock = clock or SystemClock()
    return App(
        settings=settings,
        engine=engine,
        sessions=build_session_factory(engine),
        clock=clock,
        numbering=CaseNumbering(support.case_number_format, support.case_prefix),
        policy=policy_settings(settings),
        replies=ReplyComposer(support, TemplateRenderer(settings.templates.path), settings.cases.survey_aspects,
                              round_the_clock_calendars(settings)),
        catalog=Catalog(settings),
        engineers={engineer.email: engineer for engineer in settings.engineers},
        source_credentials=oauth2_credentials(settings.source, clock),
        delivery_credentials=oauth2_credentials(settings.delivery, clock),
    )


def oauth2_credentials(section: ImapSource | SmtpDelivery | MaildirSource | MaildirDelivery, clock: Clock) -> Credentials | None:
    """An OAuth2 connection's credentials live as long as the app, so its token is cached across connections."""
    if isinstance(section, (ImapSource, SmtpDelivery)) and section.auth == "oauth2":
        # Imported here: the OAuth2 libraries (and the IMAP and SMTP clients) load only when a login uses them.
        from mailbot.auth.credentials import build_credentials

        return build_credentials(section, clock)
    return None


def policy_settings(settings: Settings) -> PolicySettings:
    return PolicySettings(
        support_address=settings.support.address,
        own_message_id_domain=settings.support.id_domain,
        trusted_authserv_ids=sender_verification_ids(settings),
        boundary_hosts=sender_boundary_hosts(settings),
        auto_replies_per_sender_per_hour=settings.limits.auto_replies_per_sender_per_hour,
        default_timezone=settings.support.default_timezone,
        support_aliases=settings.support.aliases,
        reopen_window_days=settings.cases.reopen_window_days,
        engineer_names=engineer_names(settings),
        survey_aspects=tuple(aspect.key for aspect in settings.cases.survey_aspects),
    )


def mailbox_provider(settings: Settings) -> str:
    host = settings.source.host if isinstance(settings.source, ImapSource) else None
    return effective_provider(settings.security.provider, host)


def sender_verification_ids(settings: Settings) -> tuple[str, ...]:
    """Authserv-ids whose results are believed: the mailbox provider's (named or derived from source.host) and the operator's."""
    return trusted_authserv_ids(mailbox_provider(settings), settings.security.trusted_authserv_ids)


def sender_boundary_hosts(settings: Settings) -> tuple[str, ...]:
    security = settings.security
    return boundary_hosts(mailbox_provider(settings), security.boundary_hosts, security.trusted_authserv_ids)


def engineer_names(settings: Settings) -> tuple[tuple[str, str], ...]:
    """Ways to name an engineer in #assign: address, full name, first name (when unambiguous)."""
    names: dict[str, str] = {}
    first_names: dict[str, list[str]] = {}
    for engineer in settings.engineers:
        names[engineer.email] = engineer.email
        names[engineer.name.lower()] = engineer.email
        names[engineer.email.split("@")[0]] = engineer.email
        first_names.setdefault(engineer.name.split()[0].lower(), []).append(engineer.email)
    names.update({first: emails[0] for first, emails in first_names.items() if len(emails) == 1 and first not in names})
    return tuple(names.items())
