"""A lexer for SPARQL text, enough to tell keywords from IRIs, strings and comments and to follow the braces.

Used where a whole parser is not needed: the server's checks on user queries (``server/guard.py``), its answer
cache, the binding of canned-query parameters (``queries.py``) and the remote store's rewriting of queries
(``remote.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# One lexical token of SPARQL, enough to tell keywords from IRIs, strings and comments and to count braces.
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<comment>\#[^\n]*)
      | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
      | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
                  |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<open>\{) | (?P<close>\})
      | (?P<word>[^\s{}()\[\]<>"',;\#]+)
      | (?P<other>.)""",
    re.X | re.S,
)


def unescape(text: str) -> str:
    """Apply SPARQL's codepoint escapes (``\\u0053`` is ``S``), which a parser may process before tokenising."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Yield (kind, text, offset, brace depth) for each token that is not white space or a comment."""
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind == "close":
            depth = max(0, depth - 1)
        if kind not in ("ws", "comment"):
            yield kind, m.group(), m.start(), depth
        if kind == "open":
            depth += 1


_OPENERS, _CLOSERS = frozenset("{(["), frozenset("})]")


def nesting_depth(text: str, stop_above: int | None = None) -> int:
    """The deepest nesting of braces, parentheses and brackets outside IRIs, strings and comments; reading stops
    as soon as the depth passes ``stop_above`` (a hostile text is not read to its end)."""
    depth = deepest = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        char = m.group() if kind in ("open", "close", "other") else ""
        if char in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif char in _CLOSERS:
            depth = max(0, depth - 1)
    return deepest


def strip_comments(text: str) -> str:
    """The text without its ``#`` comments; a ``#`` inside an IRI or a string stays."""
    return "".join(m.group() for m in _TOKEN.finditer(text) if m.lastgroup != "comment")


def has_dataset_clause(sparql: str) -> bool:
    """True when the query names its own dataset (FROM / FROM NAMED, only possible outside any braces)."""
    return any(kind == "word" and depth == 0 and value.upper() == "FROM" for kind, value, _, depth in tokens(sparql))


def first_keyword(sparql: str) -> str:
    """The first keyword after the prologue (PREFIX, BASE, and the DEFINE pragmas of Virtuoso), upper case:
    SELECT, ASK, CONSTRUCT or DESCRIBE for a query, INSERT, DELETE, LOAD, ... for an update; "" when there is none.
    Comments, and keywords inside IRIs and strings, never count."""
    found = tokens(sparql)
    for kind, value, _, _ in found:
        word = value.upper() if kind == "word" else ""
        skip = {"PREFIX": 2, "BASE": 1, "DEFINE": 2}.get(word, 0)  # the prefix and its IRI; an IRI; a name and value
        if not skip:
            return re.split(r"[^A-Z]", word, maxsplit=1)[0]
        for _ in range(skip):
            next(found, None)
    return ""
