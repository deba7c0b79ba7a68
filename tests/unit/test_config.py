"""Configuration errors name the file, the key and the problem; the example file is valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mailbot.config import ConfigError, load_settings, runtime_problems
from mailbot.resources import config_dir

MINIMAL = """
[support]
address = "support@example.test"
[source]
kind = "maildir"
path = "in"
[delivery]
kind = "maildir"
path = "out"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    return caught.value.problems


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.database.url == f"sqlite:///{tmp_path.resolve()}/mailbot.db"
    assert settings.source.path == tmp_path / "in"  # type: ignore[union-attr]
    assert settings.support.case_number_format == "{prefix}-{year}-{seq:05d}"


def test_every_problem_is_listed_with_file_and_key(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace('address = "support@example.test"', 'address = "nope"\ncase_prefix = "x-1"\ncolour = 1'))
    path = str(tmp_path / "mailbot.toml")
    assert any(p.startswith(path) and "support.address" in p and "email address" in p for p in found)
    assert any("support.case_prefix" in p for p in found)
    assert any("support.colour" in p and "unknown key" in p for p in found)


def test_plain_imap_only_on_loopback(tmp_path: Path) -> None:
    text = MINIMAL.replace('kind = "maildir"\npath = "in"', 'kind = "imap"\nhost = "mail.example.com"\ntls = "none"\nuser = "u"')
    assert any("loopback" in p for p in problems(tmp_path, text))


def test_case_number_format_needs_seq(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace("[source]", 'case_number_format = "{prefix}-{year}"\n[source]'))
    assert any("support.case_number_format" in p and "{seq}" in p for p in found)


def test_outbox_connections_default_and_bounds(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, MINIMAL)).outbox.connections == 2
    assert load_settings(write(tmp_path, MINIMAL + "[outbox]\nconnections = 1\n")).outbox.connections == 1
    for wrong in ("0", "11", '"two"'):
        assert any("outbox.connections" in p for p in problems(tmp_path, MINIMAL + f"[outbox]\nconnections = {wrong}\n"))


def test_unknown_time_zone(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace("[source]", 'default_timezone = "Mars/Olympus"\n[source]'))
    assert any("support.default_timezone" in p and "Mars/Olympus" in p for p in found)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    found = problems(tmp_path, "[support\naddress=1")
    assert str(tmp_path / "mailbot.toml") in found[0] and "TOML" in found[0]


def test_missing_password_env_is_a_runtime_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILBOT_TEST_NOPE", raising=False)
    text = MINIMAL.replace('kind = "maildir"\npath = "in"', 'kind = "imap"\nhost = "127.0.0.1"\ntls = "none"\nuser = "u"\npassword_env = "MAILBOT_TEST_NOPE"')
    path = write(tmp_path, text)
    found = runtime_problems(load_settings(path), path)
    assert any("source.password_env" in p and "MAILBOT_TEST_NOPE" in p for p in found)


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(config_dir() / "mailbot.example.toml")
    assert settings.support.address


def test_demo_config_is_valid() -> None:
    assert load_settings(config_dir() / "demo" / "mailbot.toml").source.kind == "maildir"


@pytest.mark.parametrize("preset", ["lastcall", "calltech", "xpears"])
def test_every_preset_loads(tmp_path: Path, preset: str) -> None:
    settings = load_settings(write(tmp_path, f'presets = ["{preset}"]\n' + MINIMAL))
    assert settings.plans and all(plan.targets for plan in settings.plans.values())


def test_all_presets_together(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'presets = ["lastcall", "calltech", "xpears"]\n' + MINIMAL))
    assert set(settings.plans) == {"standard", "advanced", "gold", "platinum", "basic", "xpears-advanced", "managed", "premium"}


def test_own_plan_overrides_a_preset(tmp_path: Path) -> None:
    text = 'presets = ["lastcall"]\n' + MINIMAL + '[plans.standard]\nrequests_per_month = 5\npriority_scheme = "impact"\n'
    assert load_settings(write(tmp_path, text)).plans["standard"].requests_per_month == 5


def test_unknown_preset(tmp_path: Path) -> None:
    found = problems(tmp_path, 'presets = ["nope"]\n' + MINIMAL)
    assert "no preset 'nope'" in found[0] and "calltech" in found[0]


def test_inconsistent_plan_is_rejected_precisely(tmp_path: Path) -> None:
    text = MINIMAL + """
[plans.gold]
priority_scheme = "severity"
calendar = "office"
default_ticket_type = "rma"
ticket_types = ["problem"]
targets.A1 = { first_response = "2h" }
targets.P1 = { first_response = "two hours" }
"""
    found = "\n".join(problems(tmp_path, text))
    assert "plans.gold.targets.P1.first_response" in found and "not a duration" in found


def test_plan_cross_checks(tmp_path: Path) -> None:
    text = MINIMAL + """
[plans.gold]
priority_scheme = "severity"
calendar = "office"
default_ticket_type = "rma"
ticket_types = ["problem"]
calendar_by_priority = { P3 = "nowhere" }
targets.A1 = { first_response = "2h" }
"""
    found = "\n".join(problems(tmp_path, text))
    assert "plans.gold.targets.A1: priority A1 is not in the severity scheme (P1, P2, P3, P4)" in found
    assert "plans.gold.calendar: unknown calendar 'office'" in found
    assert "plans.gold.calendar_by_priority.P3: unknown calendar 'nowhere'" in found
    assert "plans.gold.default_ticket_type" in found


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ('days = []', "at least one day"),
        ('hours = ["09:00-13:00", "12:00-14:00"]', "overlap"),
        ('hours = ["18:00-09:00"]', "ends before it starts"),
        ('holidays_country = "CO"\nholidays_subdivision = "ZZ"', "holidays"),
    ],
)
def test_calendar_errors(tmp_path: Path, calendar: str, message: str) -> None:
    found = "\n".join(problems(tmp_path, MINIMAL + f"[calendars.office]\ntimezone = \"America/Bogota\"\n{calendar}\n"))
    assert "calendars.office" in found and message in found


