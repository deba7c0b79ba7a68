"""Write the automatic-mail corpus (tests/mail/automatic, tests/mail/human_lookalikes): `python -m tests.support.mail_corpus`.

Each sample is built from the header shape its responder really sends (see PROVENANCE.md, written
alongside); the .eml files are committed, so the tests read bytes and never this script.
"""

from __future__ import annotations

import quopri
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

SUPPORT = "support@example.com"
CASE_SUBJECT = "[LC-2026-00042] El backup nocturno falla"
CASE_REF = "mailbot.42.1@example.com"
BASE_DATE = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1] / "mail"


@dataclass(frozen=True)
class Sample:
    """One corpus message: its file name, what it imitates, where its shape comes from, and its bytes."""

    name: str
    imitates: str
    provenance: str
    raw: bytes


@dataclass(frozen=True)
class Shape:
    """Header section and body of one message before it is written out."""

    sender: str
    subject: str
    body: str = ""
    sender_name: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    hops: tuple[str, ...] = ("mx1.example.org",)
    return_path: str | None = None
    in_thread: bool = True
    parts: tuple[tuple[str, str], ...] = field(default=())  # (content-type line, body) for multipart
    multipart: str = ""  # e.g. "alternative" or "report; report-type=delivery-status"
    html: str | None = None


def encode_subject(subject: str) -> str:
    return subject if subject.isascii() else Header(subject, "utf-8").encode()


def qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def text_part(text: str, subtype: str = "plain") -> tuple[str, str]:
    if text.isascii():
        return f"Content-Type: text/{subtype}; charset=us-ascii\nContent-Transfer-Encoding: 7bit", text
    return f"Content-Type: text/{subtype}; charset=utf-8\nContent-Transfer-Encoding: quoted-printable", qp(text)


def received(hops: tuple[str, ...], sender_domain: str, when: datetime) -> list[str]:
    """Received lines, newest first, as each MTA prepends its own (RFC 5321 §4.4)."""
    lines = []
    chain = ("mail." + sender_domain, *hops, "imap.example.com")
    for number in range(len(chain) - 1, 0, -1):
        stamp = format_datetime(when + timedelta(seconds=number))
        lines.append(f"Received: from {chain[number - 1]} ({chain[number - 1]} [192.0.2.{10 + number}])\n"
                     f"\tby {chain[number]} with ESMTPS id {number}A{when:%H%M%S}X{number};\n\t{stamp}")
    return lines


def render(shape: Shape, index: int) -> bytes:
    when = BASE_DATE + timedelta(minutes=7 * index)
    domain = shape.sender.rpartition("@")[2]
    lines = [f"Return-Path: {shape.return_path if shape.return_path is not None else '<' + shape.sender + '>'}",
             f"Delivered-To: {SUPPORT}", *received(shape.hops, domain, when)]
    sender = f"{encode_subject(shape.sender_name)} <{shape.sender}>" if shape.sender_name else shape.sender
    lines += [f"From: {sender}", f"To: {SUPPORT}", f"Subject: {encode_subject(shape.subject)}",
              f"Date: {format_datetime(when)}", f"Message-ID: <{index:04d}.{when:%Y%m%d%H%M}@{domain}>"]
    if shape.in_thread:
        lines += [f"In-Reply-To: <{CASE_REF}>", f"References: <{CASE_REF}>"]
    lines += [f"{name}: {value}" for name, value in shape.headers]
    lines.append("MIME-Version: 1.0")
    lines += body_lines(shape, index)
    return ("\r\n".join("\r\n".join(line.split("\n")) for line in lines) + "\r\n").encode("utf-8")


def body_lines(shape: Shape, index: int) -> list[str]:
    parts = shape.parts
    if shape.html is not None:
        parts = (text_part(shape.body), text_part(shape.html, "html"))
    if not parts:
        head, body = text_part(shape.body)
        return [head, "", body]
    boundary = f"----=_Part_{index:04d}_corpus"
    lines = [f'Content-Type: multipart/{shape.multipart or "alternative"};\n\tboundary="{boundary}"', "",
             "This is a multi-part message in MIME format.", ""]
    for head, body in parts:
        lines += [f"--{boundary}", head, "", body, ""]
    lines.append(f"--{boundary}--")
    return lines


# --- shapes of automatic mail -------------------------------------------------------------------------

