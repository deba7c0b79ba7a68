"""Find cases by words in their subject or messages: PostgreSQL full-text search or SQLite FTS5 (migration 0014).

The dialect-specific SQL lives here and nowhere else. Both dialects fold accents ("garantia" finds
"garantía"); PostgreSQL stems Spanish and English, SQLite stems English (Porter) and matches each word of
four letters or more as a prefix, so "error" also finds "errores". Every word must match (AND), in the
case's subject or in one message (its subject and text). The matching line shows matched words in [brackets].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.orm import Session

from mailbot.db.models import UtcDateTime

# Marks around matched words as the database returns them: control characters no mail text contains.
MATCH_START, MATCH_STOP = "\x02", "\x03"
LINE_WIDTH = 100  # characters of the matching line shown
CONTEXT_BEFORE = 30  # characters kept before the first matched word when the line is cut
SUBJECT_WEIGHT = 2.0  # a word in the subject says more about the case than one in a message
SQLITE_PREFIX_MIN = 4  # shorter words are matched whole: a prefix of 1-3 letters matches too much
WORD = re.compile(r"\w+(?:-\w+)*")  # "HX-1037" stays one term: PostgreSQL reads "-1037" as a number


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[str, ...]
    account: str | None = None  # an account key, any case
    since: datetime | None = None  # cases opened at or after this moment
    limit: int = 20


@dataclass(frozen=True)
class CaseMatch:
    number: str
    status: str
    account: str
    subject: str
    opened_at: str
    rank: float  # higher is better; comparable within one search only (bm25 on SQLite, ts_rank on PostgreSQL)
    line: str  # the matching line, matched words in [brackets]


@dataclass(frozen=True)
class _Hit:
    case_id: int
    number: str
    status: str
    account: str
    subject: str
    opened_at: datetime
    rank: float


def search_terms(words: str) -> tuple[str, ...]:
    """The words to look for, in order, without punctuation (which full-text syntax would read as operators)."""
    return tuple(dict.fromkeys(term.casefold() for term in WORD.findall(words)))


def fts5_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: every term, each quoted (never an operator), long ones as prefixes."""
    return " AND ".join(f'"{term}"*' if len(term) >= SQLITE_PREFIX_MIN else f'"{term}"' for term in terms)


def search_cases(session: Session, query: SearchQuery) -> list[CaseMatch]:
    """The best-ranked cases matching every term, with the line that matched."""
    if not query.terms:
        return []
    backend = _PostgresSearch(query) if session.get_bind().dialect.name == "postgresql" else _SqliteSearch(query)
    hits = backend.hits(session)
    lines = backend.marked_texts(session, [hit.case_id for hit in hits])
    return [CaseMatch(hit.number, hit.status, hit.account, hit.subject, hit.opened_at.isoformat(), round(hit.rank, 4),
                      matching_line(lines.get(hit.case_id, ""))) for hit in hits]


def matching_line(marked: str) -> str:
    """The line of `marked` with the most matches (unquoted lines first, then the earliest), trimmed, in [brackets]."""
    lines = [" ".join(line.split()) for line in marked.splitlines()]
    candidates = [line for line in lines if MATCH_START in line]
    if not candidates:
        return ""
    best = max(candidates, key=lambda line: (not line.startswith(">"), line.count(MATCH_START)))
    return _bracketed(_trimmed(best))


def _trimmed(line: str) -> str:
    if len(line) <= LINE_WIDTH:
        return line
    first = line.index(MATCH_START)
    start = 0 if first <= CONTEXT_BEFORE else line.find(" ", first - CONTEXT_BEFORE, first) + 1 or first
    end = start + LINE_WIDTH
    if end < len(line):
        space = line.rfind(" ", first, end)
        end = space if space > first else end  # a whole word at the end, unless that loses the match
    cut = line[start:end].rstrip()
    if cut.count(MATCH_START) > cut.count(MATCH_STOP):
        cut += MATCH_STOP
    return ("…" if start else "") + cut + ("…" if end < len(line) else "")


def _bracketed(line: str) -> str:
    return line.replace(MATCH_START, "[").replace(MATCH_STOP, "]")


