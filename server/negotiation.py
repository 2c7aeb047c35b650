"""Choose the format of a SPARQL answer from the ``Accept`` header or a ``format`` parameter.

Pure functions over werkzeug's parsed Accept header (q-values, wildcards and specificity are werkzeug's
``MIMEAccept.best_match``). Solutions (SELECT, ASK) and graphs (CONSTRUCT, DESCRIBE) have separate tables, so a
client that asks "application/sparql-results+xml, application/rdf+xml" gets RDF/XML for a CONSTRUCT and
SPARQL XML for a SELECT (rdflib-endpoint PR #24; zazuko/vscode-sparql-notebook#56).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from next2met.graph.errors import NotAcceptable

HTML = "text/html"


@dataclass(frozen=True)
class Format:
    """One way to write an answer: our short name, its media type, and the pyoxigraph writer."""

    key: str
    media_type: str
    kind: str  # "results" (solutions, booleans) or "graph" (triples)
    writer: Any  # ox.QueryResultsFormat for results, ox.RdfFormat for graphs
    synonyms: tuple[str, ...] = ()  # older or generic names of the same format, matched like the main one
    fallbacks: tuple[str, ...] = ()  # looser names, used only when nothing else the client accepts fits
    quads: bool = False  # the writer needs quads rather than triples

    @property
    def content_type(self) -> str:
        textual = self.media_type.startswith("text/") or self.media_type.endswith(("+xml", "+json", "triples"))
        return f"{self.media_type}; charset=utf-8" if textual or self.key in ("trig", "nquads") else self.media_type


RESULTS = (
    Format("json", "application/sparql-results+json", "results", ox.QueryResultsFormat.JSON, ("application/json",)),
    Format("xml", "application/sparql-results+xml", "results", ox.QueryResultsFormat.XML,
           ("application/xml", "text/xml")),
    Format("csv", "text/csv", "results", ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", "results", ox.QueryResultsFormat.TSV),
)
GRAPHS = (
    Format("turtle", "text/turtle", "graph", ox.RdfFormat.TURTLE, ("application/x-turtle",), ("text/n3",)),
    Format("nt", "application/n-triples", "graph", ox.RdfFormat.N_TRIPLES, (), ("text/plain",)),
    Format("jsonld", "application/ld+json", "graph", ox.RdfFormat.JSON_LD, (), ("application/json",)),
    Format("rdfxml", "application/rdf+xml", "graph", ox.RdfFormat.RDF_XML, (), ("application/xml", "text/xml")),
    Format("trig", "application/trig", "graph", ox.RdfFormat.TRIG, quads=True),
    Format("nquads", "application/n-quads", "graph", ox.RdfFormat.N_QUADS, quads=True),
)
BY_KEY = {f.key: f for f in RESULTS + GRAPHS}
TABLES = {"select": RESULTS, "ask": RESULTS, "graph": GRAPHS}

# Names people type in ``format=``; "json" and "xml" mean the natural choice for the query form.
FORMAT_NAMES = {
    "results": {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv"},
    "graph": {
        "turtle": "turtle", "ttl": "turtle", "n3": "turtle", "rdf+xml": "rdfxml", "ld+json": "jsonld",
        "nt": "nt", "ntriples": "nt", "n-triples": "nt", "jsonld": "jsonld",
        "json-ld": "jsonld", "json": "jsonld", "rdfxml": "rdfxml", "rdf": "rdfxml", "xml": "rdfxml",
        "trig": "trig", "nquads": "nquads", "nq": "nquads", "n-quads": "nquads",
    },
}


def offered(kind: str) -> list[str]:
    """The media types on offer for a query form (select, ask or graph)."""
    return [f.media_type for f in TABLES[kind]]


def choose(
    kind: str, accept: MIMEAccept, format_param: str | list[str] | None = None, *, html: bool = False
) -> Format | None:
    """The format to answer a query of this form in; None means the client prefers HTML (only with ``html``).

    ``format_param`` may hold several values (SPARQLWrapper sends ``format=rdf+xml&format=application/rdf+xml``);
    the first that fits the query form wins. Raises NotAcceptable, listing the types on offer, when neither the
    parameter nor the header allows any.
    """
    table = TABLES[kind]
    values = [format_param] if isinstance(format_param, str) else list(format_param or [])
    values = [v.strip() for v in values if v and v.strip()]
    if values:
        return _from_param(kind, values)
    if not accept:  # no Accept header at all: anything goes
        return table[0]
    primary = [f.media_type for f in table] + [s for f in table for s in f.synonyms]
    best = accept.best_match(primary + ([HTML] if html else []))
    if best is None:
        best = accept.best_match([s for f in table for s in f.fallbacks])
    if best is None:
        raise NotAcceptable(
            f"none of the types in the Accept header fits a {kind_name(kind)} result; on offer: "
            + ", ".join(offered(kind)), offered=offered(kind),
        )
    if best == HTML:
        return None
    return next(f for f in table if best in (f.media_type, *f.synonyms, *f.fallbacks))


@functools.lru_cache(maxsize=512)
def formats_for(accept_header: str, format_param: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``choose_all`` for a raw Accept header and ``format`` values, remembered: clients send the same few headers,
    and matching one against every type on offer costs more than the rest of a small query's request handling."""
    return tuple(choose_all(parse_accept_header(accept_header, MIMEAccept), list(format_param)).items())


def choose_all(accept: MIMEAccept, format_param: str | list[str] | None = None) -> dict[str, str]:
    """The format key per query form, for the forms the client accepts an answer in (may be empty)."""
    chosen = {}
    for kind in TABLES:
        try:
            fmt = choose(kind, accept, format_param)
        except NotAcceptable:
            continue
        if fmt is not None:
            chosen[kind] = fmt.key
    return chosen


def _from_param(kind: str, values: list[str]) -> Format:
    family = "graph" if kind == "graph" else "results"
    for value in values:
        if "/" in value:  # a media type, as some clients send (format=application/sparql-results+json)
            for f in TABLES[kind]:
                if value.lower() in (f.media_type, *f.synonyms):
                    return f
        elif FORMAT_NAMES[family].get(value.lower()) is not None:
            return BY_KEY[FORMAT_NAMES[family][value.lower()]]
    names = sorted(set(FORMAT_NAMES[family].values()))
    raise NotAcceptable(
        f"format={values[0]!r} does not fit a {kind_name(kind)} result; use one of {', '.join(names)}",
        offered=offered(kind),
    )


def kind_name(kind: str) -> str:
    return {"select": "SELECT", "ask": "ASK", "graph": "CONSTRUCT/DESCRIBE"}[kind]


# Leading whitespace, comments and prologue declarations, matched together so a "#" inside a prefix IRI stays put.
_PROLOGUE = re.compile(r"(?is)^(?:\s+|#[^\n]*|PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)*")


def guess_form(sparql: str) -> str | None:
    """A cheap guess of the query form (select, ask or graph) to refuse an unacceptable Accept before running.

    Only a hint: the worker reports the real form, and a wrong guess only delays a 406 until after the run.
    """
    body = _PROLOGUE.sub("", sparql, count=1)
    match = re.match(r"[A-Za-z]+", body)
    word = match.group(0).upper() if match else ""
    return {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}.get(word)