OOF_TEXT = {
    "en": "I am out of the office until 30 November with limited access to email.\nFor urgent matters please call +34 900 000 000.",
    "es": "Estoy fuera de la oficina hasta el 30 de noviembre, sin acceso al correo.\nPara urgencias llame al +34 900 000 000.",
    "pt": "Estou fora do escritório até 30 de novembro, com acesso limitado ao e-mail.\nPara urgências ligue +351 210 000 000.",
    "fr": "Je suis absent du bureau jusqu'au 30 novembre avec un accès limité à mes e-mails.\nEn cas d'urgence : +33 1 00 00 00 00.",
    "de": "Ich bin bis zum 30. November nicht im Büro und habe nur eingeschränkt Zugriff auf E-Mails.",
}
OUTLOOK_PREFIX = {"en": "Automatic reply", "es": "Respuesta automática", "pt": "Resposta automática",
                  "fr": "Réponse automatique ", "de": "Automatische Antwort"}
PEOPLE = {"en": ("Emma Clarke", "emma.clarke"), "es": ("Lucía Herrero", "lucia.herrero"),
          "pt": ("João Matos", "joao.matos"), "fr": ("Claire Dubois", "claire.dubois"), "de": ("Jonas Weber", "jonas.weber")}


def person(language: str, domain: str) -> tuple[str, str]:
    name, local = PEOPLE[language]
    return name, f"{local}@{domain}"