def _filters(query: SearchQuery, prefix: str = "WHERE ") -> str:
    conditions = []
    if query.account:
        conditions.append("lower(a.key) = :account")
    if query.since:
        conditions.append("c.opened_at >= :since")
    return (prefix + " AND ".join(conditions)) if conditions else ""


def _with_since(statement: TextClause, query: SearchQuery) -> TextClause:
    statement = statement.columns(opened_at=UtcDateTime())
    return statement.bindparams(bindparam("since", type_=UtcDateTime())) if query.since else statement


def _ranked_sql(hits: str, query: SearchQuery, before: str = "") -> TextClause:
    """Each case's best hit, filtered, best first; `hits` yields (case_id, score) rows; `before`: CTEs it reads."""
    sql = (f"WITH {before}hits AS ({hits}), best AS (SELECT case_id, max(score) AS score FROM hits GROUP BY case_id) "
           "SELECT c.id, c.number, c.status, a.key, c.subject, c.opened_at, best.score FROM best "
           "JOIN cases c ON c.id = best.case_id JOIN accounts a ON a.id = c.account_id "
           f"{_filters(query)} ORDER BY best.score DESC, c.opened_at DESC, c.id DESC LIMIT :limit")
    return _with_since(text(sql), query)


def _common_parameters(query: SearchQuery) -> dict[str, Any]:
    return {"limit": query.limit, **({"account": query.account.lower()} if query.account else {}),
            **({"since": query.since} if query.since else {})}


