"""The research questions (``queries/*.rq``) on the web: ``/queries`` lists them, ``/queries/{name}`` runs one.

These are our own, trusted queries: they run in-process on the store (not in the worker pool that guards user
SPARQL), and their answers are cached until the data changes. ``/queries/{name}?param=value`` answers with an
HTML table for browsers and any SPARQL result format by ``Accept`` or ``format=`` (the negotiation of
``/sparql``); ``/queries/{name}.rq`` is the query text itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, jsonify, render_template, request, url_for

from next2met.graph.formats import HTML, PLAIN_JSON, Format
from next2met.graph.prefixes import prefixes
from next2met.graph.queries import CannedQuery, get_query, list_queries

from . import negotiation
from .caching import conditional
from .links import href
from .state import KnowledgeGraph, get_kg

bp = Blueprint("queries_ui", __name__)
KINDS = {"select": "select", "ask": "ask", "construct": "graph", "describe": "graph"}
# Query-string names that are not parameters of the query: the result format, and the page language that the
# site-wide language switch adds (unless the query has a parameter of that name).
RESERVED = {"format", "lang"}


def _describe(q: CannedQuery) -> dict:
    return {
        "name": q.name,
        "title": q.title,
        "description": q.description,
        "form": q.form,
        "url": url_for(".run", name=q.name, _external=True),
        "text": url_for(".text", name=q.name, _external=True),
        "params": [
            {"name": p.name, "type": p.type, "expects": p.describe(), "default": p.default, "help": p.help}
            for p in q.params
        ],
    }


@bp.get("/queries")
def index() -> Response:
    """List the research questions with their parameters, as an HTML page of forms or as JSON."""
    queries = list_queries()
    fmt = negotiation.negotiate((HTML, PLAIN_JSON), param=request.args.getlist("format"), what="the query list")
    if fmt is PLAIN_JSON:
        response = jsonify([_describe(q) for q in queries])
    else:
        response = Response(render_template("queries.html", queries=queries), mimetype="text/html")
    response.vary.add("Accept")
    return conditional(response, get_kg())


@bp.get("/queries/<name>.rq")
def text(name: str) -> Response:
    """The query file as it is (header and all), to copy into any SPARQL tool."""
    q = get_query(name)
    return conditional(Response(q.text, mimetype="application/sparql-query"), get_kg())


@bp.get("/queries/<name>")
def run(name: str) -> Response:
    """Run one research question with the parameters of the query string."""
    q = get_query(name)
    own = {p.name for p in q.params}
    values = {k: v for k, v in request.args.items() if k in own or k not in RESERVED}
    kg = get_kg()
    sparql = q.bind(values, kg.settings.base_iri)
    kind = KINDS[q.form]
    fmt = negotiation.choose_answer(kind, request.accept_mimetypes, request.args.getlist("format"), html=True)
    if fmt is HTML:
        response = _html(q, values, sparql, kind)
    else:
        key = ("canned", sparql, fmt.key)
        body = kg.cached(key, lambda: _serialise(kg, sparql, fmt))
        response = Response(body, content_type=fmt.content_type)
        if fmt.key in ("csv", "tsv"):
            response.headers["Content-Disposition"] = f'inline; filename="{q.name}.{fmt.key}"'
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return conditional(response, kg)


def _serialise(kg: KnowledgeGraph, sparql: str, fmt: Format) -> bytes:
    result = kg.query(sparql)
    if result.kind == "graph":
        triples = list(dict.fromkeys(result.triples()))  # a graph is a set: engines may repeat triples
        body = fmt.write_triples(triples, prefixes=prefixes())
        assert body is not None
        return body
    return result.value.serialize(format=fmt.results)


def _html(q: CannedQuery, values: dict[str, str], sparql: str, kind: str) -> Response:
    kg = get_kg()
    limit = kg.settings.max_rows
    if kind == "select":
        names, rows = kg.cached(("canned-rows", sparql), lambda: _rows(kg, sparql))
        table = {"head": names, "rows": [[_cell(r.get(n)) for n in names] for r in rows[:limit]]}
        truncated = len(rows) > limit
    elif kind == "graph":
        triples = kg.cached(("canned-triples", sparql), lambda: list(dict.fromkeys(kg.query(sparql).triples())))
        table = {
            "head": ["subject", "predicate", "object"],
            "rows": [[_cell(t.subject), _cell(t.predicate), _cell(t.object)] for t in triples[:limit]],
        }
        truncated = len(triples) > limit
    else:
        table = None
        truncated = False
    answer = kg.cached(("canned-ask", sparql), lambda: bool(kg.query(sparql).value)) if kind == "ask" else None
    current = {p.name: values.get(p.name, p.default or "") for p in q.params}
    shown = {k: v for k, v in values.items() if v != ""}
    downloads = [(f.key, f.media_type) for f in negotiation.TABLES[kind]]
    html = render_template(
        "queries_run.html",
        q=q,
        kind=kind,
        table=table,
        answer=answer,
        truncated=truncated,
        limit=limit,
        current=current,
        sparql=sparql,
        editor=url_for("sparql.sparql") + "?" + urlencode({"query": sparql}),
        download=lambda key: url_for(".run", **{"name": q.name, **shown, "format": key}),
        downloads=downloads,
        evidence=url_for("packs.query_pack", **{"name": q.name, **shown}),
    )
    return Response(html, mimetype="text/html")


def _rows(kg: KnowledgeGraph, sparql: str) -> tuple[list[str], list[dict]]:
    result = kg.query(sparql)
    return result.variables, result.rows()


def _cell(term) -> dict | None:
    """A term as the template shows it: text, a link for IRIs, and the language or datatype."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return {"text": term.value, "href": href(term.value)}
    if isinstance(term, ox.Literal):
        return {
            "text": term.value,
            "lang": term.language,
            "numeric": term.datatype.value.rsplit("#", 1)[-1] in ("integer", "decimal", "double", "float"),
        }
    return {"text": str(term)}
