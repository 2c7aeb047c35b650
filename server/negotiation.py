"""Content negotiation, once for every route: which of the formats on offer to answer in.

``negotiate(offers, suffix=..., param=..., html=...)`` reads the request; ``choose`` is the same over a parsed
Accept header. Offers are ``graph.formats.Format`` records in order of preference; a URL suffix (``.ttl``) or a
``format=`` parameter wins over the Accept header, whose q-values, wildcards and specificity are werkzeug's
(``MIMEAccept.best_match``). Older or looser media types (``application/xml`` for RDF/XML, ``text/plain`` for
N-Triples) are taken only when nothing else the client accepts fits. When nothing fits: 406 naming the offer.

SPARQL answers negotiate per query form (solutions and booleans, or graphs), so a client that asks
"application/sparql-results+xml, application/rdf+xml" gets RDF/XML for a CONSTRUCT and SPARQL XML for a SELECT
(rdflib-endpoint PR #24; zazuko/vscode-sparql-notebook#56).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from next2met.graph.errors import NotAcceptable, NotFound
from next2met.graph.formats import GRAPH_ANSWERS, HTML, RDF_FORMATS, RESULTS_FORMATS, Format
from next2met.graph.sparqltext import first_keyword

# The formats of each SPARQL query form's answer.
TABLES: dict[str, tuple[Format, ...]] = {"select": RESULTS_FORMATS, "ask": RESULTS_FORMATS, "graph": GRAPH_ANSWERS}
BY_KEY: dict[str, Format] = {f.key: f for f in (*RESULTS_FORMATS, *RDF_FORMATS)}  # the keys of answers


def negotiate(
    offers: Sequence[Format],
    *,
    suffix: str | None = None,
    param: str | Sequence[str] | None = None,
    html: bool = False,
    what: str = "this resource",
) -> Format:
    """The format of the current request's answer among ``offers``; ``html`` adds HTML after them (a browser's
    choice). ``suffix`` is the URL's suffix (404 when none of the offers has it); ``param`` the ``format=`` value(s).
    """
    return choose(offers, request.accept_mimetypes, suffix=suffix, param=param, html=html, what=what)


def choose(
    offers: Sequence[Format],
    accept: MIMEAccept,
    *,
    suffix: str | None = None,
    param: str | Sequence[str] | None = None,
    html: bool = False,
    what: str = "this resource",
) -> Format:
    """``negotiate`` over a parsed Accept header."""
    offers = (*offers, HTML) if html and HTML not in offers else tuple(offers)
    if suffix is not None:
        found = next((f for f in offers if f.suffix == suffix.lower()), None)
        if found is None:
            raise NotFound(f"no such format .{suffix}; use one of " + ", ".join("." + f.suffix for f in offers))
        return found
    values = [param] if isinstance(param, str) else list(param or [])
    values = [v.strip() for v in values if v and v.strip()]
    if values:
        return _named(offers, values, what)
    if not accept:  # no Accept header: anything goes, and the first offer is ours to choose
        return offers[0]
    # main types before synonyms: "text/*" means CSV, not SPARQL XML by its old name text/xml
    primary = [f.media_type for f in offers] + [t for f in offers for t in f.synonyms]
    best = accept.best_match(primary)
    if best is not None:
        return next(f for f in offers if best in (f.media_type, *f.synonyms))
    best = accept.best_match([t for f in offers for t in f.fallbacks])
    if best is not None:
        return next(f for f in offers if best in f.fallbacks)
    raise NotAcceptable(
        f"none of the types in the Accept header fits {what}; on offer: " + ", ".join(media_types(offers)),
        offered=media_types(offers),
    )


def media_types(offers: Sequence[Format]) -> list[str]:
    return [f.media_type for f in offers]


def _named(offers: Sequence[Format], values: list[str], what: str) -> Format:
    """The first ``format=`` value that names an offer (SPARQLWrapper sends ``format=rdf+xml&format=application/
    rdf+xml``): by key, another name, suffix or media type."""
    for value in values:
        found = next((f for f in offers if f.called(value)), None)
        if found is not None:
            return found
    names = sorted({f.key for f in offers})
    raise NotAcceptable(
        f"format={values[0]!r} does not fit {what}; use one of {', '.join(names)}", offered=media_types(offers)
    )


def prefers_html(offers: Sequence[Format], accept: MIMEAccept | None = None) -> bool:
    """Whether a browser asks: HTML is the client's choice among ``offers`` and HTML (never an error)."""
    try:
        return choose(offers, request.accept_mimetypes if accept is None else accept, html=True) is HTML
    except NotAcceptable:
        return False


# -- SPARQL answers ------------------------------------------------------------------------------------------------
def kind_of(sparql: str) -> str | None:
    """The query form (select, ask or graph) from the text's first keyword; None when it is none of them."""
    return {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}.get(first_keyword(sparql))


def kind_name(kind: str) -> str:
    return {"select": "SELECT", "ask": "ASK", "graph": "CONSTRUCT/DESCRIBE"}[kind]


def offered(kind: str) -> list[str]:
    """The media types on offer for a query form (select, ask or graph)."""
    return media_types(TABLES[kind])


def choose_answer(
    kind: str, accept: MIMEAccept, param: str | Sequence[str] | None = None, *, html: bool = False
) -> Format:
    """The format of the answer to a query of this form (HTML, with ``html``, when a browser prefers the page)."""
    return choose(TABLES[kind], accept, param=param, html=html, what=f"a {kind_name(kind)} result")


@functools.lru_cache(maxsize=512)
def formats_for(accept_header: str, param: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The format key per query form, for the forms the client accepts an answer in (may be none), remembered for
    a raw Accept header and ``format`` values: clients send the same few headers, and matching one against every
    type on offer costs more than the rest of a small query's request handling."""
    accept = parse_accept_header(accept_header, MIMEAccept)
    chosen = []
    for kind in TABLES:
        try:
            chosen.append((kind, choose_answer(kind, accept, list(param)).key))
        except NotAcceptable:
            continue
    return tuple(chosen)
