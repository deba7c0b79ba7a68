"""`mailbot cases search WORDS`: cases whose subject or messages contain every word, best first, with the line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

from mailbot.cases.search import CaseMatch, SearchQuery, search_cases, search_terms
from mailbot.entrypoints.commands.inbound import parse_since
from mailbot.entrypoints.shared import print_json, read_view
from mailbot.entrypoints.tables import render_table, short
from mailbot.runtime.exit_codes import EXIT_OK, EXIT_USAGE

COLUMNS = ("number", "status", "account", "subject", "rank")


def add_case_search_parser(cases_actions: Any) -> None:
    search = cases_actions.add_parser(
        "search", help="cases whose subject or messages contain every word (Spanish and English), best first")
    search.add_argument("words", nargs="+", help="words to find; accents and word endings need not match")
    search.add_argument("--account", help="only this account key")
    search.add_argument("--since", help="only cases opened since this date or time (YYYY-MM-DD[THH:MM], UTC)")
    search.add_argument("--limit", type=positive, default=20, help="at most this many cases (default 20)")
    search.add_argument("--json", action="store_true", help="JSON for scripts")
    search.set_defaults(handler=cmd_cases_search)


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def cmd_cases_search(arguments: argparse.Namespace) -> int:
    words = " ".join(arguments.words)
    terms = search_terms(words)
    if not terms:
        print(f"error: nothing to search for in {words!r}: give at least one word", file=sys.stderr)
        return EXIT_USAGE
    query = SearchQuery(terms, arguments.account, parse_since(arguments.since) if arguments.since else None,
                        arguments.limit)
    matches = read_view(arguments, lambda _app, session: search_cases(session, query))
    if arguments.json:
        print_json([asdict(match) for match in matches])
    elif not matches:
        print(f"no cases match {words!r}" + describe_filters(query))
    else:
        print(describe_matches(matches))
    return EXIT_OK


def describe_filters(query: SearchQuery) -> str:
    parts = ([f"account {query.account}"] if query.account else []) + (
        [f"opened since {query.since.isoformat()}"] if query.since else [])
    return f" ({', '.join(parts)})" if parts else ""


def describe_matches(matches: list[CaseMatch]) -> str:
    """A table of the cases, each row followed by its matching line, indented."""
    header, *rows = render_table(COLUMNS, [[short(getattr(match, column), column) for column in COLUMNS]
                                           for match in matches]).splitlines()
    return "\n".join([header] + [f"{row}\n    {match.line}" for row, match in zip(rows, matches)])