def html_of(text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>{paragraphs}</body></html>'


def exchange_online_oof(language: str) -> Shape:
    name, address = person(language, "contoso.example.com")
    return Shape(address, f"{OUTLOOK_PREFIX[language]}: {CASE_SUBJECT}", OOF_TEXT[language], name,
                 (("Thread-Topic", CASE_SUBJECT), ("Thread-Index", "AQHbPz0m4vV3kK1yTUWcq7yW0b6kGw=="),
                  ("X-MS-Has-Attach", ""), ("X-MS-TNEF-Correlator", ""), ("Auto-Submitted", "auto-generated"),
                  ("X-MS-Exchange-Transport-CrossTenantHeadersStamped", "AM9PR01MB0000"),
                  ("X-Auto-Response-Suppress", "All"), ("Content-Language", f"{language}-{language.upper()}")),
                 ("mail-am9pr01.outbound.protection.outlook.com",), html=html_of(OOF_TEXT[language]))


def exchange_onprem_oof(language: str, subject_prefix: str, suppress: str = "All") -> Shape:
    name, address = person(language, "fabrikam.example.org")
    return Shape(address, f"{subject_prefix}: {CASE_SUBJECT}", OOF_TEXT[language], name,
                 (("Thread-Topic", CASE_SUBJECT), ("Thread-Index", "AdlX2k3rJ9Qm0y5iQp2m3Qe3dE1o5g=="),
                  ("X-MS-Has-Attach", ""), ("X-Auto-Response-Suppress", suppress),
                  ("X-MS-Exchange-Organization-SCL", "-1"), ("X-MimeOLE", "Produced By Microsoft Exchange V6.5")),
                 ("exch01.fabrikam.example.org",), html=html_of(OOF_TEXT[language]))


def gmail_vacation(language: str, subject: str) -> Shape:
    name, address = person(language, "gmail.example.com")
    return Shape(address, subject, OOF_TEXT[language], name,
                 (("Auto-Submitted", "auto-replied"), ("X-Google-Smtp-Source", "AGHT+IE0000exampleonly"),
                  ("X-Gm-Message-State", "AOJu0YexampleOnly")),
                 ("mail-sor-f41.google.example.com",), html=html_of(OOF_TEXT[language]))


def icloud_vacation(language: str, subject: str) -> Shape:
    name, address = person(language, "icloud.example.com")
    return Shape(address, subject, OOF_TEXT[language], name,
                 (("X-Apple-Action", "VACATION"), ("X-Proofpoint-ORIG-GUID", "exampleonly0001"),
                  ("X-Apple-Base-Url", "x-msg://1/")),
                 ("p00-icloudmta-asmtp-us-west-2a.example.com",))


def sieve_vacation(language: str, subject: str, auto_submitted: str, extra: tuple[tuple[str, str], ...] = ()) -> Shape:
    name, address = person(language, "mail.example.org")
    return Shape(address, subject, OOF_TEXT[language], name, (("Auto-Submitted", auto_submitted), *extra),
                 ("imap.mail.example.org",))


def marker_only(language: str, headers: tuple[tuple[str, str], ...], subject: str = f"Re: {CASE_SUBJECT}",
                domain: str = "hosting.example.org") -> Shape:
    name, address = person(language, domain)
    return Shape(address, subject, OOF_TEXT[language], name, headers, ("cpanel42.hosting.example.org",))


def subject_only(language: str, subject: str, in_thread: bool = True) -> Shape:
    name, address = person(language, "webmail.example.org")
    return Shape(address, subject, OOF_TEXT[language], name, (("X-Mailer", "Roundcube Webmail/1.6.9"),),
                 ("smtp.webmail.example.org",), in_thread=in_thread)


ORIGINAL = (f"From: ACME Support <{SUPPORT}>\nTo: nadie@example.org\nSubject: {CASE_SUBJECT}\n"
            f"Date: Mon, 23 Nov 2026 08:59:00 +0000\nMessage-ID: <{CASE_REF}>\n"
            "Content-Type: text/plain; charset=us-ascii\n\nWe have received your message.")


def dsn(reporter: str, subject: str, human: str, status: str = "5.1.1", action: str = "failed",
        extra: tuple[tuple[str, str], ...] = (), sender_name: str = "Mail Delivery System") -> Shape:
    """RFC 3464 inside RFC 6522 multipart/report, the null reverse-path of RFC 5321 §4.5.5."""
    host = reporter.rpartition("@")[2]
    fields = (f"Reporting-MTA: dns; {host}\nArrival-Date: Mon, 23 Nov 2026 09:00:01 +0000\n\n"
              f"Final-Recipient: rfc822; nadie@example.org\nOriginal-Recipient: rfc822;nadie@example.org\n"
              f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; mx.example.org\n"
              f"Diagnostic-Code: smtp; 550 {status} <nadie@example.org>: Recipient address rejected")
    parts = (("Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii", human),
             ("Content-Description: Delivery report\nContent-Type: message/delivery-status", fields),
             ("Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers",
              ORIGINAL.split("\n\n")[0]))
    return Shape(reporter, subject, sender_name=sender_name, headers=extra, hops=(host,), return_path="<>",
                 in_thread=False, parts=parts, multipart="report; report-type=delivery-status")


def mdn(sender: str, name: str, subject: str, human: str, disposition: str = "manual-action/MDN-sent-manually; displayed",
        ua: str = "Mozilla/5.0 Thunderbird/128.5.0", extra: tuple[tuple[str, str], ...] = ()) -> Shape:
    """RFC 8098 read receipt: multipart/report; report-type=disposition-notification."""
    fields = (f"Reporting-UA: {sender.rpartition('@')[2]}; {ua}\nFinal-Recipient: rfc822;{sender}\n"
              f"Original-Message-ID: <{CASE_REF}>\nDisposition: {disposition}")
    parts = (("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit", human),
             ("Content-Type: message/disposition-notification", fields),
             ("Content-Type: text/rfc822-headers", ORIGINAL.split("\n\n")[0]))
    return Shape(sender, subject, sender_name=name, headers=extra, parts=parts,
                 multipart="report; report-type=disposition-notification", return_path="<>")


def plain_bounce(sender: str, subject: str, text: str, extra: tuple[tuple[str, str], ...] = ()) -> Shape:
    """Bounces that are not RFC 3464: qmail, Yahoo, Exim's plain text; null sender and a daemon From."""
    return Shape(sender, subject, text + "\n\n--- Below this line is a copy of the message.\n\n" + ORIGINAL,
                 "Mail Delivery Subsystem", extra, (sender.rpartition("@")[2],), "<>", in_thread=False)


def automatic_samples() -> list[tuple[str, str, str, Shape]]:
    """(file stem, what it imitates, provenance, shape) for every automatic message."""
    docs_ms = "Microsoft [MS-OXCMAIL] §2.2.3.2.20 (X-Auto-Response-Suppress) + observed Exchange Online OOF shape"
    samples: list[tuple[str, str, str, Shape]] = []
    for language in ("en", "es", "pt", "fr", "de"):
        samples.append((f"exchange_online_oof_{language}", f"Exchange Online / Outlook OOF ({language})", docs_ms,
                        exchange_online_oof(language)))
    for stem, language, prefix, suppress in (
        ("exchange2010_oof_en", "en", "Out of Office", "All"),
        ("exchange2003_oof_en", "en", "Out of Office AutoReply", "DR, RN, NRN, OOF, AutoReply"),
        ("exchange2010_oof_es", "es", "Fuera de la oficina", "OOF"),
        ("exchange_rule_reply_en", "en", "RE", "All"),
        ("exchange_rule_reply_es", "es", "RE", "AutoReply"),
    ):
        samples.append((stem, f"on-premises Exchange {prefix!r} reply, X-Auto-Response-Suppress: {suppress}",
                        "[MS-OXCMAIL] §2.2.3.2.20; Exchange 2003/2010 subject prefixes observed",
                        exchange_onprem_oof(language, prefix, suppress)))
    for language, subject in (("en", "Out of office"), ("es", "Vacaciones"), ("pt", "Férias até 30/11"),
                              ("fr", f"Re: {CASE_SUBJECT}")):
        samples.append((f"gmail_vacation_{language}", f"Gmail vacation responder, custom subject {subject!r}",
                        "RFC 3834 §5 Auto-Submitted: auto-replied, as Gmail's vacation responder sends",
                        gmail_vacation(language, subject)))
    for language, subject in (("en", f"Auto reply: {CASE_SUBJECT}"), ("es", f"Auto reply: {CASE_SUBJECT}"),
                              ("fr", "Absent"), ("pt", f"Re: {CASE_SUBJECT}")):
        samples.append((f"icloud_vacation_{language}", f"iCloud Mail vacation reply, subject {subject!r}",
                        "observed: X-Apple-Action: VACATION and no Auto-Submitted (the case in issue 10)",
                        icloud_vacation(language, subject)))
    samples += [
        ("yahoo_vacation_en", "Yahoo Mail vacation response", "observed common shape: X-Autoreply: yes",
         marker_only("en", (("X-Autoreply", "yes"), ("X-Mailer", "YahooMailBasic")), f"Auto Response: {CASE_SUBJECT}",
                     "yahoo.example.com")),
        ("yahoo_vacation_es", "Yahoo Mail vacation response (es), header only", "observed common shape: X-Autoreply",
         marker_only("es", (("X-Autoreply", "yes"),), "Estoy de viaje", "yahoo.example.com")),
        ("zimbra_vacation_en", "Zimbra out-of-office", "observed Zimbra shape: Auto-Submitted: auto-replied (zimbra; vacation)",
         sieve_vacation("en", f"Out of Office: {CASE_SUBJECT}", "auto-replied (zimbra; vacation)")),
        ("zimbra_vacation_fr", "Zimbra out-of-office (fr)", "observed Zimbra shape",
         sieve_vacation("fr", "Absent du bureau", "auto-replied (zimbra; vacation)")),
        ("sieve_pigeonhole_en", "Dovecot Pigeonhole vacation, default 'Auto:' subject",
         "RFC 5230 §5 (Auto-Submitted: auto-replied); Pigeonhole's default subject and Precedence: bulk",
         sieve_vacation("en", f"Auto: {CASE_SUBJECT}", "auto-replied (vacation)", (("Precedence", "bulk"),))),
        ("sieve_pigeonhole_es", "Pigeonhole vacation with a Spanish subject", "RFC 5230 §5",
         sieve_vacation("es", "De vacaciones", "auto-replied (vacation)", (("Precedence", "bulk"),))),
        ("sieve_cyrus_pt", "Cyrus sieve vacation", "RFC 5230 §5", sieve_vacation("pt", f"Auto: {CASE_SUBJECT}", "auto-replied")),
        ("sieve_fastmail_en", "Fastmail vacation (sieve)", "RFC 5230 §5",
         sieve_vacation("en", f"Re: {CASE_SUBJECT}", "auto-replied")),
        ("sieve_notify_en", "Sieve notify (RFC 5435) mail notification", "RFC 5436 §2.7 Auto-Submitted: auto-notified",
         sieve_vacation("en", "New mail notification", "auto-notified")),
        ("procmail_formail_en", "procmail + formail -rt autoreply", "procmailex(5) autoreply recipe: X-Loop and Precedence: junk",
         marker_only("en", (("X-Loop", "emma.clarke@hosting.example.org"), ("Precedence", "junk")))),
        ("procmail_formail_es", "procmail autoreply with Precedence: bulk", "procmailex(5) variant",
         marker_only("es", (("X-Loop", "lucia.herrero@hosting.example.org"), ("Precedence", "bulk")))),
        ("vacation1_en", "BSD/Linux vacation(1)", "vacation(1) man page: Precedence: bulk",
         marker_only("en", (("Precedence", "bulk"),), "away from my mail")),
        ("precedence_auto_reply_en", "responder marked only Precedence: auto_reply (the case in issue 10)",
         "observed common shape (Exchange, vacation clones)",
         marker_only("en", (("Precedence", "auto_reply"),))),
        ("precedence_auto_reply_es", "Precedence: auto_reply only, Spanish", "observed common shape",
         marker_only("es", (("Precedence", "auto_reply"),))),
        ("precedence_auto_reply_pt", "Precedence: auto_reply only, Portuguese, capitalised", "observed common shape",
         marker_only("pt", (("Precedence", "Auto_Reply"),))),
        ("x_precedence_auto_reply_fr", "X-Precedence: auto_reply", "observed common shape",
         marker_only("fr", (("X-Precedence", "auto_reply"),))),
        ("cpanel_autorespond_en", "cPanel/Exim autoresponder", "observed common shape: X-Autorespond",
         marker_only("en", (("X-Autorespond", "Out of office"),))),
        ("cpanel_autorespond_es", "cPanel autoresponder (es)", "observed common shape: X-Autorespond",
         marker_only("es", (("X-Autorespond", "yes"),), "Ausente")),
        ("horde_autoreply_en", "Horde/Ingo vacation", "observed common shape: X-Autoreply: yes",
         marker_only("en", (("X-Autoreply", "yes"),))),
        ("autoreply_from_pt", "responder with X-Autoreply-From", "observed common shape",
         marker_only("pt", (("X-Autoreply-From", "joao.matos@hosting.example.org"),))),
        ("mail_autoreply_fr", "responder with X-Mail-Autoreply", "observed common shape",
         marker_only("fr", (("X-Mail-Autoreply", "yes"),))),
        ("firstclass_en", "FirstClass machine-generated reply", "observed: X-FC-MachineGenerated: true",
         marker_only("en", (("X-FC-MachineGenerated", "true"),))),
        ("mirapoint_en", "Mirapoint autoreply", "observed: X-Autogenerated: Reply",
         marker_only("en", (("X-Autogenerated", "Reply"),))),
        ("post_messageclass_en", "X-POST-MessageClass autoresponder", "observed: X-POST-MessageClass: 9; Autoresponder",
         marker_only("en", (("X-POST-MessageClass", "9; Autoresponder"),))),
        ("auto_generated_notice_en", "system notice, Auto-Submitted: auto-generated", "RFC 3834 §5",
         marker_only("en", (("Auto-Submitted", "auto-generated"),), "Your mailbox is almost full", "it.example.org")),
    ]
    for stem, language, subject, in_thread in (
        ("subject_out_of_office_en", "en", f"Out of Office: {CASE_SUBJECT}", True),
        ("subject_out_of_office_bare_en", "en", "Out of Office", False),
        ("subject_out_of_office_upper_en", "en", f"OUT OF OFFICE: {CASE_SUBJECT}", True),
        ("subject_auto_reply_en", "en", f"Auto reply: {CASE_SUBJECT}", True),
        ("subject_automatic_reply_en", "en", f"Automatic reply: {CASE_SUBJECT}", False),
        ("subject_autoreply_en", "en", f"AutoReply: {CASE_SUBJECT}", True),
        ("subject_auto_response_en", "en", "Auto-Response: Thank you for your email", False),
        ("subject_respuesta_automatica_es", "es", f"Respuesta automática: {CASE_SUBJECT}", True),
        ("subject_respuesta_automatica_noaccent_es", "es", f"Respuesta automatica: {CASE_SUBJECT}", False),
        ("subject_fuera_de_la_oficina_es", "es", f"Fuera de la oficina: {CASE_SUBJECT}", True),
        ("subject_resposta_automatica_pt", "pt", f"Resposta automática: {CASE_SUBJECT}", True),
        ("subject_fora_do_escritorio_pt", "pt", "Fora do escritório", False),
        ("subject_reponse_automatique_fr", "fr", f"Réponse automatique : {CASE_SUBJECT}", True),
        ("subject_absent_du_bureau_fr", "fr", f"Absent du bureau : {CASE_SUBJECT}", False),
    ):
        samples.append((stem, f"webmail out-of-office with no header mark, subject {subject[:30]!r}",
                        "observed: responders that mark only the subject (Outlook's localised prefixes)",
                        subject_only(language, subject, in_thread)))
    samples += [
        ("dsn_postfix", "Postfix bounce", "RFC 3464 + RFC 6522; Postfix bounce(8) text",
         dsn("MAILER-DAEMON@mx1.example.org", "Undelivered Mail Returned to Sender",
             "This is the mail system at host mx1.example.org.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.",
             extra=(("Auto-Submitted", "auto-replied"),))),
        ("dsn_postfix_delay", "Postfix delay warning", "RFC 3464 Action: delayed",
         dsn("MAILER-DAEMON@mx1.example.org", "Delayed Mail (still being retried)",
             "This is the mail system at host mx1.example.org.\n\n####### THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE. #######",
             "4.4.1", "delayed", (("Auto-Submitted", "auto-replied"),))),
        ("dsn_exchange_ndr", "Exchange Online NDR", "RFC 3464; Exchange 'Undeliverable:' subject",
         dsn("postmaster@contoso.example.com", f"Undeliverable: {CASE_SUBJECT}",
             "Your message to nadie@example.org couldn't be delivered.", sender_name="Microsoft Outlook",
             extra=(("X-MS-Exchange-Message-Is-Ndr", ""), ("Thread-Topic", CASE_SUBJECT)))),
        ("dsn_exchange_ndr_es", "Exchange NDR in Spanish", "RFC 3464; Exchange localised subject",
         dsn("postmaster@contoso.example.com", f"No se puede entregar: {CASE_SUBJECT}",
             "No se pudo entregar el mensaje a nadie@example.org.", sender_name="Microsoft Outlook",
             extra=(("X-MS-Exchange-Message-Is-Ndr", ""),))),
        ("dsn_exchange_delivered", "Exchange delivery receipt (DSN Action: delivered)", "RFC 3464 §2.3.3",
         dsn("postmaster@contoso.example.com", f"Delivered: {CASE_SUBJECT}",
             "Your message has been delivered to the following recipients.", "2.0.0", "delivered",
             sender_name="Microsoft Outlook")),
        ("dsn_gmail", "Gmail bounce", "RFC 3464; Gmail 'Delivery Status Notification (Failure)'",
         dsn("mailer-daemon@googlemail.example.com", "Delivery Status Notification (Failure)",
             "Address not found\n\nYour message wasn't delivered to nadie@example.org because the address couldn't be found.",
             sender_name="Mail Delivery Subsystem")),
        ("dsn_gmail_delay", "Gmail delay notice", "RFC 3464 Action: delayed",
         dsn("mailer-daemon@googlemail.example.com", "Delivery Status Notification (Delay)",
             "Message not delivered yet. Gmail will keep trying for 46 more hours.", "4.4.7", "delayed",
             sender_name="Mail Delivery Subsystem")),
        ("dsn_sendmail", "Sendmail DSN", "RFC 3464; sendmail 'Returned mail: see transcript for details'",
         dsn("MAILER-DAEMON@relay.example.org", "Returned mail: see transcript for details",
             "The original message was received at Mon, 23 Nov 2026 09:00:01 GMT\n\n   ----- The following addresses had permanent fatal errors -----\n<nadie@example.org>")),
        ("bounce_exim_plain", "Exim plain-text bounce", "observed Exim shape: X-Failed-Recipients, Auto-Submitted, null sender",
         plain_bounce("Mailer-Daemon@mx.example.org", "Mail delivery failed: returning message to sender",
                      "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error.",
                      (("X-Failed-Recipients", "nadie@example.org"), ("Auto-Submitted", "auto-replied")))),
        ("bounce_qmail_plain", "qmail bounce", "observed qmail-send shape (QSBMF): plain text, null sender, MAILER-DAEMON",
         plain_bounce("MAILER-DAEMON@mail.example.org", "failure notice",
                      "Hi. This is the qmail-send program at mail.example.org.\nI'm afraid I wasn't able to deliver your message to the following addresses.")),
        ("bounce_yahoo_plain", "Yahoo plain-text bounce", "observed Yahoo shape: 'Failure Notice', MAILER-DAEMON",
         plain_bounce("MAILER-DAEMON@yahoo.example.com", "Failure Notice",
                      "Sorry, we were unable to deliver your message to the following address.")),
        ("mdn_thunderbird_en", "Thunderbird read receipt", "RFC 8098 MDN",
         mdn("emma.clarke@example.org", "Emma Clarke", f"Return Receipt (displayed) - {CASE_SUBJECT}",
             "This is a Return Receipt for the mail that you sent to emma.clarke@example.org.")),
        ("mdn_outlook_en", "Outlook read receipt", "RFC 8098 MDN; Outlook 'Read:' subject",
         mdn("emma.clarke@contoso.example.com", "Emma Clarke", f"Read: {CASE_SUBJECT}",
             "Your message\n\nTo: Emma Clarke\nSubject: " + CASE_SUBJECT + "\n\nwas read on 23/11/2026 10:12.",
             "automatic-action/MDN-sent-automatically; displayed", "Microsoft Exchange Server",
             (("X-MS-Exchange-Organization-SCL", "-1"),))),
        ("mdn_outlook_es", "Outlook read receipt (es)", "RFC 8098 MDN; Outlook 'Leído:' subject",
         mdn("lucia.herrero@contoso.example.com", "Lucía Herrero", f"Leído: {CASE_SUBJECT}",
             "Su mensaje\n\nPara: Lucía Herrero\nAsunto: " + CASE_SUBJECT + "\n\nse leyó el 23/11/2026 10:12.",
             "automatic-action/MDN-sent-automatically; displayed", "Microsoft Exchange Server")),
        ("mdn_outlook_not_read_fr", "Outlook 'Non lu' (deleted without reading)", "RFC 8098 §3.2.6 disposition deleted",
         mdn("claire.dubois@contoso.example.com", "Claire Dubois", f"Non lu : {CASE_SUBJECT}",
             "Votre message a été supprimé sans avoir été lu le 23/11/2026 10:12.",
             "automatic-action/MDN-sent-automatically; deleted", "Microsoft Exchange Server")),
        ("mdn_roundcube_pt", "Roundcube read receipt (pt)", "RFC 8098 MDN",
         mdn("joao.matos@webmail.example.org", "João Matos", f"Recibo de leitura: {CASE_SUBJECT}",
             "Esta é uma confirmação de leitura da mensagem enviada a joao.matos@webmail.example.org.",
             ua="Roundcube Webmail/1.6.9")),
    ]
    return samples


# --- people whose mail looks automatic but is not --------------------------------------------------------

def human(language: str, subject: str, body: str, headers: tuple[tuple[str, str], ...] = (), in_thread: bool = False,
          domain: str = "customer.example.com", html: bool = False) -> Shape:
    name, address = person(language, domain)
    mailer = (("X-Mailer", "Microsoft Outlook 16.0"),) if not any(n == "X-Mailer" for n, _ in headers) else ()
    return Shape(address, subject, body, name, (*mailer, *headers), ("mx.customer.example.com",),
                 in_thread=in_thread, html=html_of(body) if html else None)


QUOTED_OOF = ("Hello, I got this automatic reply from my colleague, but I need the case to go on:\n\n"
              "> I am out of the office until 30 November with limited access to email.\n\nThanks, Emma")
OUTLOOK_HUMAN = (("Thread-Topic", "backup"), ("Thread-Index", "AdlX2k3rJ9Qm0y5iQp2m3Qe3dE1o5g=="), ("X-MS-Has-Attach", ""),
                 ("X-MS-TNEF-Correlator", ""), ("Content-Language", "en-GB"))


def forwarded_oof() -> Shape:
    name, address = person("en", "customer.example.com")
    oof = render(exchange_online_oof("en"), 900).decode("utf-8").replace("\r\n", "\n")
    parts = (text_part("Please see the attached auto-reply: the backup still fails on our side.\nEmma"),
             ("Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"Automatic reply.eml\"", oof))
    return Shape(address, "Fwd: Automatic reply", sender_name=name, headers=(("X-Mailer", "Microsoft Outlook 16.0"),),
                 parts=parts, multipart="mixed", in_thread=False)


def lookalike_samples() -> list[tuple[str, str, str, Shape]]:
    why = "human mail that shares words or headers with automatic mail"
    plain = [
        ("re_automatic_backup_failed", "en", "Re: Automatic backup failed", "The automatic backup failed again last night, log attached soon.", ()),
        ("out_of_office_equipment", "en", "Out of office equipment request", "We need two laptops for staff working out of office.", ()),
        ("re_automatic_reply_quoted", "en", "Re: Automatic reply: " + CASE_SUBJECT, QUOTED_OOF, ()),
        ("auto_submitted_no", "en", "Backup still failing", "Still failing, please call me.", (("Auto-Submitted", "no"),)),
        ("auto_repair_subject", "en", "Auto repair module crashes", "The auto repair module crashes at start.", ()),
        ("automatic_replies_not_working", "en", "Automatic replies not working in Outlook", "Our Outlook automatic replies stopped working.", ()),
        ("fuera_de_la_oficina_viernes", "es", "Fuera de la oficina el viernes, llamad al móvil",
         "El viernes estaré fuera de la oficina; si hay novedades del caso llamad al móvil.", ()),
        ("respuesta_automatica_del_portal", "es", "Respuesta automática del portal no llega",
         "No nos llega la respuesta automática del portal cuando abrimos casos.", ()),
        ("reponse_automatique_incorrecte", "fr", "Réponse automatique incorrecte dans le ticket",
         "La réponse automatique du ticket contient une mauvaise date.", ()),
        ("resposta_automatica_duplicada", "pt", "Resposta automática em duplicado", "Recebemos a resposta automática duas vezes.", ()),
        ("re_out_of_office_reply", "en", "RE: Out of Office: " + CASE_SUBJECT, "I am back now; the backup still fails.", ()),
        ("fwd_undeliverable", "en", "Fwd: Undeliverable: invoice", "Our invoices bounce, see below:\n\n> Your message couldn't be delivered.", ()),
        ("suppress_none", "en", "Backup job", "Please check the backup job.", (("X-Auto-Response-Suppress", "None"),)),
        ("outlook_vacation_schedule", "en", "RE: vacation schedule for the migration", "We can do the migration after my vacation.", OUTLOOK_HUMAN),
        ("read_chapter", "en", "Read: chapter 3 of the manual is wrong", "Chapter 3 gives the wrong port number.", ()),
        ("body_says_out_of_office", "en", "Backup question", "I am out of the office until Monday but the backup must run tonight.", ()),
        ("auto_reply_loop", "en", "Auto-reply loop between our systems", "Our ticket tool and yours reply to each other.", ()),
        ("re_respuesta_automatica_es", "es", "Re: Respuesta automática: " + CASE_SUBJECT, "Ya he vuelto. Sigue fallando el backup.", ()),
        ("autoreply_word_pt", "pt", "Autoresposta do sistema não funciona", "A autoresposta do sistema não funciona desde ontem.", ()),
    ]
    samples = [(stem, f"person, subject {subject[:40]!r}", why, human(language, subject, body, headers, html=index % 2 == 0))
               for index, (stem, language, subject, body, headers) in enumerate(plain)]
    samples += [
        ("apple_mail_human", "person writing from Apple Mail (X-Apple-* headers, not X-Apple-Action)", why,
         human("en", "Backup log", "Here is the log from last night.",
               (("X-Mailer", "Apple Mail (2.3776.700.51)"), ("X-Apple-Mail-Remote-Attachments", "YES"),
                ("X-Apple-Windows-Friendly", "1")), domain="icloud.example.com")),
        ("gmail_human", "person writing from Gmail", why,
         human("es", "Re: " + CASE_SUBJECT, "Adjunto el log del backup.",
               (("X-Mailer", "Gmail"), ("X-Gm-Message-State", "AOJu0YexampleOnly")), domain="gmail.example.com")),
        ("fwd_attached_oof", "person forwarding an out-of-office as an attachment", why, forwarded_oof()),
    ]
    return samples


def write_corpus(root: Path = ROOT) -> None:
    for folder, samples in (("automatic", automatic_samples()), ("human_lookalikes", lookalike_samples())):
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        rows = ["| file | what it imitates | where the shape comes from |", "|---|---|---|"]
        for index, (stem, imitates, provenance, shape) in enumerate(samples):
            (target / f"{stem}.eml").write_bytes(render(shape, index + (100 if folder != "automatic" else 0)))
            rows.append(f"| {stem}.eml | {imitates} | {provenance} |")
        title = "Automatic mail" if folder == "automatic" else "Human look-alikes (must still be answered)"
        note = ("Fictional people, example.com/example.org only; regenerate with "
                "`.venv/bin/python -m tests.support.mail_corpus`.")
        (target / "PROVENANCE.md").write_text(f"# {title}\n\n{note}\n\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    write_corpus()
