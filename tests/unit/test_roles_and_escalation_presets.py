"""Account managers by role, escalation matrices carried by presets and their merge, the check-config warning,
and when a TAM meeting falls due (issue 11, points 2 and 7)."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from mailbot.cases.work import managers_in_roles
from mailbot.config import ConfigError, PlanSettings, load_settings
from mailbot.domain.directory import ContractTerm
from mailbot.resources import config_dir
from mailbot.policy.tam_meetings import MeetingDates, add_months, meeting_dates, reminder_owed
from mailbot.config_warnings import escalation_warnings, unescalated_priorities
from mailbot.support_settings import EscalationSettings
from tests.unit.test_config import MINIMAL, problems, write


# -- account managers by role ---------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "roles"), [
    (True, ("tam", "cam")), (False, ()), (["cam"], ("cam",)), (["tam", "cam"], ("tam", "cam")), ([], ()),
])
def test_account_managers_name_roles_and_still_read_true_false(written: object, roles: tuple[str, ...]) -> None:
    assert PlanSettings.model_validate({"account_managers": written}).account_managers == roles


def test_account_managers_refuse_unknown_and_repeated_roles(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL + '[plans.p]\naccount_managers = ["ceo"]\n[plans.q]\naccount_managers = ["cam", "cam"]\n')
    assert any("plans.p.account_managers" in p for p in found)
    assert any("plans.q.account_managers" in p and "twice" in p for p in found)


def test_only_the_plans_roles_get_copies_and_unfilled_roles_are_skipped() -> None:
    both = {"tam": "tam@vendor.test", "cam": "cam@vendor.test"}
    assert managers_in_roles(("cam",), both) == ["cam@vendor.test"]
    assert managers_in_roles(("tam", "cam"), both) == ["tam@vendor.test", "cam@vendor.test"]
    assert managers_in_roles(("tam", "cam"), {"tam": None, "cam": "cam@vendor.test"}) == ["cam@vendor.test"]
    assert managers_in_roles((), both) == []
    assert managers_in_roles(("tam", "cam"), {"tam": "one@vendor.test", "cam": "one@vendor.test"}) == ["one@vendor.test"]


def test_xpears_presets_follow_the_seed_per_plan(tmp_path: Path) -> None:
    plans = load_settings(write(tmp_path, 'presets = ["xpears"]\n' + MINIMAL)).plans
    assert {name: plan.account_managers for name, plan in plans.items()} == {
        "basic": (), "xpears-advanced": ("cam",), "managed": ("tam", "cam"), "premium": ("tam", "cam")}
    assert {name: plan.tam_meeting_months for name, plan in plans.items()} == {
        "basic": None, "xpears-advanced": None, "managed": 6, "premium": 6}


# -- escalation in presets --------------------------------------------------------------------------------

def test_calltech_preset_carries_the_seeds_matrix_with_fictional_people(tmp_path: Path) -> None:
    escalation = load_settings(write(tmp_path, 'presets = ["calltech"]\n' + MINIMAL)).escalation
    assert list(escalation.levels) == ["N1", "N2", "N3", "N4", "N5", "N6"]
    people = [person for level in escalation.levels.values() for person in level.people]
    assert people and all(person.email.endswith("@example.com") for person in people)
    assert [(step.clock, step.at, step.notify) for step in escalation.steps] == [
        ("response", "75%", "assigned"), ("response", "100%", "N2"), ("response", "100% + 2h", "N3"),
        ("response", "100% + 4h", "N4"), ("response", "100% + 8h", "N5"), ("response", "100% + 16h", "N6"),
        ("replacement", "75%", "assigned"), ("replacement", "100%", "N3")]
    assert all(step.plans == ("gold", "platinum") for step in escalation.steps)


def test_the_example_configs_escalation_people_are_fictional() -> None:
    example = config_dir() / "mailbot.example.toml"
    levels = tomllib.loads(example.read_text(encoding="utf-8"))["escalation"]["levels"]
    assert [person["name"] for level in levels.values() for person in level["people"]] == ["Alex Example", "Sam Sample"]


LEVEL_N2 = '[escalation.levels.N2]\ntitle = "Ours"\npeople = [{ name = "Alex Example", email = "alex@example.test" }]\n'
OWN_STEP = '[[escalation.steps]]\nclock = "response"\nat = "100%"\nnotify = "N2"\n'


def test_own_level_replaces_the_presets_level_of_that_name_and_the_others_stay(tmp_path: Path) -> None:
    escalation = load_settings(write(tmp_path, 'presets = ["calltech"]\n' + MINIMAL + LEVEL_N2)).escalation
    assert [person.email for person in escalation.levels["N2"].people] == ["alex@example.test"]
    assert escalation.levels["N3"].people[0].email == "postsales-lead@example.com"
    assert len(escalation.steps) == 8  # no steps of its own: the preset's stand


def test_own_steps_replace_the_presets_steps_by_default(tmp_path: Path) -> None:
    escalation = load_settings(write(tmp_path, 'presets = ["calltech"]\n' + MINIMAL + LEVEL_N2 + OWN_STEP)).escalation
    assert [(step.at, step.notify, step.plans) for step in escalation.steps] == [("100%", "N2", ())]
    assert len(escalation.levels) == 6


def test_own_steps_extend_the_presets_steps_when_asked(tmp_path: Path) -> None:
    text = 'presets = ["calltech"]\n' + MINIMAL + '[escalation]\nown_steps = "extend"\nsweep_seconds = 30\n' + OWN_STEP
    escalation = load_settings(write(tmp_path, text)).escalation
    assert [step.notify for step in escalation.steps] == ["assigned", "N2", "N3", "N4", "N5", "N6", "assigned", "N3", "N2"]
    assert escalation.sweep_seconds == 30


def test_an_own_step_naming_a_level_no_one_defines_is_still_a_problem(tmp_path: Path) -> None:
    text = 'presets = ["calltech"]\n' + MINIMAL + '[[escalation.steps]]\nclock = "response"\nat = "100%"\nnotify = "N9"\n'
    assert any("escalation.steps[0].notify: unknown level 'N9'" in p for p in problems(tmp_path, text))


def test_a_misshapen_own_escalation_is_reported_as_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, 'presets = ["calltech"]\n' + MINIMAL + '[escalation]\nsteps = "all"\n'))
    assert any("escalation.steps" in p for p in caught.value.problems)


# -- the check-config warning -------------------------------------------------------------------------

def test_every_preset_plan_without_a_manager_step_is_warned_about(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'presets = ["lastcall", "calltech", "xpears"]\n' + MINIMAL))
    warned = {warning.split(":")[0] for warning in escalation_warnings(settings.plans, settings.escalation)}
    assert warned == {f"plans.{name}" for name in ("standard", "advanced", "basic", "xpears-advanced", "managed", "premium")}


def test_a_step_reaches_a_manager_only_for_its_plans_priorities_and_clock_with_people() -> None:
    plan = PlanSettings.model_validate({"targets": {"P1": {"first_response": "2h"}, "P2": {"first_response": "4h", "resolution": "8h"},
                                                    "P3": {"resolution": "16h"}}})
    matrix = EscalationSettings.model_validate({
        "levels": {"N2": {"title": "Lead", "people": [{"name": "Alex Example", "email": "alex@example.test"}]},
                   "N3": {"title": "Nobody yet"}},
        "steps": [{"clock": "resolution", "at": "100%", "notify": "N2"},  # P1 has no resolution target
                  {"clock": "response", "at": "100%", "notify": "N3"},  # a level without people
                  {"clock": "response", "at": "100%", "notify": "assigned"},  # the engineer is no manager
                  {"clock": "response", "at": "100%", "notify": "N2", "plans": ["other"]}],
    })
    assert unescalated_priorities("mine", plan, matrix) == ["P1"]
    assert unescalated_priorities("other", plan, matrix) == []
    assert escalation_warnings({"mine": plan}, matrix) == [
        "plans.mine: SLA targets for P1 but no escalation step reaches a manager level for them: add [[escalation.steps]]"
        " for the plan with notify = a level that has people"]


def test_a_plan_without_targets_needs_no_escalation() -> None:
    assert escalation_warnings({"free": PlanSettings()}, EscalationSettings()) == []


# -- TAM meetings ---------------------------------------------------------------------------------------

def test_months_are_added_from_the_start_without_drifting() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)


def test_meetings_fall_due_every_n_months_from_the_valid_contracts_start() -> None:
    contract = [ContractTerm("C-1", date(2026, 1, 31), date(2027, 1, 30))]
    assert meeting_dates(contract, 6, date(2026, 7, 30)).last_due is None  # type: ignore[union-attr]
    assert meeting_dates(contract, 6, date(2026, 7, 30)).next_due == date(2026, 7, 31)  # type: ignore[union-attr]
    on_the_day = meeting_dates(contract, 6, date(2026, 7, 31))
    assert on_the_day is not None and (on_the_day.last_due, on_the_day.next_due) == (date(2026, 7, 31), None)  # 2027-01-31 is past the end
    assert meeting_dates(contract, 6, date(2027, 2, 1)) is None  # no valid contract, no meeting


def test_a_renewal_counts_from_its_own_start() -> None:
    terms = [ContractTerm("C-1", date(2025, 1, 1), date(2025, 12, 31)), ContractTerm("C-2", date(2026, 3, 1), None)]
    dates = meeting_dates(terms, 6, date(2027, 4, 1))
    assert dates is not None and (dates.contract, dates.last_due, dates.next_due) == ("C-2", date(2027, 3, 1), date(2027, 9, 1))


def test_the_reminder_is_owed_from_the_notice_days_before_until_as_long_after() -> None:
    coming = MeetingDates("C-1", date(2026, 6, 20), date(2026, 12, 20))
    assert reminder_owed(coming, 14, date(2026, 12, 5)) is None
    assert reminder_owed(coming, 14, date(2026, 12, 6)) == date(2026, 12, 20)
    passed = MeetingDates("C-1", date(2026, 12, 20), date(2027, 6, 20))
    assert reminder_owed(passed, 14, date(2027, 1, 3)) == date(2026, 12, 20)  # late (the bot was down): still owed
    assert reminder_owed(passed, 14, date(2027, 1, 4)) is None  # months-old meetings are not reminded
    assert reminder_owed(passed, 0, date(2026, 12, 20)) == date(2026, 12, 20)
