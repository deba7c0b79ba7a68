"""Business-time arithmetic against hand-computed cases."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import CalendarSettings
from mailbot.policy.calendar import deadline, elapsed, is_open
from mailbot.policy.catalog import build_calendar

BOGOTA = ZoneInfo("America/Bogota")
MADRID = ZoneInfo("Europe/Madrid")
GOLD = build_calendar("co-8x5", CalendarSettings(timezone="America/Bogota", hours=("07:30-17:30",), holidays_country="CO"))
ALWAYS = build_calendar("24x7", CalendarSettings(timezone="America/Bogota", always_open=True))


def bogota(*args: int) -> datetime:
    return datetime(*args, tzinfo=BOGOTA)


def test_seed_example_p1_at_17h_is_due_at_9h_next_business_day() -> None:
    # 30 minutes that day, 90 the next (seed 001).
    assert deadline(bogota(2026, 11, 24, 17, 0), timedelta(hours=2), GOLD) == bogota(2026, 11, 25, 9, 0)


def test_friday_17h_before_a_colombian_monday_holiday_runs_on_tuesday() -> None:
    # Monday 2026-01-12 is Epiphany (observed) in Colombia.
    assert deadline(bogota(2026, 1, 9, 17, 0), timedelta(hours=2), GOLD) == bogota(2026, 1, 13, 9, 0)


def test_mail_at_night_starts_at_opening_time() -> None:
    assert deadline(bogota(2026, 11, 24, 23, 40), timedelta(hours=6), GOLD) == bogota(2026, 11, 25, 13, 30)


def test_mail_on_sunday_starts_monday() -> None:
    assert deadline(bogota(2026, 11, 22, 10, 0), timedelta(hours=16), GOLD) == bogota(2026, 11, 24, 13, 30)


def test_long_targets_span_several_days() -> None:
    # 32 business hours = 3 full days (30 h) + 2 h, from Monday 07:30.
    assert deadline(bogota(2026, 11, 23, 7, 30), timedelta(hours=32), GOLD) == bogota(2026, 11, 26, 9, 30)


def test_24x7_ignores_hours_and_holidays() -> None:
    assert deadline(bogota(2026, 1, 9, 17, 0), timedelta(hours=4), ALWAYS) == bogota(2026, 1, 9, 21, 0)


def test_dst_day_counts_real_hours() -> None:
    madrid = build_calendar("es", CalendarSettings(timezone="Europe/Madrid", days=("sat", "sun"), hours=("00:00-24:00",)))
    # Sunday 2026-03-29 02:00 local jumps to 03:00: Saturday 22:00 + 4 real hours = Sunday 03:00 CEST.
    start = datetime(2026, 3, 28, 22, 0, tzinfo=MADRID)
    assert deadline(start, timedelta(hours=4), madrid) == datetime(2026, 3, 29, 3, 0, tzinfo=MADRID)
    assert elapsed(datetime(2026, 3, 29, 0, 0, tzinfo=MADRID), datetime(2026, 3, 30, 0, 0, tzinfo=MADRID), madrid) == timedelta(hours=23)


def test_elapsed_counts_only_working_time() -> None:
    assert elapsed(bogota(2026, 11, 24, 17, 0), bogota(2026, 11, 25, 9, 0), GOLD) == timedelta(hours=2)
    assert elapsed(bogota(2026, 1, 9, 12, 0), bogota(2026, 1, 13, 8, 30), GOLD) == timedelta(hours=6, minutes=30)
    assert elapsed(bogota(2026, 11, 25, 9, 0), bogota(2026, 11, 24, 9, 0), GOLD) == timedelta(0)


@pytest.mark.parametrize("hours", [0.5, 2, 7, 10, 16, 32, 100])
def test_elapsed_inverts_deadline(hours: float) -> None:
    start = bogota(2026, 12, 23, 16, 10)  # across Christmas and New Year's Day
    due = deadline(start, timedelta(hours=hours), GOLD)
    assert elapsed(start, due, GOLD) == timedelta(hours=hours)


def test_is_open() -> None:
    assert is_open(bogota(2026, 11, 24, 7, 30), GOLD)
    assert not is_open(bogota(2026, 11, 24, 17, 30), GOLD)
    assert not is_open(bogota(2026, 12, 25, 10, 0), GOLD)  # Christmas


def test_extra_closed_dates() -> None:
    closed = build_calendar("c", CalendarSettings(timezone="America/Bogota", hours=("07:30-17:30",), closed_dates=(date(2026, 11, 25),)))
    assert deadline(bogota(2026, 11, 24, 17, 0), timedelta(hours=2), closed) == bogota(2026, 11, 26, 9, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        deadline(datetime(2026, 1, 1), timedelta(hours=1), GOLD)


def test_utc_input_gives_the_same_instant() -> None:
    start = bogota(2026, 11, 24, 17, 0).astimezone(timezone.utc)
    assert deadline(start, timedelta(hours=2), GOLD) == bogota(2026, 11, 25, 9, 0)


def test_business_days_skip_weekends_and_holidays() -> None:
    from mailbot.policy.calendar import add_business_days

    # Friday 9 Jan 2026 10:00 + 1 business day: Monday 12 is a holiday in Colombia, so Tuesday 13.
    assert add_business_days(bogota(2026, 1, 9, 10, 0), 1, GOLD) == bogota(2026, 1, 13, 10, 0)
    assert add_business_days(bogota(2026, 1, 9, 10, 0), 3, ALWAYS) == bogota(2026, 1, 12, 10, 0)


def test_a_calendar_remembers_its_days_without_changing_its_answers() -> None:
    fresh = build_calendar("co-8x5", CalendarSettings(timezone="America/Bogota", hours=("07:30-17:30",), holidays_country="CO"))
    worked = build_calendar("co-8x5", CalendarSettings(timezone="America/Bogota", hours=("07:30-17:30",), holidays_country="CO"))
    first = [deadline(bogota(2026, 1, 9, 17, 0) + timedelta(hours=n), timedelta(hours=30), worked) for n in range(48)]
    again = [deadline(bogota(2026, 1, 9, 17, 0) + timedelta(hours=n), timedelta(hours=30), worked) for n in range(48)]
    assert first == again == [deadline(bogota(2026, 1, 9, 17, 0) + timedelta(hours=n), timedelta(hours=30), fresh)
                              for n in range(48)]
    assert fresh.intervals_on(date(2026, 1, 12)) == ()  # the holiday, from memory or not
