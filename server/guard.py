"""What user SPARQL may do here: no SERVICE outside the allow-list, no LOAD, and the protocol's dataset
parameters for updates.

pyoxigraph has an HTTP client: a ``SERVICE`` or ``LOAD`` it executes reaches any host. So every query and update
is checked before it runs (inside the worker process, so a pathological text costs a worker, not the server):
SERVICE is found in the algebra of rdflib's SPARQL parser, not with a regular expression, and a text that
mentions SERVICE but that the parser cannot read is refused rather than guessed at (rdflib's
``docs/security_considerations.md`` recommends the same). Texts that cannot contain the keyword at all skip the
slow parser (50-70 ms): the keyword can only be a word of the text, never part of an IRI, a string or a comment, so
``<.../measure/e-service>`` needs no parse. The text is read twice, as it is and with its ``\\u`` escapes applied
(a parser may apply them first, and an escaped quote then moves where strings end): a word in either counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from next2met.graph.errors import InputError, QueryRefused, QuerySyntaxError
from next2met.graph.sparqltext import tokens, unescape

_SERVICE = re.compile(r"(?i)(?<![\w:])service(?![\w:])")  # in a word: `.SERVICE`, `SERVICE?x` count


def check_query(sparql: str, allowlist: tuple[str, ...]) -> None:
    """Refuse a query whose SERVICE calls are not all to allow-listed endpoints, and store-specific pragmas."""
    check_pragmas(sparql)
    if not mentions_service(sparql):
        return
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(sparql)).algebra
    except Exception as e:  # noqa: BLE001 (any parser failure means we cannot vouch for the query)
        raise QueryRefused(
            f"the query mentions SERVICE and the checker could not read it, so it is not run ({_one_line(e)})"
        ) from None
    _check_services(list(_find(algebra, "ServiceGraphPattern")), allowlist)


def check_pragmas(sparql: str) -> None:
    """Refuse store-specific pragmas: Virtuoso's (DEFINE get:soft ...) can make a remote store fetch from the web;
    not SPARQL anyway."""
    if "define" not in sparql.lower():  # a keyword is a word of the text: without the letters, no need to lex
        return
    if any(kind == "word" and depth == 0 and value.upper() == "DEFINE" for kind, value, _, depth in tokens(sparql)):
        raise QueryRefused("DEFINE pragmas are not SPARQL and are not allowed here")


def mentions_service(sparql: str) -> bool:
    """Whether the keyword SERVICE is a word of the text, as it is or with its escapes applied."""
    lowered = sparql.lower()
    if "service" not in lowered and "\\u" not in lowered:  # not in the text, and no escape can make it
        return False
    return any(
        kind == "word" and _SERVICE.search(value)
        for text in (sparql, unescape(sparql))
        for kind, value, _, _ in tokens(text)
    )


def check_update(sparql: str) -> object:
    """Refuse LOAD and SERVICE in an update; return rdflib's algebra of it (a list of operations)."""
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        operations = translateUpdate(parseUpdate(sparql)).algebra
    except Exception as e:  # noqa: BLE001
        raise QuerySyntaxError(f"the update cannot be parsed: {_one_line(e)}") from None
    if any(True for _ in _find(operations, "Load")):
        raise QueryRefused("LOAD is not allowed here: updates may only change the data they contain")
    if any(True for _ in _find(operations, "ServiceGraphPattern")):
        raise QueryRefused("SERVICE is not allowed in updates")
    return operations


def with_protocol_dataset(sparql: str, operations: object, using: list[str], using_named: list[str]) -> str:
    """Apply ``using-graph-uri`` / ``using-named-graph-uri`` to each DELETE/INSERT ... WHERE of an update.

    The protocol forbids combining them with USING or WITH in the text (SPARQL 1.1 Protocol, 2.2.3).
    """
    if not using and not using_named:
        return sparql
    for op in operations:  # type: ignore[attr-defined]
        if getattr(op, "name", "") == "Modify" and (dict.get(op, "using") or dict.get(op, "withClause")):
            raise InputError(
                "using-graph-uri/using-named-graph-uri cannot be combined with USING or WITH in the update"
            )
    clause = " ".join([f"USING <{g}>" for g in using] + [f"USING NAMED <{g}>" for g in using_named]) + " "
    spots, previous = [], ""
    for kind, value, offset, depth in tokens(sparql):
        word = value.upper() if kind == "word" else ""
        if word == "WHERE" and depth == 0 and previous != "DELETE":  # DELETE WHERE takes no USING
            spots.append(offset)
        previous = word
    for offset in reversed(spots):
        sparql = sparql[:offset] + clause + sparql[offset:]
    return sparql


def _check_services(services: list, allowlist: tuple[str, ...]) -> None:
    for node in services:
        term = dict.get(node, "term")  # CompValue.get answers the key itself when it is missing
        endpoint = str(term)
        if type(term).__name__ == "Variable":
            raise QueryRefused(f"SERVICE with a variable endpoint (?{endpoint}) is not allowed here")
        if endpoint not in allowlist:
            allowed = ", ".join(allowlist) if allowlist else "none are allowed on this server"
            raise QueryRefused(
                f"SERVICE <{endpoint}> is not allowed: queries may only call listed endpoints ({allowed})",
                endpoint=endpoint,
            )


def _find(node: object, name: str) -> Iterator[object]:
    """Every node of rdflib's algebra (nested CompValues, lists and dicts) with the given name."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack, seen = [node], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, CompValue):
            if item.name == name:
                yield item
            stack.extend(item.values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:400]