class _SqliteSearch:
    """FTS5 over external-content tables; bm25 is lower-is-better, so its negation ranks.

    Without filters FTS5 itself keeps only the best `k` rows of each table (`ORDER BY rank LIMIT k`), so
    nothing else is read for the matches that will not be shown. The answer is exact: a case none of whose
    fetched rows ranks at least as well as the worst row fetched from a table that was cut (`floor`) could
    still be beaten by rows not fetched, so until `limit` cases rank at or above the floor, `k` grows; past
    FETCH_MAX rows per table every match is ranked at once instead. Cases tied at exactly the floor may be
    ordered among themselves differently from a full ranking. With --account or --since (which may keep few
    of the best matches) only the matches of the cases they keep are ranked, all of them.
    """

    FETCH_FIRST = 4  # rows per table fetched first, per case shown
    GROWTH = 4
    FETCH_MAX = 5000  # past this, rank every match in one statement (IN lists stay far below SQLite's limits)

    def __init__(self, query: SearchQuery) -> None:
        self.query = query
        self.match = fts5_query(query.terms)

    def parameters(self) -> dict[str, Any]:
        return {"match": self.match, **_common_parameters(self.query)}

    def ranked(self) -> TextClause:
        """Every match ranked and joined: the fallback when the top rows of each table do not suffice. With
        filters only the matches of the cases they keep are ranked or joined (rowids tested against a list)."""
        kept, subjects, messages = "", "", ""
        if self.query.account or self.query.since:
            kept = f"kept AS (SELECT c.id FROM cases c JOIN accounts a ON a.id = c.account_id {_filters(self.query)}), "
            subjects = " AND +case_subject_fts.rowid IN kept"
            messages = " AND +case_message_fts.rowid IN (SELECT id FROM case_messages WHERE case_id IN kept)"
        hits = (f"SELECT rowid AS case_id, -bm25(case_subject_fts) * {SUBJECT_WEIGHT} AS score FROM case_subject_fts"
                f" WHERE case_subject_fts MATCH :match{subjects} UNION ALL "
                "SELECT m.case_id, -bm25(case_message_fts) FROM case_message_fts"
                f" JOIN case_messages m ON m.id = case_message_fts.rowid WHERE case_message_fts MATCH :match{messages}")
        return _ranked_sql(hits, self.query, kept)

    def hits(self, session: Session) -> list[_Hit]:
        query = self.query
        filtered = bool(query.account or query.since)
        k = max(query.limit, 1) * self.FETCH_FIRST
        while k <= self.FETCH_MAX and not filtered:
            best, floor = self._top(session, k)
            rows = self._cases(session, best) if best else []
            sure = [_Hit(*row[:6], best[row[0]]) for row in rows if floor is None or best[row[0]] >= floor]
            if floor is None or len(sure) >= query.limit:
                sure.sort(key=lambda hit: (-hit.rank, -hit.opened_at.timestamp(), -hit.case_id))
                return sure[:query.limit]
            k *= self.GROWTH
        return [_Hit(*row) for row in session.execute(self.ranked(), self.parameters())]

    def _top(self, session: Session, k: int) -> tuple[dict[int, float], float | None]:
        """Each case's best score among the `k` best subjects and `k` best messages; the floor, None if nothing was cut."""
        parameters = {"match": self.match, "k": k}
        subjects = session.execute(text(
            f"SELECT rowid, -rank * {SUBJECT_WEIGHT} FROM case_subject_fts WHERE case_subject_fts MATCH :match"
            " ORDER BY rank LIMIT :k"), parameters).all()
        messages = session.execute(text(
            "SELECT m.case_id, -top.rank FROM (SELECT rowid, rank FROM case_message_fts"
            " WHERE case_message_fts MATCH :match ORDER BY rank LIMIT :k) top"
            " JOIN case_messages m ON m.id = top.rowid ORDER BY top.rank"), parameters).all()
        best: dict[int, float] = {}
        for case_id, score in (*subjects, *messages):
            best[case_id] = max(score, best.get(case_id, score))
        cut = [rows[-1][1] for rows in (subjects, messages) if len(rows) >= k]
        return best, (max(cut) if cut else None)

    def _cases(self, session: Session, best: dict[int, float]) -> list[Any]:
        sql = ("SELECT c.id, c.number, c.status, a.key, c.subject, c.opened_at FROM cases c"
               f" JOIN accounts a ON a.id = c.account_id WHERE c.id IN :ids{_filters(self.query, ' AND ')}")
        statement = _with_since(text(sql), self.query).bindparams(bindparam("ids", expanding=True))
        return session.execute(statement, {"ids": list(best), **_common_parameters(self.query)}).all()

    def marked_texts(self, session: Session, case_ids: list[int]) -> dict[int, str]:
        """Per case, its best matching message with the matches marked, else its marked subject."""
        if not case_ids:
            return {}
        # highlight() and bm25() only for the shown cases' rows, sorted here (ORDER BY would rank every match);
        # "+rowid": FTS5 would run the whole MATCH again for each value of a rowid IN list it is handed
        owners = dict(session.execute(text("SELECT id, case_id FROM case_messages WHERE case_id IN :ids")
                                      .bindparams(bindparam("ids", expanding=True)), {"ids": case_ids}).all())
        marks = {"match": self.match, "start": MATCH_START, "stop": MATCH_STOP}
        # the text before the subject: on a tie the text's line wins (the table shows the subject already)
        messages = text("SELECT rowid, highlight(case_message_fts, 1, :start, :stop) || char(10)"
                        " || highlight(case_message_fts, 0, :start, :stop), bm25(case_message_fts) FROM case_message_fts"
                        " WHERE case_message_fts MATCH :match AND +rowid IN :ids").bindparams(bindparam("ids", expanding=True))
        subjects = text("SELECT rowid, highlight(case_subject_fts, 0, :start, :stop) FROM case_subject_fts"
                        " WHERE case_subject_fts MATCH :match AND +rowid IN :ids"
                        ).bindparams(bindparam("ids", expanding=True))
        found = {case_id: marked for case_id, marked in session.execute(subjects, {**marks, "ids": case_ids})}
        if owners:  # bm25 descending: the best message comes last and wins
            rows = sorted(session.execute(messages, {**marks, "ids": list(owners)}), key=lambda row: -row[2])
            found.update((owners[message_id], marked) for message_id, marked, _bm25 in rows)
        return found


