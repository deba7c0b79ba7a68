"""The pure parts of `cases search`: terms from the command line, the FTS5 expression, the matching line."""

from __future__ import annotations

from mailbot.cases.search import LINE_WIDTH, MATCH_START as S, MATCH_STOP as E, fts5_query, matching_line, search_terms


def test_terms_drop_punctuation_and_repeats_and_keep_accents() -> None:
    assert search_terms('Garantía "disco" OR NEAR(x) garantía -router*') == ("garantía", "disco", "or", "near", "x", "router")
    assert search_terms(" ¿? ... ") == ()
    assert search_terms("modelo HX-1037,") == ("modelo", "hx-1037")


def test_fts5_query_quotes_every_term_and_prefixes_the_long_ones() -> None:
    assert fts5_query(("or", "garantía", "ups")) == '"or" AND "garantía"* AND "ups"'


def test_the_line_with_most_matches_wins_and_quotes_come_last() -> None:
    marked = f"Hola,\n> {S}disco{E} {S}roto{E} antes\nel {S}disco{E} falla\n\nun {S}disco{E} y otro {S}disco{E}"
    assert matching_line(marked) == "un [disco] y otro [disco]"
    assert matching_line(f"> only {S}quoted{E}\nnothing here") == "> only [quoted]"
    assert matching_line("no marks at all") == ""


def test_a_long_line_is_cut_around_the_first_match_at_word_boundaries() -> None:
    words = " ".join(f"palabra{n}" for n in range(40))
    line = matching_line(f"{words} {S}garantía{E} {words}")
    assert line.startswith("…palabra") and line.endswith("…") and "[garantía]" in line
    assert len(line) <= LINE_WIDTH + 2 and " " + line.split()[-1][:-1] in words  # whole words only
    assert matching_line(f"  el   {S}router{E}\t no  arranca ") == "el [router] no arranca"
