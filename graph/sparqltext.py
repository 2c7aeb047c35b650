"""A lexer for SPARQL text, enough to tell keywords from IRIs, strings and comments and to follow the braces.

Used where a whole parser is not needed: the server's checks on user queries (``server/guard.py``), its answer
cache, the binding of canned-query parameters (``queries.py``) and the remote store's rewriting of queries
(``remote.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .errors import QuerySyntaxError

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
    if "from" not in sparql.lower():  # a keyword is a word of the text: without the letters, no need to lex
        return False
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


_PARSER_ERROR = re.compile(r"error at (\d+):(\d+): expected (?:one of )?(.*)", re.S)
_RANGE = re.compile(r"\['(.)'\.\.=?'(.)'\]")
_RANGE_WORDS = {("0", "9"): "a digit", ("a", "z"): "a letter", ("A", "Z"): "a letter", ("0", "1"): "a digit"}


def syntax_error(e: SyntaxError, text: str) -> QuerySyntaxError:
    """The QuerySyntaxError for pyoxigraph's error ``e`` on ``text``, in words, with the line and column."""
    message, where = explain_syntax_error(str(e), text)
    return QuerySyntaxError(message, **where)


def explain_syntax_error(message: str, text: str) -> tuple[str, dict[str, int]]:
    """pyoxigraph's SPARQL syntax error ("error at 1:25: expected one of LATERAL, SERVICE, [_]") in words: where (line,
    column and the text found there), what the parser would have taken there (keywords and punctuation as they are
    written, character classes by name), and a hint for the usual slips (an unclosed brace, string or IRI). Returns
    the message and the position (line, column) when the parser gave one."""
    m = _PARSER_ERROR.match(message.strip())
    if m is None:
        return message, {}
    line, column = int(m.group(1)), int(m.group(2))
    lines = text.split("\n")
    rest = lines[line - 1][column - 1 :] if 0 < line <= len(lines) else ""
    at_end = not rest.strip() and not any(x.strip() for x in lines[line:])
    wanted = _expected_words(m.group(3))
    where = f"line {line}, column {column}"
    if at_end:
        found = "the query ends too soon"
    else:
        token = rest.strip().split()[0][:30] if rest.strip() else "the end of the line"
        found = f"“{token}” is not allowed here" if rest.strip() else f"{token} comes too soon"
    hint = ""
    if at_end and "}" in wanted:
        hint = " (is a closing brace missing?)"
    elif '"' in wanted or "'" in wanted:
        hint = " (is a string not closed?)"
    elif ">" in wanted:
        hint = " (is an IRI not closed with '>'?)"
    elif m.group(3).startswith("IRI"):
        return f"{where}: {found}: not a valid IRI", {"line": line, "column": column}
    if len(wanted) > 8:  # a place where many kinds of term could go: the list would bury the point
        expected = f"; SPARQL expects another term there, such as {_or(wanted[:4])}"
    else:
        expected = f"; SPARQL expects {_or(wanted)} there" if wanted else ""
    return f"{where}: {found}{expected}{hint}", {"line": line, "column": column}


def _expected_words(listing: str) -> list[str]:
    words: list[str] = []
    for item in re.findall(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^,\s][^,]*', listing):
        item = item.strip()
        if item.startswith('"'):
            token = item[1:-1].encode().decode("unicode_escape")
            words.append(token)
        elif item.startswith("["):
            found = _RANGE.search(item)
            name = _RANGE_WORDS.get((found.group(1), found.group(2))) if found else None
            if name and name not in words:
                words.append(name)  # [_] stands for anything else: it says nothing
        elif item:
            words.append(item)
    return words


def _or(words: list[str]) -> str:
    shown = [w if w[:1].isalpha() and (w.isupper() or " " in w) else f"“{w}”" for w in words]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