def test_calendar_intervals_are_sorted(tmp_path: Path) -> None:
    text = MINIMAL + '[calendars.office]\nhours = ["15:00-18:00", "09:00-13:00"]\n'
    assert load_settings(write(tmp_path, text)).calendars["office"].hours == ("09:00-13:00", "15:00-18:00")


def test_cross_checks_run_while_other_keys_are_wrong(tmp_path: Path) -> None:
    text = MINIMAL.replace('address = "support@example.test"', 'address = "nope"') + """
[plans.gold]
calendar = "office"
[plans.silver]
requests_per_month = -1
[calendars.broken]
days = []
[plans.bronze]
calendar = "broken"
[escalation]
steps = [{ clock = "response", at = "75%", notify = "N9" }, { clock = "later", at = "75%", notify = "N8" }]
"""
    found = "\n".join(problems(tmp_path, text))
    assert "support.address" in found and "plans.silver.requests_per_month" in found and "calendars.broken" in found
    assert "plans.gold.calendar: unknown calendar 'office'" in found
    assert "unknown level 'N9'" in found and "N8" not in found  # an invalid step has its own error, not a second one
    assert "unknown calendar 'broken'" not in found  # a calendar with a mistake of its own is still known by name


def test_empty_secrets_are_runtime_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_EMPTY", " ")
    (tmp_path / "smtp-password").write_text("\n")
    text = MINIMAL.replace('kind = "maildir"\npath = "in"', 'kind = "imap"\nhost = "127.0.0.1"\ntls = "none"\nuser = "u"\npassword_env = "MAILBOT_TEST_EMPTY"')
    text = text.replace('kind = "maildir"\npath = "out"', 'kind = "smtp"\nhost = "127.0.0.1"\ntls = "none"\nuser = "u"\npassword_file = "smtp-password"')
    path = write(tmp_path, text)
    found = runtime_problems(load_settings(path), path)
    assert any("environment variable MAILBOT_TEST_EMPTY is empty" in p for p in found)
    assert any(f"delivery.password_file: {tmp_path / 'smtp-password'} is empty" in p for p in found)


def test_database_password_comes_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "db-password").write_text("s3cr@t/x\n")
    text = MINIMAL + '[database]\nurl = "postgresql+psycopg://mailbot@db.example.com/mailbot"\npassword_file = "db-password"\n'
    settings = load_settings(write(tmp_path, text))
    assert make_url(settings.database.url).password == "s3cr@t/x"
    (tmp_path / "db-password").write_text("")
    path = write(tmp_path, text)
    assert any("database.password_file" in p and "is empty" in p for p in runtime_problems(load_settings(path), path))


def test_text_customers_read_may_be_written_per_language(tmp_path: Path) -> None:
    from mailbot.config_base import in_language

    text = MINIMAL + '[plans.standard]\nupgrade_hint = { es = "el plan Advanced", en = "the Advanced plan" }\n'
    hint = load_settings(write(tmp_path, text)).plans["standard"].upgrade_hint
    assert (in_language(hint, "es"), in_language(hint, "en")) == ("el plan Advanced", "the Advanced plan")
    assert in_language({"en": "the Advanced plan"}, "es") == "the Advanced plan"  # English stands in
    assert in_language("Advanced", "es") == "Advanced"
    found = "\n".join(problems(tmp_path, MINIMAL + '[plans.standard]\nupgrade_hint = { es = "x", fr = "y" }\n'))
    assert "plans.standard.upgrade_hint" in found and "fr" in found


@pytest.mark.parametrize("preset", ["lastcall", "calltech", "xpears"])
def test_presets_say_their_sentences_in_both_languages(tmp_path: Path, preset: str) -> None:
    from mailbot.config_base import is_single_language

    settings = load_settings(write(tmp_path, f'presets = ["{preset}"]\n' + MINIMAL))
    hints = [plan.upgrade_hint for plan in settings.plans.values() if plan.upgrade_hint]
    titles = [level.title for level in settings.escalation.levels.values()]
    assert not [text for text in hints + titles if is_single_language(text)]


def test_survey_aspects_default_and_validation(tmp_path: Path) -> None:
    keys = [aspect.key for aspect in load_settings(write(tmp_path, MINIMAL)).cases.survey_aspects]
    assert keys == ["response_time", "solution_quality", "communication", "overall"]
    own = MINIMAL + '[[cases.survey_aspects]]\nkey = "overall"\nlabel = "Overall"\n[[cases.survey_aspects]]\nkey = "speed"\nlabel = { es = "Rapidez", en = "Speed" }\n'
    assert [aspect.key for aspect in load_settings(write(tmp_path, own)).cases.survey_aspects] == ["overall", "speed"]
    without_overall = MINIMAL + '[[cases.survey_aspects]]\nkey = "speed"\nlabel = "Speed"\n'
    assert any("must include 'overall'" in problem for problem in problems(tmp_path, without_overall))
    repeated = MINIMAL + '[[cases.survey_aspects]]\nkey = "overall"\nlabel = "A"\n[[cases.survey_aspects]]\nkey = "overall"\nlabel = "B"\n'
    assert any("repeat" in problem for problem in problems(tmp_path, repeated))