class _PostgresSearch:
    """tsvector columns (Spanish || English, accents folded); each term matches in either language."""

    CONFIGURATIONS = ("mailbot_spanish", "mailbot_english")

    def __init__(self, query: SearchQuery) -> None:
        self.query = query

    def tsquery(self) -> str:
        def either_language(index: int) -> str:
            return " || ".join(f"plainto_tsquery('{name}', :t{index})" for name in self.CONFIGURATIONS)

        return " && ".join(f"({either_language(index)})" for index in range(len(self.query.terms)))

    def parameters(self) -> dict[str, Any]:
        return {**{f"t{index}": term for index, term in enumerate(self.query.terms)}, **_common_parameters(self.query)}

    def ranked(self) -> TextClause:
        """The best `limit` cases by subject (in the final order: score, newest) and the best `limit` by
        message (ties at the cut kept: WITH TIES), then the best of those: the same cases as ranking and
        joining every match, but nothing more is read for the matches that will not be shown, and `cases`
        is joined to messages only for filters. ts_rank: ts_rank_cd costs more and ranks no better here."""
        filtered = bool(self.query.account or self.query.since)
        accounts = " JOIN accounts a ON a.id = c.account_id" if filtered else ""
        subjects = (f"SELECT c.id AS case_id, ts_rank(c.search_document, query.q) * {SUBJECT_WEIGHT} AS score"
                    f" FROM query, cases c{accounts} WHERE c.search_document @@ query.q{_filters(self.query, ' AND ')}"
                    " ORDER BY score DESC, c.opened_at DESC, c.id DESC LIMIT :limit")
        cases = f" JOIN cases c ON c.id = m.case_id{accounts}" if filtered else ""
        # ranked first, then grouped: the grouping then sorts or hashes (case_id, score), not whole rows
        ranks = ("SELECT m.case_id, ts_rank(m.search_document, query.q) AS score"
                 f" FROM query, case_messages m{cases} WHERE m.search_document @@ query.q{_filters(self.query, ' AND ')}")
        messages = ("SELECT case_id, max(score) AS score FROM message_ranks GROUP BY case_id"
                    " ORDER BY score DESC FETCH FIRST :limit ROWS WITH TIES")
        # the query once (plainto_tsquery is only stable: inline, it would be parsed again for every row)
        sql = (f"WITH query AS MATERIALIZED (SELECT ({self.tsquery()}) AS q), "
               f"message_ranks AS MATERIALIZED ({ranks}), "
               f"hits AS (({subjects}) UNION ALL ({messages})), "
               "best AS (SELECT case_id, max(score) AS score FROM hits GROUP BY case_id) "
               "SELECT c.id, c.number, c.status, a.key, c.subject, c.opened_at, best.score FROM best "
               "JOIN cases c ON c.id = best.case_id JOIN accounts a ON a.id = c.account_id "
               "ORDER BY best.score DESC, c.opened_at DESC, c.id DESC LIMIT :limit")
        return _with_since(text(sql), self.query)

    def hits(self, session: Session) -> list[_Hit]:
        return [_Hit(*row) for row in session.execute(self.ranked(), self.parameters())]

    def marked_texts(self, session: Session, case_ids: list[int]) -> dict[int, str]:
        """Per case, its best matching message (else its subject), marked in both languages: the one marking more wins."""
        if not case_ids:
            return {}
        options = f"StartSel={MATCH_START}, StopSel={MATCH_STOP}, HighlightAll=true"
        headlines = ", ".join(f"ts_headline('{name}', body, query.q, :options)" for name in self.CONFIGURATIONS)
        sql = (f"WITH query AS (SELECT ({self.tsquery()}) AS q), documents AS ("
               "SELECT m.case_id, m.body_text || E'\\n' || m.subject AS body, ts_rank(m.search_document, query.q) AS score"
               " FROM case_messages m, query"
               " WHERE m.case_id IN :ids AND m.search_document @@ query.q UNION ALL "
               "SELECT c.id, c.subject, -1 FROM cases c, query WHERE c.id IN :ids AND c.search_document @@ query.q), "
               "best AS (SELECT DISTINCT ON (case_id) case_id, body FROM documents ORDER BY case_id, score DESC) "
               f"SELECT case_id, {headlines} FROM best, query")
        rows = session.execute(text(sql).bindparams(bindparam("ids", expanding=True)),
                               {"ids": case_ids, "options": options, **self.parameters()})
        return {case_id: max(marked, key=lambda value: value.count(MATCH_START)) for case_id, *marked in rows}
