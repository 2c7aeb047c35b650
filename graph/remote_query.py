"""How a query is rewritten for a remote store: its dataset named with FROM clauses, or (Virtuoso) the store's own
graphs left out with pragmas, and the query form told apart from an update. Text rewriting over the SPARQL lexer of
``sparqltext.py``, without a parser; ``remote.py`` sends what comes out."""

from __future__ import annotations

from .errors import QuerySyntaxError
from .sparqltext import first_keyword, has_dataset_clause, tokens

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")


_MODIFIERS = ("GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES")


def with_dataset(sparql: str, graphs: list[str]) -> str:
    """Give a query ``FROM``/``FROM NAMED`` clauses for ``graphs``, unless it names its own dataset.

    Dataset clauses in the text rather than as ``default-graph-uri`` parameters: Virtuoso echoes each of those
    parameters as a response header, and Python's HTTP client refuses responses with more than 100 headers.
    """
    if has_dataset_clause(sparql):
        return sparql
    clauses = " ".join(f"FROM <{g}>" for g in graphs) + " " + " ".join(f"FROM NAMED <{g}>" for g in graphs)
    found = list(tokens(sparql))
    i, form = 0, ""
    while i < len(found) and not form:  # skip the prologue
        if found[i][0] == "word" and found[i][1].upper() in QUERY_FORMS:
            form = found[i][1].upper()
        i += 1
    if form == "CONSTRUCT" and i < len(found) and found[i][0] == "open":  # step over the template
        depth = found[i][3]
        i += 1
        while i < len(found) and not (found[i][0] == "close" and found[i][3] == depth):
            i += 1
        i += 1
    parens = 0
    for kind, value, offset, _ in found[i:]:
        parens += {"(": 1, ")": -1}.get(value, 0) if kind == "other" else 0
        if parens:
            continue
        if kind == "open" or (kind == "word" and value.upper() in ("WHERE", *_MODIFIERS)):
            return f"{sparql[:offset]}{clauses} {sparql[offset:]}"  # same line: error positions hold
    return f"{sparql} {clauses}"


def without_graphs(sparql: str, graphs: list[str]) -> str:
    """Virtuoso only: leave ``graphs`` out of the default graph and of the named graphs, unless the query names its
    own dataset. The pragmas go before everything else, on the query's first line (error positions hold)."""
    if has_dataset_clause(sparql) or not graphs:
        return sparql
    defines = " ".join(
        f"define input:default-graph-exclude <{g}> define input:named-graph-exclude <{g}>" for g in graphs
    )
    return f"{defines} {sparql}"


def query_form(sparql: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE; an update or something else is a QuerySyntaxError."""
    word = first_keyword(sparql)
    if word in QUERY_FORMS:
        return word
    if word in UPDATE_WORDS:
        raise QuerySyntaxError("this is a SPARQL Update, not a query; send it to the update endpoint")
    found = repr(word) if word else "nothing"
    raise QuerySyntaxError(f"not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE, found {found}")
