"""What `cases show` reads from a case: SLA clocks in business time, authors, addresses, local times (pure parts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailbot.cases.views import local_time, message_author, unique_addresses
from mailbot.config import CalendarSettings
from mailbot.db.models import CaseMessage
from mailbot.entrypoints.tables import human_size
from mailbot.policy.catalog import build_calendar
from mailbot.policy.clock_readings import business_span, is_breached, read_clock

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = build_calendar("office", CalendarSettings(timezone="Europe/Madrid", hours=("09:00-18:00",)))


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)


OPENED = madrid(2026, 11, 27, 17, 0)  # a Friday, an hour before closing
DUE = madrid(2026, 11, 30, 12, 0)  # 4 business hours later: 1 on Friday, 3 on Monday


def test_a_running_clock_counts_what_is_left_in_business_time_over_the_weekend() -> None:
    reading = read_clock("response", OPENED, DUE, None, madrid(2026, 11, 28, 12, 0), OFFICE)  # Saturday noon
    assert (reading.state, reading.business_left, reading.business_taken) == ("running", timedelta(hours=3), timedelta(hours=1))
    assert not is_breached([reading])


def test_an_overdue_clock_counts_business_time_past_due() -> None:
    reading = read_clock("response", OPENED, DUE, None, madrid(2026, 12, 1, 10, 30), OFFICE)  # Tuesday 10:30
    assert (reading.state, reading.business_late) == ("overdue", timedelta(hours=7, minutes=30))
    assert is_breached([reading])


@pytest.mark.parametrize(("stopped", "state", "late"), [
    (madrid(2026, 11, 30, 9, 15), "met", timedelta(0)),
    (madrid(2026, 11, 30, 14, 0), "missed", timedelta(hours=2)),
])
def test_a_stopped_clock_is_met_or_missed_and_stays_so(stopped: datetime, state: str, late: timedelta) -> None:
    reading = read_clock("resolution", OPENED, DUE, stopped, madrid(2027, 1, 1, 12, 0), OFFICE)
    assert (reading.state, reading.business_late, reading.business_left) == (state, late, timedelta(0))
    assert is_breached([reading]) == (state == "missed")


def test_a_paused_clock_keeps_what_was_left_when_the_case_began_waiting() -> None:
    reading = read_clock("resolution", OPENED, DUE, None, madrid(2026, 12, 10, 12, 0), OFFICE,
                         waiting_since=madrid(2026, 11, 30, 10, 0))
    assert (reading.state, reading.business_left, reading.business_taken) == ("paused", timedelta(hours=2), timedelta(hours=2))
    assert not is_breached([reading])


def test_time_spent_waiting_is_not_taken() -> None:
    reading = read_clock("response", OPENED, DUE + timedelta(hours=1), madrid(2026, 11, 30, 12, 0), madrid(2026, 12, 1, 9, 0),
                         OFFICE, paused=timedelta(hours=1))
    assert (reading.state, reading.business_taken) == ("met", timedelta(hours=3))


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(minutes=5, seconds=59), "5 min"), (timedelta(hours=2), "2 h"), (timedelta(hours=26, minutes=5), "26 h 5 min"),
])
def test_business_spans_read_in_hours_and_minutes(span: timedelta, text: str) -> None:
    assert business_span(span) == text


def test_addresses_named_twice_are_listed_once() -> None:
    assert unique_addresses("support@example.com, support@example.com") == "support@example.com"
    assert unique_addresses("a@example.com, B@example.com,b@example.com, ") == "a@example.com, B@example.com"


def test_local_time_has_minutes_and_the_zone_never_microseconds() -> None:
    assert local_time(datetime.fromisoformat("2026-07-01T10:00:00.123456+00:00"), MADRID) == "2026-07-01 12:00 CEST"


@pytest.mark.parametrize(("stored", "sender", "direction", "internal", "author"), [
    ("customer", "ana@acme.example.com", "in", False, "customer"),
    ("engineer", "maria@vendor.example.com", "in", True, "engineer"),
    ("bot", "support@example.com", "out", True, "bot"),
    ("customer", "lead@vendor.example.com", "in", False, "manager"),  # an escalation level's person
    ("customer", "someone@vendor.example.com", "in", True, "manager"),  # answered an escalation notice
])
def test_message_authors(stored: str, sender: str, direction: str, internal: bool, author: str) -> None:
    message = CaseMessage(author=stored, sender=sender, direction=direction, internal=internal)
    assert message_author(message, frozenset({"lead@vendor.example.com"})) == author


def test_sizes_read_as_people_say_them() -> None:
    assert [human_size(size) for size in (512, 1700, 3 * 1024 * 1024)] == ["512 bytes", "1.7 KB", "3.0 MB"]
