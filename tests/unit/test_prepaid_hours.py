"""The prepaid-hours policy (seed 003's cards): the current card, its balance, refusals, overdraft, statements, expiry."""

from __future__ import annotations

from datetime import date

import pytest

from mailbot.domain.directory import ContractTerm
from mailbot.policy.commands import parse_engineer_message
from mailbot.policy.prepaid_hours import (
    EXHAUSTED, LOW, CardBalance, CardTerms, contract_period, current_card, format_hours, has_prepaid_hours,
    statements_due, time_command_problems,
)

PRIORITIES = ("P1", "P2", "P3", "P4")
CARD = CardTerms("XP-1", date(2026, 1, 1), date(2026, 12, 31), 10.0)


def commands(text: str):  # type: ignore[no-untyped-def]
    parsed = parse_engineer_message(text, PRIORITIES, {})
    assert parsed.errors == ()
    return parsed.commands


def test_time_with_overdraft_is_parsed_as_such() -> None:
    [command] = commands("#time 1.5h overdraft")
    assert (command.hours, command.argument, command.detail) == (1.5, "1.5h", "overdraft")
    [plain] = commands("#time 1h30m")
    assert (plain.hours, plain.detail) == (1.5, "")


def test_time_with_another_word_is_still_an_error() -> None:
    assert [error.key for error in parse_engineer_message("#time 1h please", PRIORITIES, {}).errors] == ["needs_hours"]


def test_a_debit_within_the_balance_passes_and_one_past_it_is_refused() -> None:
    balance = CardBalance(CARD, 8.0)
    assert time_command_problems(commands("#time 2h"), balance) == []  # exactly the balance: allowed, then it is used up
    [problem] = time_command_problems(commands("#time 3h"), balance)
    assert problem.key == "hours_exceed_balance" and problem.line == "#time 3h"
    assert dict(problem.params) == {"hours": "3", "remaining": "2", "expires_on": "2026-12-31"}


def test_overdraft_allows_a_debit_past_the_balance() -> None:
    assert time_command_problems(commands("#time 3h overdraft"), CardBalance(CARD, 8.0)) == []


def test_several_time_lines_of_one_message_add_up() -> None:
    [problem] = time_command_problems(commands("#time 1h\n#time 1.5h"), CardBalance(CARD, 8.0))
    assert problem.line == "#time 1.5h"


def test_without_a_card_time_is_never_refused() -> None:
    assert time_command_problems(commands("#time 100h"), None) == []


@pytest.mark.parametrize(("after", "sent", "due"), [
    (5.0, (), ()),  # half the card left
    (2.5, (), ()),  # exactly 25%: not below it
    (2.0, (), (LOW,)),
    (1.0, (LOW,), ()),  # once per card
    (0.0, (LOW,), (EXHAUSTED,)),  # used up
    (-1.0, (LOW,), (EXHAUSTED,)),  # an overdraft ran it out
    (-2.0, (LOW, EXHAUSTED), ()),
    (0.0, (), (EXHAUSTED,)),  # one debit crossed both: the exhausted statement says it all
])
def test_statements_are_due_once_per_threshold(after: float, sent: tuple[str, ...], due: tuple[str, ...]) -> None:
    assert statements_due(10.0, after, 0.25, sent) == due


def test_a_threshold_of_the_plan_is_honoured() -> None:
    assert statements_due(10.0, 4.0, 0.5, ()) == (LOW,)


def test_the_card_expires_with_the_contract() -> None:
    term = ContractTerm("XP-1", date(2026, 3, 1), date(2027, 2, 28))
    assert current_card([term], 10.0, date(2026, 6, 1)) == CardTerms("XP-1", date(2026, 3, 1), date(2027, 2, 28), 10.0)
    assert current_card([term], 10.0, date(2027, 3, 1)) is None  # expired: no card, the hours are gone


def test_an_open_ended_contract_grants_a_card_per_contract_year() -> None:
    term = ContractTerm("XP-2", date(2024, 2, 29), None)
    assert contract_period(term, date(2026, 2, 27)) == (date(2025, 2, 28), date(2026, 2, 27))
    assert contract_period(term, date(2026, 2, 28)) == (date(2026, 2, 28), date(2027, 2, 27))


def test_the_contract_may_set_its_own_hours() -> None:
    term = ContractTerm("XP-3", date(2026, 1, 1), date(2026, 12, 31), prepaid_remote_hours=40.0)
    assert current_card([term], 10.0, date(2026, 5, 1)).granted == 40.0  # type: ignore[union-attr]
    assert has_prepaid_hours([term], 0.0)
    assert current_card([ContractTerm("XP-4", date(2026, 1, 1), None, prepaid_remote_hours=0.0)], 10.0, date(2026, 5, 1)) is None


def test_a_renewal_overlapping_the_old_contract_is_the_current_card() -> None:
    old = ContractTerm("OLD", date(2025, 1, 1), date(2026, 6, 30))
    new = ContractTerm("NEW", date(2026, 6, 1), date(2027, 5, 31))
    assert current_card([old, new], 10.0, date(2026, 6, 15)).contract_reference == "NEW"  # type: ignore[union-attr]


def test_plans_without_hours_have_no_card() -> None:
    assert current_card([ContractTerm("S", date(2026, 1, 1), None)], 0.0, date(2026, 5, 1)) is None


def test_balance_and_hours_as_people_write_them() -> None:
    assert CardBalance(CARD, 11.0).remaining == -1.0
    assert (format_hours(1.5), format_hours(2.0), format_hours(0.25)) == ("1.5", "2", "0.25")


def test_the_directory_may_give_a_contract_its_own_hours(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mailbot.directory.files import read_directory_file

    path = tmp_path / "directory.csv"
    path.write_text("account_key,account_name,plan,contract_reference,contract_starts_on,contract_ends_on,"
                    "contract_prepaid_remote_hours,contact_email\n"
                    "bank,Banco,managed,XP-1,2026-01-01,2026-12-31,40,ana@bank.example.com\n"
                    "bank,Banco,managed,XP-2,2027-01-01,,,ana@bank.example.com\n")
    [account] = read_directory_file(path).accounts
    assert [(contract.reference, contract.prepaid_remote_hours) for contract in account.contracts] == [("XP-1", 40.0), ("XP-2", None)]
