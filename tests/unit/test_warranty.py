"""Warranty and RMA (seed 001): cover and its defaults, the refusal rule, the replacement deadline and its clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import EscalationStep, WarrantyOption, WarrantySettings, load_settings
from mailbot.directory.files import DirectoryFileError, read_directory_file
from mailbot.domain.decisions import Outcome, ReplyKind, Situation
from mailbot.outbound.templates import TemplateRenderer
from mailbot.outbound.samples import sample_context
from mailbot.parsing import parse_message
from mailbot.policy.catalog import Catalog
from mailbot.policy.classify import classify
from mailbot.policy.decide import decide
from mailbot.policy.escalation import ClockState, ReplacementClock, thresholds, what_is_owed
from mailbot.policy.warranty import WarrantyCover, WarrantyGap, effective_cover, warranty_end, warranty_gap
from tests.support.mailgen import customer_mail
from tests.unit.test_policy import SETTINGS, standing

BOGOTA = ZoneInfo("America/Bogota")
CONFIG = Path(__file__).resolve().parents[2] / "config"
MINIMAL = """
[support]
address = "support@example.com"
[source]
kind = "maildir"
path = "in"
[delivery]
kind = "maildir"
path = "out"
[database]
url = "sqlite://"
"""


@pytest.fixture(scope="module")
def calltech(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path = tmp_path_factory.mktemp("cfg") / "mailbot.toml"
    path.write_text('presets = ["calltech"]\n' + MINIMAL, encoding="utf-8")
    return Catalog(load_settings(path))


def bogota(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BOGOTA)  # December 2026: the 8th is a Colombian holiday


# -- the warranty's term --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2026, 3, 1), 12, date(2027, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 27)),  # Feb 29 + 1 year clamps to Feb 28, the last covered day before
    (date(2026, 1, 31), 1, date(2026, 2, 27)),
    (date(2026, 6, 15), 24, date(2028, 6, 14)),
])
def test_term_ends_the_day_before_its_anniversary(start: date, months: int, end: date) -> None:
    assert warranty_end(start, months) == end


def test_defaults_come_from_the_plan_and_the_first_contract() -> None:
    plan = WarrantySettings(options={"standard": WarrantyOption(replacement="48h")}, default_option="standard")
    cover = effective_cover(plan, None, None, None, [date(2026, 5, 1), date(2025, 5, 1)])
    assert cover == WarrantyCover("standard", date(2025, 5, 1), date(2026, 4, 30))


def test_directory_values_win_over_the_defaults() -> None:
    plan = WarrantySettings(options={"standard": WarrantyOption(replacement="48h"), "extended": WarrantyOption(replacement="8h")},
                            default_option="standard", term_months=12)
    assert effective_cover(plan, "extended", date(2026, 1, 10), date(2028, 1, 9), [date(2025, 1, 1)]) == \
        WarrantyCover("extended", date(2026, 1, 10), date(2028, 1, 9))
    assert effective_cover(plan, None, date(2026, 1, 10), None, []) == WarrantyCover("standard", date(2026, 1, 10), date(2027, 1, 9))


def test_no_option_and_no_default_is_no_warranty() -> None:
    assert effective_cover(WarrantySettings(), None, date(2026, 1, 1), None, []) is None
    assert effective_cover(None, None, None, None, [date(2026, 1, 1)]) is None


@pytest.mark.parametrize(("today", "gap"), [
    (date(2026, 1, 1), None), (date(2026, 12, 31), None),  # both ends inclusive
    (date(2027, 1, 1), WarrantyGap.EXPIRED), (date(2025, 12, 31), WarrantyGap.NOT_STARTED),
])
def test_validity(today: date, gap: WarrantyGap | None) -> None:
    assert warranty_gap(WarrantyCover("standard", date(2026, 1, 1), date(2026, 12, 31)), today) == gap


def test_absent_warranty_is_a_gap() -> None:
    assert warranty_gap(None, date(2026, 1, 1)) is WarrantyGap.NONE


# -- the policy rule ------------------------------------------------------------------------------------------

def rma_situation(cover: WarrantyCover | None, calltech: Catalog, now: datetime) -> Situation:
    plan = calltech.plan("gold")
    assert plan is not None
    message = parse_message(customer_mail(subject="[RMA] disk failed", body="The disk of the recorder failed."), max_stored_attachment_bytes=0)
    sender = replace(standing(), warranty=cover, account_timezone="America/Bogota")
    return Situation(message, sender, None, 0, now, plan=plan, classification=classify(message, plan, now.date()))


def test_rma_within_warranty_opens_a_case(calltech: Catalog) -> None:
    cover = WarrantyCover("extended", date(2026, 1, 1), date(2026, 12, 31))
    decision = decide(rma_situation(cover, calltech, bogota(2, 10).astimezone(timezone.utc)), SETTINGS)
    assert (decision.outcome, decision.reply) == (Outcome.CASE_OPENED, ReplyKind.ACKNOWLEDGMENT)


@pytest.mark.parametrize("cover", [WarrantyCover("standard", date(2025, 1, 1), date(2025, 12, 31)), None])
def test_rma_out_of_warranty_is_refused_with_the_reason(calltech: Catalog, cover: WarrantyCover | None) -> None:
    decision = decide(rma_situation(cover, calltech, bogota(2, 10).astimezone(timezone.utc)), SETTINGS)
    assert (decision.outcome, decision.rule, decision.reply) == (Outcome.REFUSED, "no_valid_warranty", ReplyKind.NO_WARRANTY)
    assert ("expired" if cover else "none") in decision.reason


def test_the_warranty_day_is_the_accounts_local_day(calltech: Catalog) -> None:
    # 23:30 in Bogotá on the last covered day is already the next day in UTC: still covered.
    cover = WarrantyCover("standard", date(2026, 1, 1), date(2026, 12, 2))
    decision = decide(rma_situation(cover, calltech, bogota(2, 23, 30).astimezone(timezone.utc)), SETTINGS)
    assert decision.outcome is Outcome.CASE_OPENED


def test_an_expired_warranty_does_not_stop_other_requests(calltech: Catalog) -> None:
    situation = rma_situation(None, calltech, bogota(2, 10).astimezone(timezone.utc))
    plan = situation.plan
    assert plan is not None
    message = parse_message(customer_mail(subject="Question about reports", body="How do I export?"), max_stored_attachment_bytes=0)
    situation = replace(situation, message=message, classification=classify(message, plan, date(2026, 12, 2)))
    assert decide(situation, SETTINGS).outcome is Outcome.CASE_OPENED


# -- the replacement deadline per option (calltech preset) ---------------------------------------------------

@pytest.mark.parametrize(("option", "start", "due"), [
    # 8 business hours of 07:30-17:30: Wednesday 10:00 + 7.5 h -> 17:30, + 0.5 h Thursday -> 08:00.
    ("extended", bogota(2, 10), bogota(3, 8)),
    # 48 business hours: Wed 2 (7.5 h), Thu 3, Fri 4, Mon 7 (37.5 h), Tue 8 is a holiday, Wed 9 (47.5 h), Thu 10 08:00.
    ("standard", bogota(2, 10), bogota(10, 8)),
    # Outside hours the clock starts at the next opening: Friday 18:00 -> Monday 07:30 + 8 h.
    ("extended", bogota(4, 18), bogota(7, 15, 30)),
    # NBD 24x7: 24 hours round the clock, weekends included.
    ("nbd-24x7", bogota(5, 22), bogota(6, 22)),
])
def test_replacement_deadline_per_option(calltech: Catalog, option: str, start: datetime, due: datetime) -> None:
    assert calltech.replacement_due(calltech.plan("gold"), option, start) == due


def test_no_replacement_deadline_without_the_option(calltech: Catalog) -> None:
    assert calltech.replacement_due(calltech.plan("gold"), "gold-plated", bogota(2, 10)) is None


# -- the third SLA clock -------------------------------------------------------------------------------------

def replacement_state(calltech: Catalog, *, closed: bool = False, waiting: bool = False) -> ClockState:
    calendar = calltech.replacement_calendar(calltech.plan("gold"), "extended")
    assert calendar is not None
    return ClockState("gold", "P3", bogota(2, 10), False, closed, None, None, waiting=waiting,
                      replacement=ReplacementClock(bogota(2, 10), timedelta(hours=8), calendar))


STEPS = (EscalationStep(clock="replacement", at="75%", notify="assigned"), EscalationStep(clock="replacement", at="100%", notify="N3"))


def test_replacement_steps_fall_due_on_the_options_calendar(calltech: Catalog) -> None:
    found = thresholds(replacement_state(calltech), STEPS, calltech.calendar("24x7"))
    assert [(item.clock, item.due, item.notify) for item in found] == [
        ("replacement", bogota(2, 16), "assigned"), ("replacement", bogota(3, 8), "N3")]
    owed = what_is_owed(found, set(), bogota(3, 9))
    assert [item.notify for item in owed.send] == ["N3"] and len(owed.settle) == 2


def test_replacement_clock_stops_when_the_case_closes_but_not_while_waiting(calltech: Catalog) -> None:
    assert thresholds(replacement_state(calltech, closed=True), STEPS, calltech.calendar("24x7")) == []
    assert len(thresholds(replacement_state(calltech, waiting=True), STEPS, calltech.calendar("24x7"))) == 2


def test_a_case_without_rma_has_no_replacement_threshold(calltech: Catalog) -> None:
    state = replace(replacement_state(calltech), replacement=None)
    assert thresholds(state, STEPS, calltech.calendar("24x7")) == []


# -- directory and templates ---------------------------------------------------------------------------------

def test_directory_reads_warranty_from_toml_and_csv(tmp_path: Path) -> None:
    toml = tmp_path / "d.toml"
    toml.write_text('[[accounts]]\nkey = "a"\nname = "A"\nplan = "gold"\nwarranty = "extended"\n'
                    'warranty_starts_on = 2026-01-10\nwarranty_ends_on = 2028-01-09\n', encoding="utf-8")
    csv = tmp_path / "d.csv"
    csv.write_text("account_key,account_name,plan,warranty,warranty_starts_on,warranty_ends_on\n"
                   "a,A,gold,nbd-24x7,2026-01-10,\n", encoding="utf-8")
    account = read_directory_file(toml).accounts[0]
    assert (account.warranty, account.warranty_starts_on, account.warranty_ends_on) == ("extended", date(2026, 1, 10), date(2028, 1, 9))
    account = read_directory_file(csv).accounts[0]
    assert (account.warranty, account.warranty_starts_on, account.warranty_ends_on) == ("nbd-24x7", date(2026, 1, 10), None)


def test_directory_rejects_a_warranty_ending_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[[accounts]]\nkey = "a"\nname = "A"\nplan = "gold"\nwarranty_starts_on = 2026-01-10\n'
                    'warranty_ends_on = 2025-01-09\n', encoding="utf-8")
    with pytest.raises(DirectoryFileError, match="warranty_ends_on"):
        read_directory_file(path)


@pytest.mark.parametrize("language", ["es", "en"])
def test_rma_acknowledgment_lists_the_target_and_exclusions(language: str) -> None:
    context = sample_context(language, "rma")
    mail = TemplateRenderer().render("acknowledgment", language, context)
    for item in context["warranty_exclusions"]:
        assert f"- {item}" in mail.text and f"<li>{item}</li>" in (mail.html or "")
    assert context["replacement_due"] + "\n" in mail.text  # its own line, the way counted on the next
    assert f"({context['replacement_span']} " in mail.text and f"- {context['warranty_exclusions'][0]}\n" in mail.text


@pytest.mark.parametrize(("gap", "words"), [("expired", {"es": "terminó el", "en": "ended on"}),
                                           ("none", {"es": "no tiene una garantía", "en": "has no hardware warranty"})])
@pytest.mark.parametrize("language", ["es", "en"])
def test_refusal_states_the_reason(language: str, gap: str, words: dict[str, str]) -> None:
    mail = TemplateRenderer().render("no_warranty", language, {**sample_context(language, "rma"), "warranty_gap": gap})
    assert words[language] in mail.text and words[language] in (mail.html or "")


def test_calltech_preset_carries_the_seeds_warranty(calltech: Catalog) -> None:
    for name in ("gold", "platinum"):
        plan = calltech.plan(name)
        assert plan is not None and plan.warranty is not None
        assert {key: option.replacement for key, option in plan.warranty.options.items()} == {
            "standard": timedelta(hours=48), "extended": timedelta(hours=8), "nbd-24x7": timedelta(hours=24)}
        assert plan.warranty.term_months == 12 and len(plan.warranty.exclusions) == 6
