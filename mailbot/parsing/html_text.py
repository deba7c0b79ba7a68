"""Readable plain text from an HTML mail body, for HTML-only messages."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

_DROPPED = ["script", "style", "head", "title", "noscript", "template"]
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"})
_LINES = frozenset({"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address"})
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# Placeholders, removed from the input first: a space inside <pre> (kept while other white space
# collapses), and the edges of line and paragraph blocks (adjacent edges merge into one break).
_PRE_SPACE = "\x00"
_LINE_EDGE = "\x01"
_PARAGRAPH_EDGE = "\x02"
_EDGE_RUN = re.compile("[ \x01\x02]*[\x01\x02][ \x01\x02]*")


def html_to_text(html: str) -> str:
    """Block elements become line breaks, scripts and styles vanish, blank-line runs collapse to one."""
    soup = BeautifulSoup(re.sub("[\x00-\x02]", "", html), "html.parser")
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    _collapse_white_space(soup)
    _mark_breaks(soup)
    text = _EDGE_RUN.sub(_edge_break, soup.get_text().replace("\xa0", " "))
    lines = [line.strip(" ") for line in text.split("\n")]
    text = _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
    return text.replace(_PRE_SPACE, " ")


def _collapse_white_space(soup: BeautifulSoup) -> None:
    """HTML renders any run of white space as one space, except inside <pre>."""
    # Collected once: asking each string for a <pre> ancestor is quadratic on deeply nested HTML.
    preformatted = {id(string) for pre in soup.find_all("pre") for string in pre.find_all(string=True)}
    for string in list(soup.find_all(string=True)):
        if type(string) is not NavigableString:
            continue  # comments, doctypes, CDATA: get_text() skips them anyway
        if id(string) in preformatted:
            replacement = str(string).replace("\r\n", "\n").replace(" ", _PRE_SPACE).replace("\t", _PRE_SPACE * 4)
        else:
            replacement = _SPACES.sub(" ", str(string))
        string.replace_with(NavigableString(replacement))


def _mark_breaks(soup: BeautifulSoup) -> None:
    for tag in list(soup.find_all(True)):
        if not isinstance(tag, Tag):
            continue
        if tag.name == "br":
            tag.replace_with(NavigableString("\n"))
        elif tag.name in _PARAGRAPHS:
            _surround(tag, _PARAGRAPH_EDGE)
        elif tag.name in _LINES:
            _surround(tag, _LINE_EDGE)
        elif tag.name in _CELLS:
            tag.insert_after(NavigableString(" "))


def _surround(tag: Tag, marker: str) -> None:
    tag.insert_before(NavigableString(marker))
    tag.insert_after(NavigableString(marker))


def _edge_break(run: re.Match[str]) -> str:
    return "\n\n" if _PARAGRAPH_EDGE in run.group() else "\n"
