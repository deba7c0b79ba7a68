"""Readable plain text from an HTML mail body, for HTML-only messages."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import CData, NavigableString, PageElement, Tag

_DROPPED = frozenset({"script", "style", "head", "title", "noscript", "template"})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"})
_LINES = frozenset({"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address"})
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# Placeholders, removed from the input first: a space inside <pre> (kept while other white space
# collapses and lines are stripped), and the edges of line and paragraph blocks (adjacent edges
# merge into one break, so "</li><li>" is one line break and "</p><p>" one blank line).
_PRE_SPACE = "\x00"
_LINE_EDGE = "\x01"
_PARAGRAPH_EDGE = "\x02"
_PLACEHOLDERS = re.compile("[\x00-\x02]")
_EDGE_RUN = re.compile("[ \x01\x02]*[\x01\x02][ \x01\x02]*")


def html_to_text(html: str) -> str:
    """Block elements become line breaks, scripts and styles vanish, blank-line runs collapse to one."""
    soup = BeautifulSoup(_PLACEHOLDERS.sub("", html), "html.parser")
    text = _EDGE_RUN.sub(_edge_break, "".join(_render(soup)).replace("\xa0", " "))
    lines = [line.strip(" ") for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n").replace(_PRE_SPACE, " ")


def _render(root: Tag) -> list[str]:
    """Text pieces in document order. Iterative, and without editing the tree: BeautifulSoup's
    insert/replace look the node up among its siblings, which made a tree edit per block quadratic."""
    pieces: list[str] = []
    stack: list[tuple[PageElement | str, bool]] = [(root, False)]
    while stack:
        node, in_pre = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            pieces.append(node)  # a closing marker pushed below
        elif isinstance(node, NavigableString):
            pieces.append(_string_text(node, in_pre))
        elif isinstance(node, Tag) and node.name not in _DROPPED:
            opening, closing = _edges(node.name)
            pieces.append(opening)
            stack.append((closing, in_pre))
            child_in_pre = in_pre or node.name == "pre"
            stack.extend((child, child_in_pre) for child in reversed(node.contents))
    return pieces


def _string_text(node: NavigableString, in_pre: bool) -> str:
    if type(node) not in (NavigableString, CData):
        return ""  # comments, doctypes, processing instructions are not shown by a mail client
    if in_pre:
        # HTML keeps white space inside <pre>.
        return str(node).replace("\r\n", "\n").replace(" ", _PRE_SPACE).replace("\t", _PRE_SPACE * 4)
    return _SPACES.sub(" ", str(node))  # elsewhere any run of white space renders as one space


def _edges(name: str) -> tuple[str, str]:
    if name == "br":
        return "\n", ""
    if name in _PARAGRAPHS:
        return _PARAGRAPH_EDGE, _PARAGRAPH_EDGE
    if name in _LINES:
        return _LINE_EDGE, _LINE_EDGE
    if name in _CELLS:
        return "", " "
    return "", ""


def _edge_break(run: re.Match[str]) -> str:
    return "\n\n" if _PARAGRAPH_EDGE in run.group() else "\n"
